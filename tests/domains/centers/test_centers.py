"""Centres (catalogue seq 53-56): create with the seed's defaults, list with filters, PATCH, GET."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories import center_body, changes, create_center

CENTER_FIELDS = {
    "hasLoyalty",
    "label",
    "country",
    "isWestfield",
    "centerId",
    "centerCode",
    "hasWorker",
    "hasMultiStep",
    "isActive",
    "hasEmailValidation",
    "loyaltyStartDate",
    "hasBasicLoyalty",
    "parkingPartner",
    "walletContextId",
    "urwAppId",
    "hasRegistration",
    "pcCode",
    "creationDate",
    "updateDate",
}

SEED_DEFAULTS = {
    "hasWorker": False,
    "hasMultiStep": False,
    "isActive": False,
    "hasEmailValidation": True,
    "hasBasicLoyalty": False,
    "hasRegistration": True,
}

SEED_EXAMPLE = {
    "label": "Les 4 Temps",
    "country": "FR",
    "isWestfield": True,
    "centerId": "les4temps",
    "centerCode": 3051,
    "hasWorker": False,
    "hasMultiStep": False,
    "isActive": False,
    "hasEmailValidation": True,
    "loyaltyStartDate": "2019-08-24T14:15:22Z",
    "hasBasicLoyalty": False,
    "parkingPartner": "smartparking_us",
    "walletContextId": 4321,
    "urwAppId": "aeroville",
    "hasRegistration": True,
    "hasLoyalty": True,
    "pcCode": "FR-SC-4T",
}

# Exact lists of centres: no reference centres.
pytestmark = pytest.mark.no_reference_centers


def _error(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"errors"}, body
    assert body["errors"], body
    return body["errors"][0]  # type: ignore[no-any-return]


def _codes(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["pcCode"] for item in response.json()["data"]]


# Create -------------------------------------------------------------------------------------------


def test_create_applies_the_seed_defaults(client: TestClient) -> None:
    body = center_body()
    response = client.post("/centers", json=body)
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert set(data) == CENTER_FIELDS
    assert {k: data[k] for k in SEED_DEFAULTS} == SEED_DEFAULTS
    assert data["pcCode"] == body["pcCode"]
    assert data["label"] == body["label"]
    assert data["country"] == "FR"
    assert data["isWestfield"] is True
    for field in (
        "centerId",
        "centerCode",
        "loyaltyStartDate",
        "parkingPartner",
        "walletContextId",
        "urwAppId",
        "hasLoyalty",
    ):
        assert data[field] is None, field
    assert data["creationDate"] == data["updateDate"]


def test_create_with_every_field_of_the_seed_example(client: TestClient) -> None:
    response = client.post("/centers", json=SEED_EXAMPLE)
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    for key, value in SEED_EXAMPLE.items():
        if key == "loyaltyStartDate":
            assert datetime.fromisoformat(data[key]) == datetime.fromisoformat("2019-08-24T14:15:22+00:00")
        else:
            assert data[key] == value, key
    got = client.get(f"/centers/{SEED_EXAMPLE['pcCode']}")
    assert got.status_code == 200
    assert got.json()["data"] == data


def test_create_overrides_defaults(client: TestClient) -> None:
    flipped = {k: not v for k, v in SEED_DEFAULTS.items()}
    data = create_center(client, **flipped)
    assert {k: data[k] for k in flipped} == flipped


@pytest.mark.parametrize("field", ["label", "country", "isWestfield", "pcCode"])
def test_create_requires(client: TestClient, field: str) -> None:
    body = center_body()
    del body[field]
    response = client.post("/centers", json=body)
    assert response.status_code == 422
    error = _error(response)
    assert error["field"] == field
    assert error["type"] == "validation_error"
    assert error["code"] == "missing"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("label", ""),
        ("pcCode", ""),
        ("country", "XX"),
        ("country", "fr"),
        ("isWestfield", "perhaps"),
        ("parkingPartner", "acme"),
        ("urwAppId", "nowhere"),
        ("centerCode", "abc"),
        ("hasWorker", None),
    ],
)
def test_create_rejects_invalid_values(client: TestClient, field: str, value: Any) -> None:
    response = client.post("/centers", json=center_body(**{field: value}))
    assert response.status_code == 422, response.text
    assert _error(response)["field"] == field


@pytest.mark.parametrize(
    "partner", ["smartparking_us", "smartparking_uk", "ilogs", "designa", "thales", "smartparking_v2"]
)
def test_parking_partner_enum(client: TestClient, partner: str) -> None:
    assert create_center(client, parkingPartner=partner)["parkingPartner"] == partner


@pytest.mark.parametrize("app_id", ["aeroville", "ulis2", "wroclavia"])
def test_urw_app_id_enum(client: TestClient, app_id: str) -> None:
    assert create_center(client, urwAppId=app_id)["urwAppId"] == app_id


# List ---------------------------------------------------------------------------------------------


def test_list(client: TestClient) -> None:
    created = [create_center(client) for _ in range(3)]
    response = client.get("/centers")
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == created
    assert body["metadata"]["version"] == 1


def test_list_filter_is_active(client: TestClient) -> None:
    active = create_center(client, isActive=True)
    inactive = create_center(client)
    assert _codes(client.get("/centers", params={"isActive": "true"})) == [active["pcCode"]]
    assert _codes(client.get("/centers", params={"isActive": "false"})) == [inactive["pcCode"]]
    assert _codes(client.get("/centers")) == [active["pcCode"], inactive["pcCode"]]


def test_list_filter_country(client: TestClient) -> None:
    fr = create_center(client, country="FR")
    de = create_center(client, country="DE")
    es = create_center(client, country="ES", isActive=True)
    assert _codes(client.get("/centers", params={"country": "FR"})) == [fr["pcCode"]]
    assert _codes(client.get("/centers", params={"country": "DE"})) == [de["pcCode"]]
    assert _codes(client.get("/centers", params={"country": "GB"})) == []
    assert _codes(client.get("/centers", params={"country": "ES", "isActive": "true"})) == [es["pcCode"]]
    assert _codes(client.get("/centers", params={"country": "ES", "isActive": "false"})) == []


def test_list_filter_country_must_be_a_code(client: TestClient) -> None:
    response = client.get("/centers", params={"country": "France"})
    assert response.status_code == 422
    assert _error(response)["field"] == "country"


# Get ----------------------------------------------------------------------------------------------


def test_get(client: TestClient) -> None:
    center = create_center(client)
    response = client.get(f"/centers/{center['pcCode']}")
    assert response.status_code == 200
    assert response.json() == {"data": center}
    response = client.get(f"/centers/{center['pcCode']}", params={"fields": "label,isActive"})
    assert response.json() == {"data": {"label": center["label"], "isActive": False}}


# Update -------------------------------------------------------------------------------------------


def test_patch(client: TestClient) -> None:
    center = create_center(client)
    url = f"/centers/{center['pcCode']}"
    response = client.patch(
        url,
        json={
            "label": "Renamed",
            "isActive": True,
            "parkingPartner": "designa",
            "urwAppId": "alma",
            "centerCode": 7,
        },
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["label"] == "Renamed"
    assert data["isActive"] is True
    assert data["parkingPartner"] == "designa"
    assert data["urwAppId"] == "alma"
    assert data["centerCode"] == 7
    assert data["country"] == center["country"]
    assert data["pcCode"] == center["pcCode"]
    assert data["creationDate"] == center["creationDate"]
    assert client.get(url).json()["data"] == data
    assert [c["operation"] for c in changes(client, entity="Center")] == ["create", "update"]


def test_patch_clears_nullable_fields(client: TestClient) -> None:
    center = create_center(client, parkingPartner="ilogs", urwAppId="alma", hasLoyalty=True)
    response = client.patch(
        f"/centers/{center['pcCode']}", json={"parkingPartner": None, "urwAppId": None, "hasLoyalty": None}
    )
    assert response.status_code == 200
    data = response.json()["data"]
    assert (data["parkingPartner"], data["urwAppId"], data["hasLoyalty"]) == (None, None, None)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("label", None),
        ("label", ""),
        ("country", None),
        ("country", "QQ"),
        ("isWestfield", None),
        ("isActive", None),
        ("parkingPartner", "acme"),
        ("urwAppId", "nowhere"),
        ("pcCode", "OTHER"),
    ],
)
def test_patch_rejects(client: TestClient, field: str, value: Any) -> None:
    center = create_center(client)
    response = client.patch(f"/centers/{center['pcCode']}", json={field: value})
    assert response.status_code == 422, response.text
    assert _error(response)["field"] == field
    assert client.get(f"/centers/{center['pcCode']}").json()["data"] == center


def test_no_delete_route(client: TestClient) -> None:
    center = create_center(client)
    assert client.delete(f"/centers/{center['pcCode']}").status_code == 405


# Auth ---------------------------------------------------------------------------------------------
