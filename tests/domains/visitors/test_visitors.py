"""POST /visitors (seq 23), GET /visitors/{visitorId} (seq 30), PATCH /visitors/{visitorId} (seq 29)."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.domains.visitors.helpers import SEED_VISITOR, VISITOR_FIELDS, assert_error
from tests.factories import changes, create_partial_visitor, create_visitor, visitor_body


def details_of(client: TestClient, visitor_id: str) -> dict[str, Any]:
    response = client.get("/visitors/details", params={"visitorId": visitor_id})
    assert response.status_code == 200, response.text
    (item,) = response.json()["data"]
    return item  # type: ignore[no-any-return]


class TestCreateVisitor:
    def test_creates_a_full_visitor_from_the_seed_sample(self, client: TestClient) -> None:
        response = client.post("/visitors", json=SEED_VISITOR)

        assert response.status_code == 201, response.text
        body = response.json()
        assert set(body) == {"data"}
        data = body["data"]
        assert set(data) == VISITOR_FIELDS
        for name, value in SEED_VISITOR.items():
            if name in {"optins", "lastVisitDate"}:
                continue
            assert data[name] == value, name
        assert data["lastVisitDate"].startswith("2017-07-24T17:32:28")
        assert data["accountType"] == "full"
        assert uuid.UUID(data["visitorId"])
        assert data["registrationDate"] is not None
        assert data["creationDate"] == data["updateDate"]
        assert data["upgradePcCode"] is None
        assert data["originType"] == "api"
        assert data["origin"] == "test-admin"

    def test_barcode_is_a_unique_13_digit_string(self, client: TestClient) -> None:
        first = create_visitor(client)
        second = create_visitor(client)

        for visitor in (first, second):
            assert isinstance(visitor["barcode"], str)
            assert len(visitor["barcode"]) == 13
            assert visitor["barcode"].isdigit()
        assert first["barcode"] != second["barcode"]

    def test_optional_fields_default_to_null_and_flags_to_false(self, client: TestClient) -> None:
        data = create_visitor(client)

        for name in (
            "lastVisitDate",
            "addressCity",
            "phone",
            "timezone",
            "billingCountryCode",
            "birthDay",
            "birthMonth",
            "birthYear",
            "upgradePcCode",
        ):
            assert data[name] is None, name
        for name in ("emailVerified", "emailInvalid", "phoneVerified", "phoneInvalid"):
            assert data[name] is False, name

    def test_response_does_not_echo_optins(self, client: TestClient) -> None:
        data = create_visitor(client)

        assert "optins" not in data

    def test_optins_are_stored(self, client: TestClient) -> None:
        optins = [
            {**SEED_VISITOR["optins"][0], "legalTextId": 7, "contextId": 3},
            {"optinChannel": "email", "optinType": "privacy", "isActive": False},
        ]
        visitor = create_visitor(client, optins=optins)

        stored = details_of(client, visitor["visitorId"])["optins"]
        assert len(stored) == 2
        active = next(o for o in stored if o["optinType"] == "commercial")
        inactive = next(o for o in stored if o["optinType"] == "privacy")
        assert active["visitorId"] == visitor["visitorId"]
        assert active["optinChannel"] == "sms"
        assert active["clientId"] == "string"
        assert active["sendId"] == "string"
        assert active["legalTextId"] == 7
        assert active["contextId"] == 3
        assert active["isActive"] is True
        assert active["lastOpenedDate"].startswith("2019-08-24T14:15:22")
        assert active["optinDate"] is not None
        assert active["optoutDate"] is None
        assert inactive["optinChannel"] == "email"
        assert inactive["isActive"] is False
        assert inactive["optinDate"] is None
        assert inactive["optoutDate"] is not None

    def test_an_empty_optins_list_is_accepted(self, client: TestClient) -> None:
        visitor = create_visitor(client, optins=[])

        assert details_of(client, visitor["visitorId"])["optins"] == []

    def test_is_logged_as_a_create(self, client: TestClient) -> None:
        visitor = create_visitor(client)

        log = changes(client, entity="Visitor")
        assert [(c["entityId"], c["operation"]) for c in log] == [(visitor["visitorId"], "create")]
        assert len(changes(client, entity="Optin")) == 1

    @pytest.mark.parametrize(
        "field", ["lastName", "firstName", "email", "gender", "acquisitionPcCode", "countryCode", "optins"]
    )
    def test_missing_required_field_is_422(self, client: TestClient, field: str) -> None:
        body = visitor_body()
        del body[field]

        response = client.post("/visitors", json=body)

        error = assert_error(response, 422, field)
        assert error["type"] == "validation_error"

    @pytest.mark.parametrize("field", ["optinChannel", "optinType", "isActive"])
    def test_missing_required_optin_field_is_422(self, client: TestClient, field: str) -> None:
        optin = {"optinChannel": "sms", "optinType": "commercial", "isActive": True}
        del optin[field]

        response = client.post("/visitors", json=visitor_body(optins=[optin]))

        assert_error(response, 422, f"optins[0].{field}")

    @pytest.mark.parametrize("gender", ["m", "f", "u"])
    def test_each_gender_is_accepted(self, client: TestClient, gender: str) -> None:
        assert create_visitor(client, gender=gender)["gender"] == gender

    @pytest.mark.parametrize("gender", ["x", "M", "", None])
    def test_invalid_gender_is_422(self, client: TestClient, gender: Any) -> None:
        assert_error(client.post("/visitors", json=visitor_body(gender=gender)), 422, "gender")

    @pytest.mark.parametrize("code", ["ZZ", "fr", "FRA", ""])
    def test_invalid_country_code_is_422(self, client: TestClient, code: str) -> None:
        assert_error(client.post("/visitors", json=visitor_body(countryCode=code)), 422, "countryCode")

    def test_invalid_billing_country_code_is_422(self, client: TestClient) -> None:
        response = client.post("/visitors", json=visitor_body(billingCountryCode="XX"))

        assert_error(response, 422, "billingCountryCode")

    def test_null_billing_country_code_is_accepted(self, client: TestClient) -> None:
        assert create_visitor(client, billingCountryCode=None)["billingCountryCode"] is None

    @pytest.mark.parametrize("email", ["not-an-email", "a@", "@example.com", ""])
    def test_invalid_email_is_422(self, client: TestClient, email: str) -> None:
        assert_error(client.post("/visitors", json=visitor_body(email=email)), 422, "email")

    @pytest.mark.parametrize(
        ("field", "value"), [("birthDay", 0), ("birthDay", 32), ("birthMonth", 0), ("birthMonth", 13)]
    )
    def test_birth_day_and_month_out_of_range_are_422(
        self, client: TestClient, field: str, value: int
    ) -> None:
        assert_error(client.post("/visitors", json=visitor_body(**{field: value})), 422, field)

    def test_birth_day_and_month_bounds_are_accepted(self, client: TestClient) -> None:
        low = create_visitor(client, birthDay=1, birthMonth=1)
        high = create_visitor(client, birthDay=31, birthMonth=12)

        assert (low["birthDay"], low["birthMonth"]) == (1, 1)
        assert (high["birthDay"], high["birthMonth"]) == (31, 12)

    def test_invalid_optin_channel_is_422(self, client: TestClient) -> None:
        optins = [{"optinChannel": "fax", "optinType": "commercial", "isActive": True}]

        assert_error(
            client.post("/visitors", json=visitor_body(optins=optins)), 422, "optins[0].optinChannel"
        )

    def test_invalid_optin_type_is_422(self, client: TestClient) -> None:
        optins = [
            {"optinChannel": "sms", "optinType": "commercial", "isActive": True},
            {"optinChannel": "sms", "optinType": "spam", "isActive": True},
        ]

        assert_error(client.post("/visitors", json=visitor_body(optins=optins)), 422, "optins[1].optinType")

    def test_empty_last_name_is_422(self, client: TestClient) -> None:
        assert_error(client.post("/visitors", json=visitor_body(lastName="")), 422, "lastName")

    def test_unknown_body_field_is_422(self, client: TestClient) -> None:
        response = client.post("/visitors", json=visitor_body(accountType="partial"))

        assert_error(response, 422, "accountType")

    def test_malformed_json_is_400(self, client: TestClient) -> None:
        response = client.post(
            "/visitors", content=b"{not json", headers={"Content-Type": "application/json"}
        )

        assert_error(response, 400)

    def test_duplicate_email_is_409(self, client: TestClient) -> None:
        existing = create_visitor(client)

        response = client.post("/visitors", json=visitor_body(email=existing["email"]))

        error = assert_error(response, 409, "email")
        assert error["type"] == "conflict"

    def test_duplicate_email_differing_in_case_is_409(self, client: TestClient) -> None:
        create_visitor(client, email="Case.Sensitive@example.com")

        response = client.post("/visitors", json=visitor_body(email="case.sensitive@EXAMPLE.com"))

        assert_error(response, 409, "email")

    def test_a_rejected_create_stores_nothing(self, client: TestClient) -> None:
        existing = create_visitor(client)

        client.post("/visitors", json=visitor_body(email=existing["email"]))

        assert len(changes(client, entity="Visitor")) == 1
        assert len(changes(client, entity="Optin")) == 1

    def test_upgrades_a_partial_visitor_with_the_same_email(self, client: TestClient) -> None:
        partial = create_partial_visitor(
            client, email="Upgrade.Me@example.com", preferredCenter="FR-SC-001", phone="0102030405"
        )

        response = client.post(
            "/visitors",
            json=visitor_body(
                email="upgrade.me@example.com",
                acquisitionPcCode="FR-SC-777",
                lastName="Doe",
                firstName="Janet",
                gender="f",
            ),
        )

        assert response.status_code == 201, response.text
        data = response.json()["data"]
        assert set(data) == VISITOR_FIELDS
        assert data["visitorId"] == partial["visitorId"]
        assert data["accountType"] == "full"
        assert data["upgradePcCode"] == "FR-SC-777"
        assert data["acquisitionPcCode"] == "FR-SC-001"
        assert data["registrationDate"] is not None
        assert (data["lastName"], data["firstName"], data["gender"]) == ("Doe", "Janet", "f")
        assert data["phone"] == "0102030405"
        assert data["barcode"] == partial["barcode"]
        assert data["creationDate"] == partial["creationDate"]

    def test_upgrade_keeps_one_visitor_and_adds_the_new_optins(self, client: TestClient) -> None:
        partial = create_partial_visitor(client)

        client.post("/visitors", json=visitor_body(email=partial["email"]))

        listed = client.get("/visitors", params={"email": partial["email"]}).json()["data"]
        assert [v["visitorId"] for v in listed] == [partial["visitorId"]]
        optins = details_of(client, partial["visitorId"])["optins"]
        assert sorted(o["optinChannel"] for o in optins) == ["email", "sms"]
        log = [(c["entityId"], c["operation"]) for c in changes(client, entity="Visitor")]
        assert log == [(partial["visitorId"], "create"), (partial["visitorId"], "update")]

    def test_upgrade_keeps_the_preferred_center_as_the_only_favourite(self, client: TestClient) -> None:
        partial = create_partial_visitor(client, preferredCenter="FR-SC-010")

        client.post("/visitors", json=visitor_body(email=partial["email"], acquisitionPcCode="FR-SC-020"))

        centers = client.get(f"/visitors/{partial['visitorId']}/centers").json()["data"]
        assert [(c["pcCode"], c["isFavorite"]) for c in centers] == [("FR-SC-010", True)]

    def test_email_of_a_full_visitor_is_not_an_upgrade(self, client: TestClient) -> None:
        full = create_visitor(client)

        response = client.post(
            "/visitors", json=visitor_body(email=full["email"], acquisitionPcCode="FR-SC-999")
        )

        assert_error(response, 409, "email")
        assert client.get(f"/visitors/{full['visitorId']}").json()["data"]["upgradePcCode"] is None

    def test_seed_sample_is_not_mutated(self) -> None:
        # Guard for the tests above, which share SEED_VISITOR.
        assert copy.deepcopy(SEED_VISITOR) == SEED_VISITOR


class TestReadVisitor:
    def test_returns_the_visitor(self, client: TestClient) -> None:
        visitor = create_visitor(client)

        response = client.get(f"/visitors/{visitor['visitorId']}")

        assert response.status_code == 200
        assert set(response.json()) == {"data"}
        assert response.json()["data"] == visitor

    def test_malformed_visitor_id_is_422(self, client: TestClient) -> None:
        assert_error(client.get("/visitors/not-a-uuid"), 422, "visitorId")


class TestUpdateVisitor:
    def test_returns_200_with_the_updated_visitor(self, client: TestClient) -> None:
        visitor = create_visitor(client)
        patch = {
            "lastName": "Martin",
            "firstName": "Paul",
            "gender": "u",
            "phone": "0600000000",
            "birthDay": 12,
            "birthMonth": 4,
            "birthYear": 1980,
            "billingCountryCode": "DE",
            "addressCity": "Lyon",
            "lastVisitDate": "2024-03-01T10:00:00Z",
            "email": "paul@example.com",
        }

        response = client.patch(f"/visitors/{visitor['visitorId']}", json=patch)

        assert response.status_code == 200, response.text
        data = response.json()["data"]
        assert set(data) == VISITOR_FIELDS
        for name, value in patch.items():
            if name != "lastVisitDate":
                assert data[name] == value, name
        assert data["lastVisitDate"].startswith("2024-03-01T10:00:00")
        assert data["updateDate"] > visitor["updateDate"]
        assert data["creationDate"] == visitor["creationDate"]
        assert client.get(f"/visitors/{visitor['visitorId']}").json()["data"] == data

    def test_fields_not_sent_are_unchanged(self, client: TestClient) -> None:
        visitor = create_visitor(client, phone="0102030405", birthDay=3)

        data = client.patch(f"/visitors/{visitor['visitorId']}", json={"addressCity": "Nice"}).json()["data"]

        unchanged = {k: v for k, v in visitor.items() if k not in {"addressCity", "updateDate"}}
        assert {k: data[k] for k in unchanged} == unchanged

    def test_nullable_fields_can_be_cleared(self, client: TestClient) -> None:
        visitor = create_visitor(
            client, phone="0102030405", birthDay=3, birthMonth=4, birthYear=1990, billingCountryCode="FR"
        )

        response = client.patch(
            f"/visitors/{visitor['visitorId']}",
            json={
                "phone": None,
                "birthDay": None,
                "birthMonth": None,
                "birthYear": None,
                "billingCountryCode": None,
            },
        )

        assert response.status_code == 200, response.text
        data = response.json()["data"]
        assert [data[k] for k in ("phone", "birthDay", "birthMonth", "birthYear", "billingCountryCode")] == [
            None
        ] * 5

    @pytest.mark.parametrize("field", ["lastName", "firstName", "email", "gender", "lastVisitDate"])
    def test_null_on_a_non_nullable_field_is_422(self, client: TestClient, field: str) -> None:
        visitor = create_visitor(client)

        response = client.patch(f"/visitors/{visitor['visitorId']}", json={field: None})

        assert_error(response, 422, field)
        assert client.get(f"/visitors/{visitor['visitorId']}").json()["data"] == visitor

    @pytest.mark.parametrize(
        "field",
        [
            "acquisitionPcCode",
            "countryCode",
            "emailVerified",
            "emailInvalid",
            "phoneInvalid",
            "optins",
            "accountType",
            "barcode",
        ],
    )
    def test_field_outside_the_update_body_is_422(self, client: TestClient, field: str) -> None:
        visitor = create_visitor(client)
        value: Any = {"optins": [], "emailVerified": True, "emailInvalid": True, "phoneInvalid": True}.get(
            field, "FR"
        )

        response = client.patch(f"/visitors/{visitor['visitorId']}", json={field: value})

        assert_error(response, 422, field)

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("gender", "x"),
            ("email", "nope"),
            ("birthDay", 32),
            ("birthDay", 0),
            ("birthMonth", 13),
            ("billingCountryCode", "ZZ"),
            ("lastName", ""),
            ("lastVisitDate", "yesterday"),
        ],
    )
    def test_invalid_value_is_422(self, client: TestClient, field: str, value: Any) -> None:
        visitor = create_visitor(client)

        assert_error(client.patch(f"/visitors/{visitor['visitorId']}", json={field: value}), 422, field)

    def test_email_of_another_visitor_is_409(self, client: TestClient) -> None:
        other = create_visitor(client)
        visitor = create_visitor(client)

        response = client.patch(f"/visitors/{visitor['visitorId']}", json={"email": other["email"].upper()})

        assert_error(response, 409, "email")
        assert client.get(f"/visitors/{visitor['visitorId']}").json()["data"]["email"] == visitor["email"]

    def test_own_email_in_another_case_is_accepted(self, client: TestClient) -> None:
        visitor = create_visitor(client, email="me@example.com")

        response = client.patch(f"/visitors/{visitor['visitorId']}", json={"email": "ME@example.com"})

        assert response.status_code == 200, response.text
        assert response.json()["data"]["email"].lower() == "me@example.com"

    def test_the_same_instant_in_another_notation_is_a_no_op(self, client: TestClient) -> None:
        visitor = create_visitor(client, lastVisitDate="2024-03-01T10:00:00Z")

        response = client.patch(
            f"/visitors/{visitor['visitorId']}", json={"lastVisitDate": "2024-03-01T12:00:00.000+02:00"}
        )

        assert response.status_code == 200, response.text
        assert response.json()["data"]["updateDate"] == visitor["updateDate"]
        assert [c["operation"] for c in changes(client, entity="Visitor")] == ["create"]

    def test_an_empty_body_changes_nothing(self, client: TestClient) -> None:
        visitor = create_visitor(client)

        response = client.patch(f"/visitors/{visitor['visitorId']}", json={})

        assert response.status_code == 200, response.text
        assert response.json()["data"] == visitor
        assert [c["operation"] for c in changes(client, entity="Visitor")] == ["create"]

    def test_malformed_visitor_id_is_422(self, client: TestClient) -> None:
        assert_error(client.patch("/visitors/123", json={"lastName": "X"}), 422, "visitorId")
