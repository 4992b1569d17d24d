"""External ids: GET /external-ids/batch (seq 35), GET /external-ids/{externalType}/{externalId} (seq 36),
POST and GET /visitors/{visitorId}/external-ids (seq 37, 38), GET and DELETE
/visitors/{visitorId}/external-ids/{externalType} (seq 39, 40)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.domains.visitors.helpers import EXTERNAL_ID_FIELDS, UNKNOWN_VISITOR, assert_error
from tests.factories import (
    add_external_id,
    changes,
    create_external_id,
    create_visitor,
    external_id_body,
)

# The seed's create enum (seq 37); lookups (seq 36, 39) also take pas_barcode, fid_barcode and analytics.
CREATABLE_TYPES = [
    "designa",
    "facebook",
    "google",
    "cognito",
    "partner",
    "crm_id",
    "pas",
    "fid",
    "wifi_device_id",
]
DELETABLE_TYPES = ["designa", "facebook", "google", "cognito", "partner", "crm_id", "wifi_device_id"]


def pairs(response: Any) -> list[tuple[str, str, str | None]]:
    assert response.status_code == 200, response.text
    return [(e["visitorId"], e["externalId"], e["pcCode"]) for e in response.json()["data"]]


@pytest.fixture
def visitor_id(client: TestClient) -> str:
    return create_visitor(client)["visitorId"]  # type: ignore[no-any-return]


class TestCreateExternalId:
    def test_creates_from_the_seed_sample(self, client: TestClient, visitor_id: str) -> None:
        body = {"externalId": "randomId", "pcCode": "FR-SC-123", "externalType": "designa"}

        response = client.post(f"/visitors/{visitor_id}/external-ids", json=body)

        assert response.status_code == 201, response.text
        assert set(response.json()) == {"data"}
        data = response.json()["data"]
        assert set(data) == EXTERNAL_ID_FIELDS
        assert (data["externalId"], data["pcCode"], data["externalType"]) == (
            "randomId",
            "FR-SC-123",
            "designa",
        )
        assert data["visitorId"] == visitor_id
        assert data["creationDate"] == data["updateDate"]

    @pytest.mark.parametrize("external_type", CREATABLE_TYPES)
    def test_each_creatable_type_is_accepted(
        self, client: TestClient, visitor_id: str, external_type: str
    ) -> None:
        data = create_external_id(client, visitor_id, externalType=external_type)

        assert data["externalType"] == external_type

    # Deliberate deviation: seq 37 lists 9 creatable types (no analytics, pas_barcode, fid_barcode), but
    # then nothing could create the analytics ids that seq 41 (batch delete) works on; create takes all 12.
    @pytest.mark.parametrize("external_type", ["analytics", "pas_barcode", "fid_barcode"])
    def test_lookup_only_type_is_accepted(
        self, client: TestClient, visitor_id: str, external_type: str
    ) -> None:
        response = client.post(
            f"/visitors/{visitor_id}/external-ids", json=external_id_body(externalType=external_type)
        )

        assert response.status_code == 201, response.text
        assert response.json()["data"]["externalType"] == external_type

    def test_pc_code_is_optional(self, client: TestClient, visitor_id: str) -> None:
        body = external_id_body()
        del body["pcCode"]

        response = client.post(f"/visitors/{visitor_id}/external-ids", json=body)

        assert response.status_code == 201, response.text
        assert response.json()["data"]["pcCode"] is None

    def test_pc_code_may_be_null(self, client: TestClient, visitor_id: str) -> None:
        assert create_external_id(client, visitor_id, pcCode=None)["pcCode"] is None

    @pytest.mark.parametrize("field", ["externalId", "externalType"])
    def test_missing_required_field_is_422(self, client: TestClient, visitor_id: str, field: str) -> None:
        body = external_id_body()
        del body[field]

        assert_error(client.post(f"/visitors/{visitor_id}/external-ids", json=body), 422, field)

    @pytest.mark.parametrize("external_type", ["twitter", "DESIGNA", ""])
    def test_unknown_external_type_is_422(
        self, client: TestClient, visitor_id: str, external_type: str
    ) -> None:
        response = client.post(
            f"/visitors/{visitor_id}/external-ids", json=external_id_body(externalType=external_type)
        )

        assert_error(response, 422, "externalType")

    def test_empty_external_id_is_422(self, client: TestClient, visitor_id: str) -> None:
        response = client.post(f"/visitors/{visitor_id}/external-ids", json=external_id_body(externalId=""))

        assert_error(response, 422, "externalId")

    def test_same_type_without_pc_code_twice_for_a_visitor_is_409(
        self, client: TestClient, visitor_id: str
    ) -> None:
        create_external_id(client, visitor_id, externalType="google", pcCode=None, externalId="g-1")

        response = client.post(
            f"/visitors/{visitor_id}/external-ids",
            json=external_id_body(externalType="google", pcCode=None, externalId="g-2"),
        )

        assert_error(response, 409, "externalType")

    def test_same_type_at_another_pc_code_is_accepted(self, client: TestClient, visitor_id: str) -> None:
        create_external_id(client, visitor_id, externalType="designa", pcCode="FR-SC-1", externalId="d-1")
        create_external_id(client, visitor_id, externalType="designa", pcCode="FR-SC-2", externalId="d-2")
        create_external_id(client, visitor_id, externalType="designa", pcCode=None, externalId="d-3")

        listed = client.get(f"/visitors/{visitor_id}/external-ids").json()["data"]
        assert sorted(e["externalId"] for e in listed) == ["d-1", "d-2", "d-3"]

    def test_an_id_owned_by_another_visitor_is_409(self, client: TestClient, visitor_id: str) -> None:
        other = create_visitor(client)["visitorId"]
        create_external_id(client, other, externalType="facebook", externalId="fb-42", pcCode="FR-SC-1")

        response = client.post(
            f"/visitors/{visitor_id}/external-ids",
            json=external_id_body(externalType="facebook", externalId="fb-42", pcCode="FR-SC-1"),
        )

        assert_error(response, 409, "externalId")
        assert client.get(f"/visitors/{visitor_id}/external-ids").json()["data"] == []

    def test_an_id_without_pc_code_owned_by_another_visitor_is_409(
        self, client: TestClient, visitor_id: str
    ) -> None:
        other = create_visitor(client)["visitorId"]
        create_external_id(client, other, externalType="cognito", externalId="c-1", pcCode=None)

        response = client.post(
            f"/visitors/{visitor_id}/external-ids",
            json=external_id_body(externalType="cognito", externalId="c-1", pcCode=None),
        )

        assert_error(response, 409, "externalId")

    def test_the_same_value_under_another_type_is_accepted(self, client: TestClient, visitor_id: str) -> None:
        other = create_visitor(client)["visitorId"]
        create_external_id(client, other, externalType="facebook", externalId="shared")

        assert create_external_id(client, visitor_id, externalType="google", externalId="shared")


class TestListVisitorExternalIds:
    def test_lists_the_visitors_ids(self, client: TestClient, visitor_id: str) -> None:
        created = create_external_id(client, visitor_id)
        other = create_visitor(client)["visitorId"]
        create_external_id(client, other)

        response = client.get(f"/visitors/{visitor_id}/external-ids")

        assert response.status_code == 200
        body = response.json()
        assert body["data"] == [created]
        assert body["metadata"]["version"] == 1
        assert "self" in body["metadata"]["_links"]

    def test_empty_list(self, client: TestClient, visitor_id: str) -> None:
        assert client.get(f"/visitors/{visitor_id}/external-ids").json()["data"] == []

    def test_filter_pc_code(self, client: TestClient, visitor_id: str) -> None:
        create_external_id(client, visitor_id, externalType="designa", pcCode="FR-SC-1", externalId="a")
        create_external_id(client, visitor_id, externalType="designa", pcCode="FR-SC-2", externalId="b")

        response = client.get(f"/visitors/{visitor_id}/external-ids", params={"pcCode": "FR-SC-2"})

        assert pairs(response) == [(visitor_id, "b", "FR-SC-2")]


class TestGetVisitorExternalId:
    def test_returns_the_id_of_that_type(self, client: TestClient, visitor_id: str) -> None:
        created = create_external_id(client, visitor_id, externalType="crm_id", externalId="crm-9")
        create_external_id(client, visitor_id, externalType="google")

        response = client.get(f"/visitors/{visitor_id}/external-ids/crm_id")

        assert response.status_code == 200, response.text
        assert set(response.json()) == {"data"}
        assert response.json()["data"] == created
        assert set(created) == EXTERNAL_ID_FIELDS

    def test_pc_code_selects_the_centre(self, client: TestClient, visitor_id: str) -> None:
        create_external_id(client, visitor_id, externalType="designa", pcCode="FR-SC-1", externalId="d-1")
        create_external_id(client, visitor_id, externalType="designa", pcCode="FR-SC-2", externalId="d-2")

        response = client.get(f"/visitors/{visitor_id}/external-ids/designa", params={"pcCode": "FR-SC-2"})

        assert response.json()["data"]["externalId"] == "d-2"

    def test_without_pc_code_the_oldest_is_returned(self, client: TestClient, visitor_id: str) -> None:
        create_external_id(client, visitor_id, externalType="designa", pcCode="FR-SC-9", externalId="first")
        create_external_id(client, visitor_id, externalType="designa", pcCode="FR-SC-1", externalId="second")

        assert (
            client.get(f"/visitors/{visitor_id}/external-ids/designa").json()["data"]["externalId"] == "first"
        )

    @pytest.mark.parametrize("external_type", ["analytics", "pas_barcode", "fid_barcode"])
    def test_lookup_only_types_are_readable(
        self, client: TestClient, session: Session, visitor_id: str, external_type: str
    ) -> None:
        add_external_id(session, visitor_id, external_type, f"{external_type}-1")

        response = client.get(f"/visitors/{visitor_id}/external-ids/{external_type}")

        assert response.status_code == 200, response.text
        assert response.json()["data"]["externalId"] == f"{external_type}-1"

    def test_fields_returns_only_those_fields(self, client: TestClient, visitor_id: str) -> None:
        create_external_id(client, visitor_id, externalType="fid", externalId="f-1")

        response = client.get(f"/visitors/{visitor_id}/external-ids/fid", params={"fields": "externalId"})

        assert response.json()["data"] == {"externalId": "f-1"}

    def test_unknown_field_is_400(self, client: TestClient, visitor_id: str) -> None:
        create_external_id(client, visitor_id, externalType="fid")

        response = client.get(f"/visitors/{visitor_id}/external-ids/fid", params={"fields": "nope"})

        assert_error(response, 400, "fields")

    def test_no_id_of_that_type_is_404(self, client: TestClient, visitor_id: str) -> None:
        create_external_id(client, visitor_id, externalType="google")

        assert_error(client.get(f"/visitors/{visitor_id}/external-ids/facebook"), 404, "externalType")

    def test_no_id_at_that_pc_code_is_404(self, client: TestClient, visitor_id: str) -> None:
        create_external_id(client, visitor_id, externalType="designa", pcCode="FR-SC-1")

        response = client.get(f"/visitors/{visitor_id}/external-ids/designa", params={"pcCode": "FR-SC-2"})

        assert_error(response, 404, "externalType")

    def test_unknown_external_type_is_422(self, client: TestClient, visitor_id: str) -> None:
        assert_error(client.get(f"/visitors/{visitor_id}/external-ids/twitter"), 422, "externalType")

    def test_unknown_visitor_is_404(self, client: TestClient) -> None:
        assert_error(client.get(f"/visitors/{UNKNOWN_VISITOR}/external-ids/designa"), 404, "visitorId")

    def test_malformed_visitor_id_is_422(self, client: TestClient) -> None:
        assert_error(client.get("/visitors/nope/external-ids/designa"), 422, "visitorId")

    def test_unknown_query_parameter_is_400(self, client: TestClient, visitor_id: str) -> None:
        create_external_id(client, visitor_id, externalType="designa")

        response = client.get(f"/visitors/{visitor_id}/external-ids/designa", params={"externalId": "x"})

        assert_error(response, 400, "externalId")


class TestDeleteVisitorExternalId:
    @pytest.mark.parametrize("external_type", DELETABLE_TYPES)
    def test_deletes_the_id(self, client: TestClient, visitor_id: str, external_type: str) -> None:
        create_external_id(client, visitor_id, externalType=external_type)

        response = client.delete(f"/visitors/{visitor_id}/external-ids/{external_type}")

        assert response.status_code == 204, response.text
        assert response.content == b""
        assert_error(client.get(f"/visitors/{visitor_id}/external-ids/{external_type}"), 404)

    def test_is_logged_as_a_delete(self, client: TestClient, visitor_id: str) -> None:
        created = create_external_id(client, visitor_id)

        client.delete(f"/visitors/{visitor_id}/external-ids/designa")

        log = changes(client, entity="ExternalId")
        assert [c["operation"] for c in log] == ["create", "delete"]
        assert log[0]["entityId"] == log[1]["entityId"]
        assert created["externalType"] == "designa"

    def test_pc_code_deletes_only_that_centre(self, client: TestClient, visitor_id: str) -> None:
        create_external_id(client, visitor_id, externalType="designa", pcCode="FR-SC-1", externalId="d-1")
        create_external_id(client, visitor_id, externalType="designa", pcCode="FR-SC-2", externalId="d-2")

        response = client.delete(f"/visitors/{visitor_id}/external-ids/designa", params={"pcCode": "FR-SC-1"})

        assert response.status_code == 204
        assert pairs(client.get(f"/visitors/{visitor_id}/external-ids")) == [(visitor_id, "d-2", "FR-SC-2")]

    def test_without_pc_code_every_id_of_the_type_is_deleted(
        self, client: TestClient, visitor_id: str
    ) -> None:
        create_external_id(client, visitor_id, externalType="designa", pcCode="FR-SC-1", externalId="d-1")
        create_external_id(client, visitor_id, externalType="designa", pcCode=None, externalId="d-2")
        create_external_id(client, visitor_id, externalType="google", externalId="g-1")

        assert client.delete(f"/visitors/{visitor_id}/external-ids/designa").status_code == 204

        remaining = client.get(f"/visitors/{visitor_id}/external-ids").json()["data"]
        assert [e["externalId"] for e in remaining] == ["g-1"]

    def test_other_visitors_ids_are_kept(self, client: TestClient, visitor_id: str) -> None:
        other = create_visitor(client)["visitorId"]
        create_external_id(client, visitor_id, externalType="partner", externalId="p-1")
        create_external_id(client, other, externalType="partner", externalId="p-2")

        client.delete(f"/visitors/{visitor_id}/external-ids/partner")

        assert pairs(client.get(f"/visitors/{other}/external-ids"))[0][1] == "p-2"

    @pytest.mark.parametrize("external_type", ["analytics", "pas", "fid", "pas_barcode", "fid_barcode"])
    def test_a_non_deletable_type_is_422(
        self, client: TestClient, session: Session, visitor_id: str, external_type: str
    ) -> None:
        add_external_id(session, visitor_id, external_type, f"{external_type}-x")

        response = client.delete(f"/visitors/{visitor_id}/external-ids/{external_type}")

        assert_error(response, 422, "externalType")
        assert client.get(f"/visitors/{visitor_id}/external-ids/{external_type}").status_code == 200

    def test_unknown_external_type_is_422(self, client: TestClient, visitor_id: str) -> None:
        assert_error(client.delete(f"/visitors/{visitor_id}/external-ids/twitter"), 422, "externalType")

    def test_no_id_of_that_type_is_404(self, client: TestClient, visitor_id: str) -> None:
        assert_error(client.delete(f"/visitors/{visitor_id}/external-ids/google"), 404, "externalType")

    def test_no_id_at_that_pc_code_is_404(self, client: TestClient, visitor_id: str) -> None:
        create_external_id(client, visitor_id, externalType="designa", pcCode="FR-SC-1")

        response = client.delete(f"/visitors/{visitor_id}/external-ids/designa", params={"pcCode": "FR-SC-2"})

        assert_error(response, 404, "externalType")
        assert len(client.get(f"/visitors/{visitor_id}/external-ids").json()["data"]) == 1

    def test_unknown_visitor_is_404(self, client: TestClient) -> None:
        assert_error(client.delete(f"/visitors/{UNKNOWN_VISITOR}/external-ids/designa"), 404, "visitorId")

    def test_malformed_visitor_id_is_422(self, client: TestClient) -> None:
        assert_error(client.delete("/visitors/abc/external-ids/designa"), 422, "visitorId")

    def test_unknown_query_parameter_is_400(self, client: TestClient, visitor_id: str) -> None:
        create_external_id(client, visitor_id, externalType="designa")

        response = client.delete(f"/visitors/{visitor_id}/external-ids/designa", params={"force": "true"})

        assert_error(response, 400, "force")
        assert client.get(f"/visitors/{visitor_id}/external-ids/designa").status_code == 200


class TestFindExternalId:
    def test_returns_the_record_with_its_visitor(self, client: TestClient, visitor_id: str) -> None:
        created = create_external_id(
            client, visitor_id, externalType="designa", externalId="2e90fe3b088c7b27a6d08"
        )

        response = client.get("/external-ids/designa/2e90fe3b088c7b27a6d08")

        assert response.status_code == 200, response.text
        assert set(response.json()) == {"data"}
        assert response.json()["data"] == created
        assert response.json()["data"]["visitorId"] == visitor_id

    def test_pc_code_selects_the_centre(self, client: TestClient, visitor_id: str) -> None:
        other = create_visitor(client)["visitorId"]
        create_external_id(client, visitor_id, externalType="designa", externalId="shared", pcCode="FR-SC-1")
        create_external_id(client, other, externalType="designa", externalId="shared", pcCode="FR-SC-2")

        response = client.get("/external-ids/designa/shared", params={"pcCode": "FR-SC-2"})

        assert response.json()["data"]["visitorId"] == other

    def test_lookup_only_types_are_found(self, client: TestClient, session: Session, visitor_id: str) -> None:
        add_external_id(session, visitor_id, "analytics", "an-77")

        assert client.get("/external-ids/analytics/an-77").json()["data"]["visitorId"] == visitor_id

    def test_unknown_id_is_404(self, client: TestClient, visitor_id: str) -> None:
        create_external_id(client, visitor_id, externalType="designa", externalId="known")

        error = assert_error(client.get("/external-ids/designa/unknown"), 404, "externalId")
        assert error["type"] == "not_found"

    def test_the_id_under_another_type_is_404(self, client: TestClient, visitor_id: str) -> None:
        create_external_id(client, visitor_id, externalType="designa", externalId="typed")

        assert_error(client.get("/external-ids/google/typed"), 404, "externalId")

    def test_the_id_at_another_pc_code_is_404(self, client: TestClient, visitor_id: str) -> None:
        create_external_id(client, visitor_id, externalType="designa", externalId="here", pcCode="FR-SC-1")

        assert_error(
            client.get("/external-ids/designa/here", params={"pcCode": "FR-SC-2"}), 404, "externalId"
        )

    def test_unknown_external_type_is_422(self, client: TestClient) -> None:
        assert_error(client.get("/external-ids/twitter/abc"), 422, "externalType")

    def test_unknown_query_parameter_is_400(self, client: TestClient) -> None:
        assert_error(
            client.get("/external-ids/designa/abc", params={"visitorId": UNKNOWN_VISITOR}), 400, "visitorId"
        )


class TestExternalIdsBatch:
    def test_returns_the_ids_of_each_visitor(self, client: TestClient, visitor_id: str) -> None:
        other = create_visitor(client)["visitorId"]
        third = create_visitor(client)["visitorId"]
        mine = create_external_id(client, visitor_id, externalType="designa", externalId="m-1")
        theirs = create_external_id(client, other, externalType="google", externalId="o-1")
        create_external_id(client, third, externalType="designa", externalId="t-1")

        response = client.get("/external-ids/batch", params={"visitorId": f"{visitor_id},{other}"})

        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"data", "metadata"}
        assert sorted(body["data"], key=lambda e: e["externalId"]) == [mine, theirs]
        assert all(set(e) == EXTERNAL_ID_FIELDS for e in body["data"])
        assert body["metadata"]["version"] == 1

    def test_a_single_visitor_id(self, client: TestClient, visitor_id: str) -> None:
        create_external_id(client, visitor_id, externalId="solo")

        assert pairs(client.get("/external-ids/batch", params={"visitorId": visitor_id}))[0][1] == "solo"

    def test_spaces_around_ids_are_ignored(self, client: TestClient, visitor_id: str) -> None:
        other = create_visitor(client)["visitorId"]
        create_external_id(client, visitor_id, externalId="s-1")
        create_external_id(client, other, externalId="s-2")

        response = client.get("/external-ids/batch", params={"visitorId": f" {visitor_id} , {other}"})

        assert sorted(p[1] for p in pairs(response)) == ["s-1", "s-2"]

    def test_filter_external_types(self, client: TestClient, session: Session, visitor_id: str) -> None:
        create_external_id(client, visitor_id, externalType="designa", externalId="d")
        create_external_id(client, visitor_id, externalType="google", externalId="g")
        add_external_id(session, visitor_id, "analytics", "a")

        response = client.get(
            "/external-ids/batch", params={"visitorId": visitor_id, "externalType": "analytics,google"}
        )

        assert sorted(p[1] for p in pairs(response)) == ["a", "g"]

    def test_filter_pc_code(self, client: TestClient, visitor_id: str) -> None:
        create_external_id(client, visitor_id, externalType="designa", externalId="d-1", pcCode="FR-SC-1")
        create_external_id(client, visitor_id, externalType="google", externalId="g-2", pcCode="FR-SC-2")

        response = client.get("/external-ids/batch", params={"visitorId": visitor_id, "pcCode": "FR-SC-2"})

        assert pairs(response) == [(visitor_id, "g-2", "FR-SC-2")]

    def test_unknown_visitors_give_an_empty_list(self, client: TestClient) -> None:
        response = client.get("/external-ids/batch", params={"visitorId": UNKNOWN_VISITOR})

        assert pairs(response) == []

    @pytest.mark.parametrize("raw", ["not-a-uuid", "{vid},oops", "{vid},,{vid}"])
    def test_invalid_visitor_id_is_400(self, client: TestClient, visitor_id: str, raw: str) -> None:
        response = client.get("/external-ids/batch", params={"visitorId": raw.format(vid=visitor_id)})

        assert_error(response, 400, "visitorId")

    def test_invalid_external_type_is_400(self, client: TestClient, visitor_id: str) -> None:
        response = client.get(
            "/external-ids/batch", params={"visitorId": visitor_id, "externalType": "designa,x"}
        )

        assert_error(response, 400, "externalType")

    def test_more_than_500_visitor_ids_is_400(self, client: TestClient) -> None:
        raw = ",".join([UNKNOWN_VISITOR] * 501)

        assert_error(client.get("/external-ids/batch", params={"visitorId": raw}), 400, "visitorId")

    def test_missing_visitor_id_is_422(self, client: TestClient) -> None:
        assert_error(client.get("/external-ids/batch"), 422, "visitorId")

    def test_unknown_query_parameter_is_400(self, client: TestClient, visitor_id: str) -> None:
        response = client.get("/external-ids/batch", params={"visitorId": visitor_id, "limit": 10})

        assert_error(response, 400, "limit")
