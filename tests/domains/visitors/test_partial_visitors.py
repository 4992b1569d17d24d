"""POST /visitors/partial (seq 26)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.domains.visitors.helpers import VISITOR_FIELDS, assert_error
from tests.factories import (
    changes,
    create_center,
    create_partial_visitor,
    create_visitor,
    partial_visitor_body,
)

# The seed's request sample for "Add a new partial visitor".
SEED_PARTIAL: dict[str, Any] = {
    "lastName": "Smith",
    "firstName": "John",
    "email": "tom@jerry.com",
    "gender": "m",
    "phone": "33631573042",
    "mobileLocale": "FR",
    "timezone": "Europe/Paris",
    "countryCode": "FR",
    "preferredCenter": "string",
    "optins": [
        {
            "clientId": "string",
            "sendId": "string",
            "optinChannel": "sms",
            "optinType": "commercial",
            "legalTextId": 0,
            "isActive": True,
            "lastOpenedDate": "2019-08-24T14:15:22Z",
            "contextId": 0,
        }
    ],
}


class TestCreatePartialVisitor:
    def test_creates_a_partial_visitor_from_the_seed_sample(self, client: TestClient) -> None:
        create_center(client, pcCode=SEED_PARTIAL["preferredCenter"])  # the seed's sample says "string"
        response = client.post("/visitors/partial", json=SEED_PARTIAL)

        assert response.status_code == 201, response.text
        assert set(response.json()) == {"data"}
        data = response.json()["data"]
        assert set(data) == VISITOR_FIELDS
        for name in (
            "lastName",
            "firstName",
            "email",
            "gender",
            "phone",
            "mobileLocale",
            "timezone",
            "countryCode",
        ):
            assert data[name] == SEED_PARTIAL[name], name
        assert data["accountType"] == "partial"
        assert data["acquisitionPcCode"] == "string"
        assert data["upgradePcCode"] is None
        assert data["registrationDate"] is None
        assert len(data["barcode"]) == 13
        assert data["originType"] == "api"
        assert "preferredCenter" not in data
        assert "optins" not in data

    def test_last_name_and_gender_are_optional(self, client: TestClient) -> None:
        body = partial_visitor_body()
        body.pop("gender", None)
        body.pop("lastName", None)

        response = client.post("/visitors/partial", json=body)

        assert response.status_code == 201, response.text
        assert response.json()["data"]["lastName"] is None
        assert response.json()["data"]["gender"] is None

    def test_last_name_and_gender_may_be_null(self, client: TestClient) -> None:
        data = create_partial_visitor(client, lastName=None, gender=None)

        assert (data["lastName"], data["gender"]) == (None, None)

    def test_preferred_center_becomes_a_favourite_visitor_center(self, client: TestClient) -> None:
        visitor = create_partial_visitor(client, preferredCenter="FR-SC-042")

        response = client.get(f"/visitors/{visitor['visitorId']}/centers")

        assert response.status_code == 200, response.text
        (link,) = response.json()["data"]
        assert link["pcCode"] == "FR-SC-042"
        assert link["visitorId"] == visitor["visitorId"]
        assert link["isFavorite"] is True
        assert link["favoriteDate"] is not None
        assert visitor["acquisitionPcCode"] == "FR-SC-042"

    def test_optins_are_stored(self, client: TestClient) -> None:
        visitor = create_partial_visitor(client)

        details = client.get("/visitors/details", params={"visitorId": visitor["visitorId"]}).json()["data"]

        (optin,) = details[0]["optins"]
        assert (optin["optinChannel"], optin["optinType"], optin["isActive"]) == ("email", "center", True)
        assert optin["visitorId"] == visitor["visitorId"]

    def test_is_logged_with_its_center_and_optins(self, client: TestClient) -> None:
        visitor = create_partial_visitor(client)

        assert [(c["entityId"], c["operation"]) for c in changes(client, entity="Visitor")] == [
            (visitor["visitorId"], "create")
        ]
        assert [c["operation"] for c in changes(client, entity="VisitorCenter")] == ["create"]
        assert [c["operation"] for c in changes(client, entity="Optin")] == ["create"]

    @pytest.mark.parametrize("field", ["firstName", "email", "countryCode", "preferredCenter", "optins"])
    def test_missing_required_field_is_422(self, client: TestClient, field: str) -> None:
        body = partial_visitor_body()
        del body[field]

        assert_error(client.post("/visitors/partial", json=body), 422, field)

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("gender", "x"),
            ("countryCode", "XX"),
            ("email", "nope"),
            ("preferredCenter", ""),
            ("firstName", ""),
        ],
    )
    def test_invalid_value_is_422(self, client: TestClient, field: str, value: Any) -> None:
        assert_error(
            client.post("/visitors/partial", json=partial_visitor_body(**{field: value})), 422, field
        )

    def test_invalid_optin_channel_is_422(self, client: TestClient) -> None:
        optins = [{"optinChannel": "pigeon", "optinType": "center", "isActive": True}]

        response = client.post("/visitors/partial", json=partial_visitor_body(optins=optins))

        assert_error(response, 422, "optins[0].optinChannel")

    def test_invalid_optin_type_is_422(self, client: TestClient) -> None:
        optins = [{"optinChannel": "email", "optinType": "newsletter", "isActive": True}]

        response = client.post("/visitors/partial", json=partial_visitor_body(optins=optins))

        assert_error(response, 422, "optins[0].optinType")

    @pytest.mark.parametrize("field", ["acquisitionPcCode", "birthDay", "addressCity"])
    def test_field_of_the_full_registration_is_422(self, client: TestClient, field: str) -> None:
        value = 3 if field == "birthDay" else "FR-SC-1"

        assert_error(
            client.post("/visitors/partial", json=partial_visitor_body(**{field: value})), 422, field
        )

    def test_email_of_a_full_visitor_is_409(self, client: TestClient) -> None:
        full = create_visitor(client)

        response = client.post("/visitors/partial", json=partial_visitor_body(email=full["email"]))

        assert_error(response, 409, "email")

    def test_email_of_a_partial_visitor_is_409(self, client: TestClient) -> None:
        partial = create_partial_visitor(client, email="twice@example.com")

        response = client.post("/visitors/partial", json=partial_visitor_body(email="TWICE@example.com"))

        assert_error(response, 409, "email")
        assert [c["entityId"] for c in changes(client, entity="Visitor")] == [partial["visitorId"]]
        assert len(changes(client, entity="VisitorCenter")) == 1

    def test_writer_key_can_create(self, writer: TestClient) -> None:
        assert writer.post("/visitors/partial", json=partial_visitor_body()).status_code == 201

    def test_without_key_is_401(self, anon: TestClient) -> None:
        assert_error(anon.post("/visitors/partial", json=partial_visitor_body()), 401)

    def test_read_key_is_403(self, reader: TestClient) -> None:
        assert_error(reader.post("/visitors/partial", json=partial_visitor_body()), 403)
