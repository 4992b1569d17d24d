"""GET /visitors/details (seq 27) and GET /visitors/count (seq 28)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.domains.visitors.helpers import (
    DETAILS_COLLECTIONS,
    EXTERNAL_ID_FIELDS,
    OPTIN_FIELDS,
    VEHICLE_FIELDS,
    VISITOR_CENTER_FIELDS,
    VISITOR_FIELDS,
    assert_error,
    ids,
)
from tests.factories import (
    add_external_id,
    create_external_id,
    create_partial_visitor,
    create_vehicle,
    create_visitor,
)


def details(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/visitors/details", params=params)
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def count(client: TestClient, **params: Any) -> int:
    response = client.get("/visitors/count", params=params)
    assert response.status_code == 200, response.text
    return response.json()["data"]["count"]  # type: ignore[no-any-return]


class TestReadVisitorsDetails:
    def test_embeds_every_collection(self, client: TestClient, session: Session) -> None:
        visitor = create_partial_visitor(client, preferredCenter="FR-SC-321")
        vid = visitor["visitorId"]
        create_external_id(client, vid, externalId="d-1", externalType="designa", pcCode="FR-SC-321")
        add_external_id(session, vid, "analytics", "an-1")
        vehicle = create_vehicle(client, vid, licensePlate="AA-111-AA")

        response = client.get("/visitors/details")

        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"data", "metadata"}
        assert body["metadata"]["version"] == 1
        (item,) = body["data"]
        assert set(item) == VISITOR_FIELDS | DETAILS_COLLECTIONS
        assert {k: item[k] for k in VISITOR_FIELDS} == visitor
        assert sorted((e["externalType"], e["externalId"]) for e in item["externalIds"]) == [
            ("analytics", "an-1"),
            ("designa", "d-1"),
        ]
        assert all(set(e) == EXTERNAL_ID_FIELDS for e in item["externalIds"])
        (optin,) = item["optins"]
        assert set(optin) == OPTIN_FIELDS
        (center,) = item["visitorCenters"]
        assert set(center) == VISITOR_CENTER_FIELDS
        assert (center["pcCode"], center["isFavorite"]) == ("FR-SC-321", True)
        assert item["vehicles"] == [vehicle]
        assert set(item["vehicles"][0]) == VEHICLE_FIELDS
        assert item["rewards"] == []
        assert item["creditCards"] == []

    def test_a_visitor_without_dependants_has_empty_collections(self, client: TestClient) -> None:
        create_visitor(client, optins=[])

        (item,) = details(client)

        assert all(item[name] == [] for name in DETAILS_COLLECTIONS)

    def test_collections_belong_to_their_visitor(self, client: TestClient) -> None:
        first = create_visitor(client)["visitorId"]
        second = create_visitor(client)["visitorId"]
        create_external_id(client, first, externalId="mine")
        create_vehicle(client, second, licensePlate="BB-222-BB")

        by_id = {item["visitorId"]: item for item in details(client)}

        assert [e["externalId"] for e in by_id[first]["externalIds"]] == ["mine"]
        assert by_id[first]["vehicles"] == []
        assert by_id[second]["externalIds"] == []
        assert [v["licensePlate"] for v in by_id[second]["vehicles"]] == ["BB-222-BB"]
        for vid, item in by_id.items():
            assert all(o["visitorId"] == vid for o in item["optins"])

    def test_soft_deleted_vehicles_are_included(self, client: TestClient) -> None:
        vid = create_visitor(client)["visitorId"]
        vehicle = create_vehicle(client, vid)
        assert client.delete(f"/visitors/{vid}/vehicles/{vehicle['vehicleId']}").status_code == 204

        (item,) = details(client)

        (listed,) = item["vehicles"]
        assert listed["vehicleId"] == vehicle["vehicleId"]
        assert listed["deletionDate"] is not None

    def test_filter_visitor_id(self, client: TestClient) -> None:
        create_visitor(client)
        wanted = create_visitor(client)["visitorId"]

        assert [item["visitorId"] for item in details(client, visitorId=wanted)] == [wanted]

    def test_unknown_visitor_id_gives_an_empty_list(self, client: TestClient) -> None:
        create_visitor(client)

        assert details(client, visitorId="00000000-0000-4000-8000-000000000000") == []

    def test_malformed_visitor_id_is_422(self, client: TestClient) -> None:
        assert_error(client.get("/visitors/details", params={"visitorId": "nope"}), 422, "visitorId")

    def test_filter_creation_date_gte_and_lt(self, client: TestClient) -> None:
        first = create_visitor(client)
        second = create_visitor(client)
        third = create_visitor(client)

        gte = details(client, creationDateGte=second["creationDate"])
        lt = details(client, creationDateLt=second["creationDate"])
        window = details(client, creationDateGte=second["creationDate"], creationDateLt=third["creationDate"])

        assert [i["visitorId"] for i in gte] == [second["visitorId"], third["visitorId"]]
        assert [i["visitorId"] for i in lt] == [first["visitorId"]]
        assert [i["visitorId"] for i in window] == [second["visitorId"]]

    def test_invalid_creation_date_is_422(self, client: TestClient) -> None:
        assert_error(
            client.get("/visitors/details", params={"creationDateLt": "soon"}), 422, "creationDateLt"
        )

    def test_paging_and_links(self, client: TestClient) -> None:
        created = [create_visitor(client)["visitorId"] for _ in range(3)]

        first = client.get("/visitors/details", params={"limit": 2})
        links = first.json()["metadata"]["_links"]
        second = client.get(links["next"])

        assert ids(first) == created[:2]
        assert "prev" not in links
        assert ids(second) == created[2:]
        assert "next" not in second.json()["metadata"]["_links"]
        assert "offset=0" in second.json()["metadata"]["_links"]["prev"]

    def test_limit_out_of_range_is_422(self, client: TestClient) -> None:
        assert_error(client.get("/visitors/details", params={"limit": 501}), 422, "limit")

    def test_sort_descending(self, client: TestClient) -> None:
        a = create_visitor(client, lastName="Alpha")["visitorId"]
        b = create_visitor(client, lastName="Beta")["visitorId"]

        assert [i["visitorId"] for i in details(client, sort="-lastName")] == [b, a]
        assert [i["visitorId"] for i in details(client, sort="lastName")] == [a, b]

    def test_unknown_sort_is_400(self, client: TestClient) -> None:
        assert_error(client.get("/visitors/details", params={"sort": "vehicles"}), 400, "sort")

    def test_fields_is_not_a_parameter_here(self, client: TestClient) -> None:
        assert_error(client.get("/visitors/details", params={"fields": "visitorId"}), 400, "fields")

    def test_unknown_query_parameter_is_400(self, client: TestClient) -> None:
        assert_error(client.get("/visitors/details", params={"email": "a@b.c"}), 400, "email")

    def test_read_key_can_read(self, client: TestClient, reader: TestClient) -> None:
        create_visitor(client)

        assert reader.get("/visitors/details").status_code == 200

    def test_without_key_is_401(self, anon: TestClient) -> None:
        assert_error(anon.get("/visitors/details"), 401)


class TestCountVisitors:
    def test_counts_every_visitor(self, client: TestClient) -> None:
        create_visitor(client)
        create_visitor(client)
        create_partial_visitor(client)

        response = client.get("/visitors/count")

        assert response.status_code == 200
        body = response.json()
        assert body["data"] == {"count": 3}
        assert body["metadata"]["version"] == 1
        assert "_links" in body["metadata"]

    def test_zero_when_empty(self, client: TestClient) -> None:
        assert count(client) == 0

    def test_filter_account_type(self, client: TestClient) -> None:
        create_visitor(client)
        create_partial_visitor(client)
        create_partial_visitor(client)

        assert count(client, accountType="full") == 1
        assert count(client, accountType="partial") == 2

    def test_filter_acquisition_pc_code(self, client: TestClient) -> None:
        create_visitor(client, acquisitionPcCode="FR-SC-900")
        create_partial_visitor(client, preferredCenter="FR-SC-900")
        create_visitor(client, acquisitionPcCode="FR-SC-901")

        assert count(client, acquisitionPcCode="FR-SC-900") == 2

    def test_filter_origin_type(self, client: TestClient) -> None:
        create_visitor(client)

        assert count(client, originType="api") == 1
        assert count(client, originType="connect") == 0

    def test_filter_registered_since_and_until(self, client: TestClient) -> None:
        first = create_visitor(client)
        second = create_visitor(client)
        create_partial_visitor(client)  # not registered: no registrationDate
        third = create_visitor(client)

        assert count(client, registeredSince=second["registrationDate"]) == 2
        assert count(client, registeredUntil=second["registrationDate"]) == 2
        assert (
            count(
                client, registeredSince=first["registrationDate"], registeredUntil=third["registrationDate"]
            )
            == 3
        )
        assert count(client, registeredSince="2999-01-01T00:00:00Z") == 0

    def test_filters_combine(self, client: TestClient) -> None:
        create_visitor(client, acquisitionPcCode="FR-SC-1")
        create_partial_visitor(client, preferredCenter="FR-SC-1")

        assert count(client, acquisitionPcCode="FR-SC-1", accountType="partial") == 1

    def test_invalid_account_type_is_422(self, client: TestClient) -> None:
        assert_error(client.get("/visitors/count", params={"accountType": "vip"}), 422, "accountType")

    def test_invalid_date_is_422(self, client: TestClient) -> None:
        assert_error(client.get("/visitors/count", params={"registeredSince": "x"}), 422, "registeredSince")

    @pytest.mark.parametrize("name", ["countryCode", "limit", "fields"])
    def test_unknown_query_parameter_is_400(self, client: TestClient, name: str) -> None:
        assert_error(client.get("/visitors/count", params={name: "1"}), 400, name)

    def test_read_key_can_count(self, reader: TestClient) -> None:
        assert reader.get("/visitors/count").status_code == 200

    def test_without_key_is_401(self, anon: TestClient) -> None:
        assert_error(anon.get("/visitors/count"), 401)
