"""PATCH /visitors/batch (seq 25) and POST /visitors/batch-delete (seq 41)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.domains.visitors.helpers import UNKNOWN_VISITOR, assert_error
from tests.factories import (
    add_external_id,
    changes,
    create_external_id,
    create_partial_visitor,
    create_vehicle,
    create_visitor,
)


def flags(client: TestClient, visitor_id: str) -> tuple[bool, bool]:
    data = client.get(f"/visitors/{visitor_id}").json()["data"]
    return data["emailInvalid"], data["phoneInvalid"]


def operations(client: TestClient, entity: str) -> list[tuple[str, str]]:
    return [(c["entityId"], c["operation"]) for c in changes(client, entity=entity)]


class TestUpdateVisitorFlagsBatch:
    def test_updates_each_visitor_and_echoes_the_items(self, client: TestClient) -> None:
        a = create_visitor(client)["visitorId"]
        b = create_visitor(client)["visitorId"]
        items = [
            {"visitorId": a, "emailInvalid": True, "phoneInvalid": False},
            {"visitorId": b, "emailInvalid": False, "phoneInvalid": True},
        ]

        response = client.patch("/visitors/batch", json=items)

        assert response.status_code == 200, response.text
        body = response.json()
        assert body["data"] == items
        assert body["metadata"]["version"] == 1
        assert flags(client, a) == (True, False)
        assert flags(client, b) == (False, True)

    def test_a_flag_left_out_is_unchanged(self, client: TestClient) -> None:
        vid = create_visitor(client, phoneInvalid=True)["visitorId"]

        response = client.patch("/visitors/batch", json=[{"visitorId": vid, "emailInvalid": True}])

        assert response.status_code == 200, response.text
        assert response.json()["data"] == [{"visitorId": vid, "emailInvalid": True, "phoneInvalid": True}]
        assert flags(client, vid) == (True, True)

    def test_works_for_partial_visitors(self, client: TestClient) -> None:
        vid = create_partial_visitor(client)["visitorId"]

        assert (
            client.patch("/visitors/batch", json=[{"visitorId": vid, "phoneInvalid": True}]).status_code
            == 200
        )
        assert flags(client, vid) == (False, True)

    def test_unknown_visitor_is_404_and_nothing_changes(self, client: TestClient) -> None:
        known = create_visitor(client)["visitorId"]
        items = [
            {"visitorId": known, "emailInvalid": True},
            {"visitorId": UNKNOWN_VISITOR, "emailInvalid": True},
        ]

        response = client.patch("/visitors/batch", json=items)

        error = assert_error(response, 404, "[1].visitorId")
        assert error["type"] == "not_found"
        assert flags(client, known) == (False, False)
        assert [op for _, op in operations(client, "Visitor")] == ["create"]

    def test_every_unknown_visitor_is_named(self, client: TestClient) -> None:
        known = create_visitor(client)["visitorId"]
        other = "00000000-0000-4000-8000-000000000001"
        items = [{"visitorId": UNKNOWN_VISITOR}, {"visitorId": known}, {"visitorId": other}]

        response = client.patch("/visitors/batch", json=items)

        assert_error(response, 404, "[0].visitorId")
        assert [e["field"] for e in response.json()["errors"]] == ["[0].visitorId", "[2].visitorId"]

    def test_each_changed_visitor_gets_one_update_record(self, client: TestClient) -> None:
        a = create_visitor(client)["visitorId"]
        b = create_visitor(client)["visitorId"]

        client.patch(
            "/visitors/batch",
            json=[{"visitorId": a, "emailInvalid": True}, {"visitorId": b, "emailInvalid": False}],
        )

        assert operations(client, "Visitor") == [(a, "create"), (b, "create"), (a, "update")]

    def test_missing_visitor_id_is_422(self, client: TestClient) -> None:
        vid = create_visitor(client)["visitorId"]

        response = client.patch("/visitors/batch", json=[{"visitorId": vid}, {"emailInvalid": True}])

        assert_error(response, 422, "[1].visitorId")

    def test_malformed_visitor_id_is_422(self, client: TestClient) -> None:
        assert_error(client.patch("/visitors/batch", json=[{"visitorId": "abc"}]), 422, "[0].visitorId")

    @pytest.mark.parametrize("value", ["maybe", [True]])
    def test_non_boolean_flag_is_422(self, client: TestClient, value: Any) -> None:
        vid = create_visitor(client)["visitorId"]

        response = client.patch("/visitors/batch", json=[{"visitorId": vid, "phoneInvalid": value}])

        assert_error(response, 422, "[0].phoneInvalid")

    def test_null_flag_is_422_naming_the_item(self, client: TestClient) -> None:
        a = create_visitor(client)["visitorId"]
        b = create_visitor(client)["visitorId"]
        items = [{"visitorId": a, "emailInvalid": True}, {"visitorId": b, "emailInvalid": None}]

        response = client.patch("/visitors/batch", json=items)

        assert_error(response, 422, "[1].emailInvalid")
        assert flags(client, a) == (False, False)
        assert flags(client, b) == (False, False)

    def test_other_visitor_fields_are_422(self, client: TestClient) -> None:
        vid = create_visitor(client)["visitorId"]

        response = client.patch("/visitors/batch", json=[{"visitorId": vid, "emailVerified": True}])

        assert_error(response, 422, "[0].emailVerified")

    def test_an_object_instead_of_an_array_is_422(self, client: TestClient) -> None:
        vid = create_visitor(client)["visitorId"]

        response = client.patch("/visitors/batch", json={"visitorId": vid, "emailInvalid": True})

        assert_error(response, 422)

    def test_an_empty_batch_is_rejected(self, client: TestClient) -> None:
        assert_error(client.patch("/visitors/batch", json=[]), 400, "body")

    def test_more_than_500_items_is_rejected(self, client: TestClient) -> None:
        items = [{"visitorId": UNKNOWN_VISITOR}] * 501

        assert_error(client.patch("/visitors/batch", json=items), 400, "body")

    def test_without_key_is_401(self, anon: TestClient) -> None:
        assert_error(anon.patch("/visitors/batch", json=[{"visitorId": UNKNOWN_VISITOR}]), 401)

    def test_read_key_is_403(self, client: TestClient, reader: TestClient) -> None:
        vid = create_visitor(client)["visitorId"]

        assert_error(reader.patch("/visitors/batch", json=[{"visitorId": vid, "emailInvalid": True}]), 403)
        assert flags(client, vid) == (False, False)


class TestDeleteVisitorsByAnalyticsIds:
    def test_deletes_the_visitors_and_reports_success_and_failed(
        self, client: TestClient, session: Session
    ) -> None:
        a = create_visitor(client)["visitorId"]
        b = create_partial_visitor(client)["visitorId"]
        kept = create_visitor(client)["visitorId"]
        add_external_id(session, a, "analytics", "an-a")
        add_external_id(session, b, "analytics", "an-b", pc_code="FR-SC-123")
        add_external_id(session, kept, "analytics", "an-kept")

        response = client.post(
            "/visitors/batch-delete",
            json=[{"analyticsId": "an-a"}, {"analyticsId": "nobody"}, {"analyticsId": "an-b"}],
        )

        assert response.status_code == 200, response.text
        body = response.json()
        assert body["data"] == {"success": ["an-a", "an-b"], "failed": ["nobody"]}
        assert body["metadata"]["version"] == 1
        assert_error(client.get(f"/visitors/{a}"), 404, "visitorId")
        assert_error(client.get(f"/visitors/{b}"), 404, "visitorId")
        assert client.get(f"/visitors/{kept}").status_code == 200
        assert [v["visitorId"] for v in client.get("/visitors").json()["data"]] == [kept]

    def test_the_visitors_dependants_are_gone(self, client: TestClient, session: Session) -> None:
        vid = create_partial_visitor(client)["visitorId"]
        add_external_id(session, vid, "analytics", "an-1")
        create_external_id(client, vid, externalId="fb-1", externalType="facebook", pcCode=None)
        create_vehicle(client, vid)
        create_vehicle(client, vid)

        response = client.post("/visitors/batch-delete", json=[{"analyticsId": "an-1"}])

        assert response.json()["data"] == {"success": ["an-1"], "failed": []}
        assert client.get("/visitors/details", params={"visitorId": vid}).json()["data"] == []
        assert_error(client.get("/external-ids/facebook/fb-1"), 404)
        assert_error(client.get("/external-ids/analytics/an-1"), 404)
        assert_error(client.get(f"/visitors/{vid}/vehicles"), 404, "visitorId")
        assert client.get("/external-ids/batch", params={"visitorId": vid}).json()["data"] == []

    def test_every_deletion_is_logged(self, client: TestClient, session: Session) -> None:
        visitor = create_partial_visitor(client)
        vid = visitor["visitorId"]
        add_external_id(session, vid, "analytics", "an-log")
        designa = create_external_id(client, vid, externalId="d-log")
        vehicle = create_vehicle(client, vid)

        client.post("/visitors/batch-delete", json=[{"analyticsId": "an-log"}])

        assert operations(client, "Visitor")[-1] == (vid, "delete")
        assert [op for _, op in operations(client, "ExternalId")] == ["create", "create", "delete", "delete"]
        assert (str(vehicle["vehicleId"]), "delete") in operations(client, "Vehicle")
        assert [op for _, op in operations(client, "Optin")] == ["create", "delete"]
        assert [op for _, op in operations(client, "VisitorCenter")] == ["create", "delete"]
        assert designa["externalId"] == "d-log"

    def test_pc_code_narrows_the_match(self, client: TestClient, session: Session) -> None:
        vid = create_visitor(client)["visitorId"]
        add_external_id(session, vid, "analytics", "an-pc", pc_code="FR-SC-001")

        miss = client.post("/visitors/batch-delete", json=[{"analyticsId": "an-pc", "pcCode": "FR-SC-002"}])
        hit = client.post("/visitors/batch-delete", json=[{"analyticsId": "an-pc", "pcCode": "FR-SC-001"}])

        assert miss.json()["data"] == {"success": [], "failed": ["an-pc"]}
        assert hit.json()["data"] == {"success": ["an-pc"], "failed": []}
        assert_error(client.get(f"/visitors/{vid}"), 404)

    def test_only_analytics_ids_identify_visitors(self, client: TestClient) -> None:
        vid = create_visitor(client)["visitorId"]
        create_external_id(client, vid, externalId="same-value", externalType="designa")

        response = client.post("/visitors/batch-delete", json=[{"analyticsId": "same-value"}])

        assert response.json()["data"] == {"success": [], "failed": ["same-value"]}
        assert client.get(f"/visitors/{vid}").status_code == 200

    def test_all_failed_changes_nothing(self, client: TestClient) -> None:
        create_visitor(client)

        response = client.post("/visitors/batch-delete", json=[{"analyticsId": "x"}, {"analyticsId": "y"}])

        assert response.status_code == 200, response.text
        assert response.json()["data"] == {"success": [], "failed": ["x", "y"]}
        assert [op for _, op in operations(client, "Visitor")] == ["create"]

    @pytest.mark.parametrize("item", [{}, {"pcCode": "FR-SC-123"}, {"analyticsId": ""}])
    def test_missing_or_empty_analytics_id_is_422(self, client: TestClient, item: dict[str, Any]) -> None:
        assert_error(client.post("/visitors/batch-delete", json=[item]), 422, "[0].analyticsId")

    def test_unknown_item_field_is_422(self, client: TestClient) -> None:
        response = client.post(
            "/visitors/batch-delete", json=[{"analyticsId": "a", "visitorId": UNKNOWN_VISITOR}]
        )

        assert_error(response, 422, "[0].visitorId")

    def test_an_empty_batch_is_rejected(self, client: TestClient) -> None:
        assert_error(client.post("/visitors/batch-delete", json=[]), 400, "body")

    def test_an_object_instead_of_an_array_is_422(self, client: TestClient) -> None:
        assert_error(client.post("/visitors/batch-delete", json={"analyticsId": "a"}), 422)

    def test_without_key_is_401(self, anon: TestClient) -> None:
        assert_error(anon.post("/visitors/batch-delete", json=[{"analyticsId": "a"}]), 401)

    def test_read_key_is_403(self, client: TestClient, reader: TestClient, session: Session) -> None:
        vid = create_visitor(client)["visitorId"]
        add_external_id(session, vid, "analytics", "an-r")

        assert_error(reader.post("/visitors/batch-delete", json=[{"analyticsId": "an-r"}]), 403)
        assert client.get(f"/visitors/{vid}").status_code == 200
