"""GET /visitors (seq 24): paging, sort, fields, filters and search."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.domains.visitors.helpers import VISITOR_FIELDS, assert_error, ids
from tests.factories import (
    create_external_id,
    create_partial_visitor,
    create_vehicle,
    create_visitor,
)


def listed(client: TestClient, **params: Any) -> list[str]:
    return ids(client.get("/visitors", params=params))


class TestListVisitors:
    def test_returns_the_list_envelope(self, client: TestClient) -> None:
        visitor = create_visitor(client)

        response = client.get("/visitors")

        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"data", "metadata"}
        assert body["data"] == [visitor]
        assert set(body["data"][0]) == VISITOR_FIELDS
        assert body["metadata"]["version"] == 1
        assert body["metadata"]["_links"]["self"].endswith("/visitors")
        assert "next" not in body["metadata"]["_links"]
        assert "prev" not in body["metadata"]["_links"]

    def test_empty_list(self, client: TestClient) -> None:
        response = client.get("/visitors")

        assert response.status_code == 200
        assert response.json()["data"] == []

    def test_read_key_can_list(self, client: TestClient, reader: TestClient) -> None:
        create_visitor(client)

        assert len(reader.get("/visitors").json()["data"]) == 1

    def test_without_key_is_401(self, anon: TestClient) -> None:
        assert_error(anon.get("/visitors"), 401)

    def test_invalid_key_is_401(self, anon: TestClient) -> None:
        assert_error(anon.get("/visitors", headers={"Authorization": "Bearer vh_nope"}), 401)

    def test_default_order_is_creation_date_ascending(self, client: TestClient) -> None:
        created = [create_visitor(client)["visitorId"] for _ in range(3)]

        assert listed(client) == created

    def test_limit_and_next_link(self, client: TestClient) -> None:
        created = [create_visitor(client)["visitorId"] for _ in range(3)]

        response = client.get("/visitors", params={"limit": 2})

        assert ids(response) == created[:2]
        links = response.json()["metadata"]["_links"]
        assert "prev" not in links
        assert "offset=2" in links["next"]
        assert "limit=2" in links["next"]
        assert ids(client.get(links["next"])) == created[2:]

    def test_offset_and_prev_link(self, client: TestClient) -> None:
        created = [create_visitor(client)["visitorId"] for _ in range(3)]

        response = client.get("/visitors", params={"offset": 2, "limit": 2})

        assert ids(response) == created[2:]
        links = response.json()["metadata"]["_links"]
        assert "next" not in links
        assert "offset=0" in links["prev"]
        assert ids(client.get(links["prev"])) == created[:2]

    def test_next_link_keeps_the_filters(self, client: TestClient) -> None:
        created = [create_visitor(client, countryCode="BE")["visitorId"] for _ in range(3)]
        create_visitor(client, countryCode="FR")

        response = client.get("/visitors", params={"countryCode": "BE", "limit": 2})

        next_link = response.json()["metadata"]["_links"]["next"]
        assert "countryCode=BE" in next_link
        assert ids(client.get(next_link)) == created[2:]

    def test_offset_past_the_end_is_empty(self, client: TestClient) -> None:
        create_visitor(client)

        assert listed(client, offset=10) == []

    @pytest.mark.parametrize(
        ("name", "value"), [("limit", 0), ("limit", 501), ("limit", "ten"), ("offset", -1)]
    )
    def test_out_of_range_paging_is_422(self, client: TestClient, name: str, value: Any) -> None:
        assert_error(client.get("/visitors", params={name: value}), 422, name)

    def test_limit_500_is_accepted(self, client: TestClient) -> None:
        assert client.get("/visitors", params={"limit": 500}).status_code == 200

    def test_sort_ascending(self, client: TestClient) -> None:
        b = create_visitor(client, lastName="Bernard")["visitorId"]
        c = create_visitor(client, lastName="Clement")["visitorId"]
        a = create_visitor(client, lastName="Arnaud")["visitorId"]

        assert listed(client, sort="lastName") == [a, b, c]

    def test_sort_descending(self, client: TestClient) -> None:
        b = create_visitor(client, lastName="Bernard")["visitorId"]
        c = create_visitor(client, lastName="Clement")["visitorId"]
        a = create_visitor(client, lastName="Arnaud")["visitorId"]

        assert listed(client, sort="-lastName") == [c, b, a]

    def test_sort_by_several_fields(self, client: TestClient) -> None:
        first = create_visitor(client, lastName="Same")["visitorId"]
        second = create_visitor(client, lastName="Same")["visitorId"]
        other = create_visitor(client, lastName="Aaa")["visitorId"]

        assert listed(client, sort="lastName,-creationDate") == [other, second, first]

    def test_sort_by_creation_date_descending(self, client: TestClient) -> None:
        created = [create_visitor(client)["visitorId"] for _ in range(3)]

        assert listed(client, sort="-creationDate") == created[::-1]

    @pytest.mark.parametrize("sort", ["email", "-password", "lastName,,creationDate"])
    def test_unknown_sort_is_400(self, client: TestClient, sort: str) -> None:
        error = assert_error(client.get("/visitors", params={"sort": sort}), 400, "sort")
        assert error["type"] == "invalid_request"

    def test_fields_returns_only_those_fields(self, client: TestClient) -> None:
        visitor = create_visitor(client)

        response = client.get("/visitors", params={"fields": "visitorId,email"})

        assert response.status_code == 200
        assert response.json()["data"] == [{"visitorId": visitor["visitorId"], "email": visitor["email"]}]

    def test_unknown_field_in_fields_is_400(self, client: TestClient) -> None:
        assert_error(client.get("/visitors", params={"fields": "visitorId,optins"}), 400, "fields")

    def test_unknown_query_parameter_is_400(self, client: TestClient) -> None:
        error = assert_error(client.get("/visitors", params={"country": "FR"}), 400, "country")
        assert error["code"] == "unknown_parameter"

    def test_filter_country_code(self, client: TestClient) -> None:
        be = create_visitor(client, countryCode="BE")["visitorId"]
        create_visitor(client, countryCode="FR")

        assert listed(client, countryCode="BE") == [be]

    def test_invalid_country_code_filter_is_422(self, client: TestClient) -> None:
        assert_error(client.get("/visitors", params={"countryCode": "ZZ"}), 422, "countryCode")

    def test_filter_barcode(self, client: TestClient) -> None:
        visitor = create_visitor(client)
        create_visitor(client)

        assert listed(client, barcode=visitor["barcode"]) == [visitor["visitorId"]]

    def test_filter_email_is_case_insensitive(self, client: TestClient) -> None:
        visitor = create_visitor(client, email="Mixed.Case@example.com")
        create_visitor(client, email="mixed.case.other@example.com")

        assert listed(client, email="MIXED.case@EXAMPLE.COM") == [visitor["visitorId"]]

    def test_filter_email_is_exact_not_prefix(self, client: TestClient) -> None:
        create_visitor(client, email="prefix@example.com")

        assert listed(client, email="prefix@example") == []

    def test_filter_acquisition_pc_code(self, client: TestClient) -> None:
        visitor = create_visitor(client, acquisitionPcCode="FR-SC-555")
        create_visitor(client, acquisitionPcCode="FR-SC-556")

        assert listed(client, acquisitionPcCode="FR-SC-555") == [visitor["visitorId"]]

    def test_filter_account_type(self, client: TestClient) -> None:
        full = create_visitor(client)["visitorId"]
        partial = create_partial_visitor(client)["visitorId"]

        assert listed(client, accountType="full") == [full]
        assert listed(client, accountType="partial") == [partial]

    def test_invalid_account_type_is_422(self, client: TestClient) -> None:
        assert_error(client.get("/visitors", params={"accountType": "guest"}), 422, "accountType")

    def test_filter_origin_type(self, client: TestClient) -> None:
        visitor = create_visitor(client)

        assert listed(client, originType="api") == [visitor["visitorId"]]
        assert listed(client, originType="connect") == []

    def test_filter_is_smartparker(self, client: TestClient) -> None:
        parker = create_visitor(client)["visitorId"]
        other = create_visitor(client)["visitorId"]
        linked = client.put(
            f"/visitors/{parker}/centers", json={"pcCode": "FR-SC-123", "isSmartparker": True}
        )
        assert linked.status_code == 201, linked.text
        client.put(f"/visitors/{other}/centers", json={"pcCode": "FR-SC-123", "isSmartparker": False})

        assert listed(client, isSmartparker="true") == [parker]
        assert listed(client, isSmartparker="false") == [other]

    def test_filter_updated_since(self, client: TestClient) -> None:
        old = create_visitor(client)
        recent = create_visitor(client)
        touched = client.patch(f"/visitors/{old['visitorId']}", json={"lastName": "Touched"}).json()["data"]

        assert listed(client, updatedSince=recent["updateDate"]) == [old["visitorId"], recent["visitorId"]]
        assert listed(client, updatedSince=touched["updateDate"]) == [old["visitorId"]]

    def test_filter_created_since(self, client: TestClient) -> None:
        create_visitor(client)
        second = create_visitor(client)
        third = create_visitor(client)

        assert listed(client, createdSince=second["creationDate"]) == [
            second["visitorId"],
            third["visitorId"],
        ]
        assert listed(client, createdSince="2999-01-01T00:00:00Z") == []

    def test_invalid_date_filter_is_422(self, client: TestClient) -> None:
        assert_error(client.get("/visitors", params={"createdSince": "yesterday"}), 422, "createdSince")

    def test_filters_combine(self, client: TestClient) -> None:
        wanted = create_visitor(client, countryCode="BE", acquisitionPcCode="BE-SC-1")["visitorId"]
        create_visitor(client, countryCode="BE", acquisitionPcCode="BE-SC-2")
        create_visitor(client, countryCode="FR", acquisitionPcCode="BE-SC-1")

        assert listed(client, countryCode="BE", acquisitionPcCode="BE-SC-1") == [wanted]

    def test_query_by_email_is_a_case_insensitive_prefix(self, client: TestClient) -> None:
        visitor = create_visitor(client, email="Alice.Wonder@example.com")
        create_visitor(client, email="bob@alice.com")

        assert listed(client, query="ALICE.w", queryBy="email") == [visitor["visitorId"]]

    def test_query_by_first_name(self, client: TestClient) -> None:
        visitor = create_visitor(client, firstName="Marguerite", email="m1@example.com")
        create_visitor(client, firstName="Anne", lastName="Margot", email="m2@example.com")

        assert listed(client, query="marg", queryBy="firstName") == [visitor["visitorId"]]

    def test_query_by_last_name(self, client: TestClient) -> None:
        visitor = create_visitor(client, lastName="Dupont", firstName="X", email="x1@example.com")
        create_visitor(client, lastName="Martin", firstName="Dupontel", email="x2@example.com")

        assert listed(client, query="DUP", queryBy="lastName") == [visitor["visitorId"]]

    def test_query_by_name_does_not_match_the_middle(self, client: TestClient) -> None:
        create_visitor(client, lastName="Dupont")

        assert listed(client, query="pont", queryBy="lastName") == []

    def test_query_by_license_plate_is_normalised(self, client: TestClient) -> None:
        visitor = create_visitor(client)["visitorId"]
        other = create_visitor(client)["visitorId"]
        create_vehicle(client, visitor, licensePlate="AB-123-CD")
        create_vehicle(client, other, licensePlate="AB-123-CE")

        assert listed(client, query="ab 123cd", queryBy="licensePlate") == [visitor]

    def test_query_by_license_plate_is_not_a_prefix(self, client: TestClient) -> None:
        visitor = create_visitor(client)["visitorId"]
        create_vehicle(client, visitor, licensePlate="AB-123-CD")

        assert listed(client, query="AB-123", queryBy="licensePlate") == []

    def test_query_by_license_plate_ignores_deleted_vehicles(self, client: TestClient) -> None:
        visitor = create_visitor(client)["visitorId"]
        vehicle = create_vehicle(client, visitor, licensePlate="ZZ-999-ZZ")
        deleted = client.delete(f"/visitors/{visitor}/vehicles/{vehicle['vehicleId']}")
        assert deleted.status_code == 204, deleted.text

        assert listed(client, query="ZZ-999-ZZ", queryBy="licensePlate") == []

    def test_query_by_external_id_is_exact(self, client: TestClient) -> None:
        visitor = create_visitor(client)["visitorId"]
        other = create_visitor(client)["visitorId"]
        create_external_id(client, visitor, externalId="fb-1001", externalType="facebook")
        create_external_id(client, other, externalId="fb-10011", externalType="facebook")

        assert listed(client, query="fb-1001", queryBy="externalId") == [visitor]
        assert listed(client, query="fb-100", queryBy="externalId") == []

    def test_query_by_fullname_needs_every_word(self, client: TestClient) -> None:
        john = create_visitor(client, firstName="John", lastName="Smith", email="j1@example.com")["visitorId"]
        create_visitor(client, firstName="John", lastName="Doe", email="j2@example.com")
        jane = create_visitor(client, firstName="Smithers", lastName="Johnson", email="j3@example.com")[
            "visitorId"
        ]

        assert listed(client, query="john smi", queryBy="fullname") == [john, jane]
        assert listed(client, query="SMITH  John", queryBy="fullname") == [john, jane]
        assert listed(client, query="john doe smith", queryBy="fullname") == []

    def test_query_without_query_by_searches_email_and_names(self, client: TestClient) -> None:
        by_email = create_visitor(client, email="zorro@example.com", firstName="A", lastName="B")["visitorId"]
        by_first = create_visitor(client, email="a1@example.com", firstName="Zoran", lastName="B")[
            "visitorId"
        ]
        by_last = create_visitor(client, email="a2@example.com", firstName="A", lastName="Zola")["visitorId"]
        create_visitor(client, email="a3@zo.com", firstName="A", lastName="B")

        assert listed(client, query="zo") == [by_email, by_first, by_last]

    def test_query_wildcards_are_literal(self, client: TestClient) -> None:
        create_visitor(client, email="plain@example.com")
        underscore = create_visitor(client, email="under_score@example.com")["visitorId"]

        assert listed(client, query="%") == []
        assert listed(client, query="under_", queryBy="email") == [underscore]
        assert listed(client, query="_", queryBy="email") == []

    def test_query_by_without_query_is_400(self, client: TestClient) -> None:
        assert_error(client.get("/visitors", params={"queryBy": "email"}), 400, "query")

    def test_invalid_query_by_is_422(self, client: TestClient) -> None:
        assert_error(client.get("/visitors", params={"query": "x", "queryBy": "phone"}), 422, "queryBy")

    def test_search_combines_with_filters(self, client: TestClient) -> None:
        wanted = create_visitor(client, lastName="Durand", countryCode="BE")["visitorId"]
        create_visitor(client, lastName="Durand", countryCode="FR")

        assert listed(client, query="dur", queryBy="lastName", countryCode="BE") == [wanted]
