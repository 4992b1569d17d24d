"""Vehicles' own rules (catalogue seq 66-70): the seed's field constraints, and licence plates matched
ignoring case, spaces and separators. Paging, sorting, fields, 404s, immutability, soft deletion and change
records are the contract suite's (tests/contract)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories import create_vehicle, create_visitor, vehicle_body


def _url(visitor_id: str, vehicle_id: int | None = None) -> str:
    base = f"/visitors/{visitor_id}/vehicles"
    return base if vehicle_id is None else f"{base}/{vehicle_id}"


def _ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.text
    return [item["vehicleId"] for item in response.json()["data"]]


def _field(response: Any) -> str:
    assert response.status_code == 422, response.text
    return response.json()["errors"][0]["field"]  # type: ignore[no-any-return]


@pytest.fixture
def visitor(client: TestClient) -> dict[str, Any]:
    return create_visitor(client)


def test_a_licence_plate_is_all_a_vehicle_needs(client: TestClient, visitor: dict[str, Any]) -> None:
    response = client.post(_url(visitor["visitorId"]), json={"licensePlate": "XY-999-ZZ"})
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert data["licensePlate"] == "XY-999-ZZ"
    assert data["visitorId"] == visitor["visitorId"]
    assert data["deletionDate"] is None
    for field in ("name", "maker", "color", "model", "licensePlateCountry", "yearOfManufacture"):
        assert data[field] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"maker": "Renault"}, "licensePlate"),
        ({"licensePlate": None}, "licensePlate"),
        ({"licensePlate": ""}, "licensePlate"),
        (vehicle_body(yearOfManufacture=1799), "yearOfManufacture"),
        (vehicle_body(yearOfManufacture=2501), "yearOfManufacture"),
        (vehicle_body(yearOfManufacture="old"), "yearOfManufacture"),
        (vehicle_body(licensePlateCountry="XX"), "licensePlateCountry"),
        (vehicle_body(licensePlateCountry="fr"), "licensePlateCountry"),
        (vehicle_body(maker=None), "maker"),
        (vehicle_body(vehicleId=5), "vehicleId"),
        (vehicle_body(deletionDate="2024-01-01T00:00:00Z"), "deletionDate"),
    ],
)
def test_the_seeds_constraints_name_the_field(
    client: TestClient, visitor: dict[str, Any], body: dict[str, Any], field: str
) -> None:
    assert _field(client.post(_url(visitor["visitorId"]), json=body)) == field


@pytest.mark.parametrize("year", [1800, 2500])
def test_year_of_manufacture_bounds_are_accepted(
    client: TestClient, visitor: dict[str, Any], year: int
) -> None:
    response = client.post(_url(visitor["visitorId"]), json=vehicle_body(yearOfManufacture=year))
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("query", ["ab 001 cd", "AB-001-CD", "ab001cd", " Ab.001_cD "])
def test_the_plate_filter_ignores_case_and_separators(
    client: TestClient, visitor: dict[str, Any], query: str
) -> None:
    target = create_vehicle(client, visitor["visitorId"], licensePlate="AB-001-CD")
    create_vehicle(client, visitor["visitorId"], licensePlate="AB-002-CD")
    response = client.get(_url(visitor["visitorId"]), params={"licensePlate": query})
    assert _ids(response) == [target["vehicleId"]]
    assert response.json()["data"][0]["licensePlate"] == "AB-001-CD"  # stored as given


def test_the_plate_filter_skips_deleted_vehicles_and_other_visitors(
    client: TestClient, visitor: dict[str, Any]
) -> None:
    vehicle = create_vehicle(client, visitor["visitorId"], licensePlate="GG-123-HH")
    create_vehicle(client, create_visitor(client)["visitorId"], licensePlate="ZZ-777-ZZ")
    assert client.delete(_url(visitor["visitorId"], vehicle["vehicleId"])).status_code == 204
    url = _url(visitor["visitorId"])
    assert _ids(client.get(url, params={"licensePlate": "gg123hh"})) == []
    assert _ids(client.get(url, params={"licensePlate": "gg123hh", "includeDeleted": True})) == [
        vehicle["vehicleId"]
    ]
    assert _ids(client.get(url, params={"licensePlate": "ZZ777ZZ"})) == []


def test_a_new_plate_is_matched_and_the_old_one_no_longer(
    client: TestClient, visitor: dict[str, Any]
) -> None:
    vehicle = create_vehicle(client, visitor["visitorId"], licensePlate="OLD-111")
    url = _url(visitor["visitorId"], vehicle["vehicleId"])
    assert client.patch(url, json={"licensePlate": "new 222"}).status_code == 200
    assert _ids(client.get(_url(visitor["visitorId"]), params={"licensePlate": "NEW-222"})) == [
        vehicle["vehicleId"]
    ]
    assert _ids(client.get(_url(visitor["visitorId"]), params={"licensePlate": "old111"})) == []


def test_a_patch_may_clear_the_name_but_not_the_plate(client: TestClient, visitor: dict[str, Any]) -> None:
    vehicle = create_vehicle(client, visitor["visitorId"], name="Mine")
    url = _url(visitor["visitorId"], vehicle["vehicleId"])
    assert client.patch(url, json={"name": None}).json()["data"]["name"] is None
    assert _field(client.patch(url, json={"licensePlate": None})) == "licensePlate"
    assert _field(client.patch(url, json={"licensePlateCountry": "ZZ"})) == "licensePlateCountry"
