"""Vehicles of a visitor (catalogue seq 66-70): create, list, get, PATCH, soft DELETE."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories import changes, create_vehicle, create_visitor, vehicle_body

VEHICLE_FIELDS = {
    "vehicleId",
    "visitorId",
    "deletionDate",
    "name",
    "maker",
    "color",
    "model",
    "licensePlate",
    "licensePlateCountry",
    "yearOfManufacture",
    "lastParkingSession",
    "creationDate",
    "updateDate",
}


def _url(visitor_id: str, vehicle_id: int | None = None) -> str:
    base = f"/visitors/{visitor_id}/vehicles"
    return base if vehicle_id is None else f"{base}/{vehicle_id}"


def _error(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"errors"}, body
    assert body["errors"], body
    return body["errors"][0]  # type: ignore[no-any-return]


def _ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.text
    return [item["vehicleId"] for item in response.json()["data"]]


@pytest.fixture
def visitor(client: TestClient) -> dict[str, Any]:
    return create_visitor(client)


# Create -------------------------------------------------------------------------------------------


def test_create_returns_the_vehicle(client: TestClient, visitor: dict[str, Any]) -> None:
    body = vehicle_body(
        name="Family car",
        color="blue",
        model="Clio",
        yearOfManufacture=2019,
        lastParkingSession="2024-05-01T10:00:00Z",
    )
    response = client.post(_url(visitor["visitorId"]), json=body)
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert set(data) == VEHICLE_FIELDS
    assert isinstance(data["vehicleId"], int)
    assert data["visitorId"] == visitor["visitorId"]
    assert data["deletionDate"] is None
    assert data["licensePlate"] == body["licensePlate"]
    assert data["licensePlateCountry"] == "FR"
    assert data["maker"] == "Renault"
    assert data["name"] == "Family car"
    assert data["yearOfManufacture"] == 2019
    assert datetime.fromisoformat(data["lastParkingSession"]) == datetime.fromisoformat(
        "2024-05-01T10:00:00+00:00"
    )
    assert data["creationDate"] == data["updateDate"]

    got = client.get(_url(visitor["visitorId"], data["vehicleId"]))
    assert got.status_code == 200
    assert got.json()["data"] == data


def test_create_with_only_license_plate(client: TestClient, visitor: dict[str, Any]) -> None:
    response = client.post(_url(visitor["visitorId"]), json={"licensePlate": "XY-999-ZZ"})
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert data["licensePlate"] == "XY-999-ZZ"
    for field in ("name", "maker", "color", "model", "licensePlateCountry", "yearOfManufacture"):
        assert data[field] is None


@pytest.mark.parametrize(
    "body",
    [
        {"maker": "Renault"},
        {"licensePlate": None},
        {"licensePlate": ""},
    ],
    ids=["missing", "null", "empty"],
)
def test_create_requires_license_plate(
    client: TestClient, visitor: dict[str, Any], body: dict[str, Any]
) -> None:
    response = client.post(_url(visitor["visitorId"]), json=body)
    assert response.status_code == 422
    error = _error(response)
    assert error["field"] == "licensePlate"
    assert error["type"] == "validation_error"


@pytest.mark.parametrize("year", [1800, 2500])
def test_year_of_manufacture_bounds_accepted(client: TestClient, visitor: dict[str, Any], year: int) -> None:
    response = client.post(_url(visitor["visitorId"]), json=vehicle_body(yearOfManufacture=year))
    assert response.status_code == 201, response.text
    assert response.json()["data"]["yearOfManufacture"] == year


@pytest.mark.parametrize("year", [1799, 2501, "old"])
def test_year_of_manufacture_out_of_range(client: TestClient, visitor: dict[str, Any], year: Any) -> None:
    response = client.post(_url(visitor["visitorId"]), json=vehicle_body(yearOfManufacture=year))
    assert response.status_code == 422
    assert _error(response)["field"] == "yearOfManufacture"


@pytest.mark.parametrize("country", ["XX", "fr", "FRA"])
def test_license_plate_country_must_be_a_country_code(
    client: TestClient, visitor: dict[str, Any], country: str
) -> None:
    response = client.post(_url(visitor["visitorId"]), json=vehicle_body(licensePlateCountry=country))
    assert response.status_code == 422
    assert _error(response)["field"] == "licensePlateCountry"


def test_create_rejects_unknown_and_server_fields(client: TestClient, visitor: dict[str, Any]) -> None:
    for extra in ({"colour": "red"}, {"vehicleId": 5}, {"deletionDate": "2024-01-01T00:00:00Z"}):
        response = client.post(_url(visitor["visitorId"]), json=vehicle_body(**extra))
        assert response.status_code == 422, extra
        assert _error(response)["field"] == next(iter(extra))


def test_create_for_unknown_visitor_is_404(client: TestClient) -> None:
    missing = str(uuid.uuid4())
    response = client.post(_url(missing), json=vehicle_body())
    assert response.status_code == 404
    error = _error(response)
    assert error["type"] == "not_found"
    assert error["field"] == "visitorId"
    assert not changes(client, entity="Vehicle")


def test_invalid_visitor_id_is_422(client: TestClient) -> None:
    response = client.get(_url("not-a-uuid"))
    assert response.status_code == 422
    assert _error(response)["field"] == "visitorId"


def test_create_is_logged(client: TestClient, visitor: dict[str, Any]) -> None:
    vehicle = create_vehicle(client, visitor["visitorId"])
    log = changes(client, entity="Vehicle")
    assert [(c["entityId"], c["operation"]) for c in log] == [(str(vehicle["vehicleId"]), "create")]


# List ---------------------------------------------------------------------------------------------


def test_list_shows_only_the_visitors_vehicles(client: TestClient, visitor: dict[str, Any]) -> None:
    other = create_visitor(client)
    mine = [create_vehicle(client, visitor["visitorId"]) for _ in range(2)]
    create_vehicle(client, other["visitorId"])
    response = client.get(_url(visitor["visitorId"]))
    assert response.status_code == 200
    body = response.json()
    assert body["metadata"]["version"] == 1
    assert "self" in body["metadata"]["_links"]
    assert [v["vehicleId"] for v in body["data"]] == [v["vehicleId"] for v in mine]
    assert all(set(item) == VEHICLE_FIELDS for item in body["data"])


def test_list_of_visitor_without_vehicles_is_empty(client: TestClient, visitor: dict[str, Any]) -> None:
    response = client.get(_url(visitor["visitorId"]))
    assert response.status_code == 200
    assert response.json()["data"] == []


def test_list_for_unknown_visitor_is_404(client: TestClient) -> None:
    response = client.get(_url(str(uuid.uuid4())))
    assert response.status_code == 404
    assert _error(response)["field"] == "visitorId"


def test_soft_deleted_hidden_unless_include_deleted(client: TestClient, visitor: dict[str, Any]) -> None:
    kept = create_vehicle(client, visitor["visitorId"])
    gone = create_vehicle(client, visitor["visitorId"])
    assert client.delete(_url(visitor["visitorId"], gone["vehicleId"])).status_code == 204

    assert _ids(client.get(_url(visitor["visitorId"]))) == [kept["vehicleId"]]
    assert _ids(client.get(_url(visitor["visitorId"]), params={"includeDeleted": "false"})) == [
        kept["vehicleId"]
    ]
    both = client.get(_url(visitor["visitorId"]), params={"includeDeleted": "true"})
    assert _ids(both) == [kept["vehicleId"], gone["vehicleId"]]
    deleted = next(v for v in both.json()["data"] if v["vehicleId"] == gone["vehicleId"])
    assert deleted["deletionDate"] is not None


def test_include_deleted_must_be_boolean(client: TestClient, visitor: dict[str, Any]) -> None:
    response = client.get(_url(visitor["visitorId"]), params={"includeDeleted": "maybe"})
    assert response.status_code == 422
    assert _error(response)["field"] == "includeDeleted"


@pytest.mark.parametrize("query", ["ab 001 cd", "AB-001-CD", "ab001cd", " Ab.001_cD "])
def test_license_plate_filter_is_normalised(client: TestClient, visitor: dict[str, Any], query: str) -> None:
    target = create_vehicle(client, visitor["visitorId"], licensePlate="AB-001-CD")
    create_vehicle(client, visitor["visitorId"], licensePlate="AB-002-CD")
    response = client.get(_url(visitor["visitorId"]), params={"licensePlate": query})
    assert _ids(response) == [target["vehicleId"]]
    # The stored plate is kept as given; only matching is normalised.
    assert response.json()["data"][0]["licensePlate"] == "AB-001-CD"


def test_license_plate_filter_respects_soft_delete(client: TestClient, visitor: dict[str, Any]) -> None:
    vehicle = create_vehicle(client, visitor["visitorId"], licensePlate="GG-123-HH")
    client.delete(_url(visitor["visitorId"], vehicle["vehicleId"]))
    assert _ids(client.get(_url(visitor["visitorId"]), params={"licensePlate": "gg123hh"})) == []
    response = client.get(
        _url(visitor["visitorId"]), params={"licensePlate": "gg123hh", "includeDeleted": True}
    )
    assert _ids(response) == [vehicle["vehicleId"]]


def test_license_plate_filter_only_searches_this_visitor(client: TestClient, visitor: dict[str, Any]) -> None:
    other = create_visitor(client)
    create_vehicle(client, other["visitorId"], licensePlate="ZZ-777-ZZ")
    assert _ids(client.get(_url(visitor["visitorId"]), params={"licensePlate": "ZZ777ZZ"})) == []


def test_list_sort(client: TestClient, visitor: dict[str, Any]) -> None:
    b = create_vehicle(client, visitor["visitorId"], licensePlate="BB-000-BB")
    a = create_vehicle(client, visitor["visitorId"], licensePlate="AA-000-AA")
    c = create_vehicle(client, visitor["visitorId"], licensePlate="CC-000-CC")
    url = _url(visitor["visitorId"])
    assert _ids(client.get(url)) == [b["vehicleId"], a["vehicleId"], c["vehicleId"]]
    assert _ids(client.get(url, params={"sort": "licensePlate"})) == [
        a["vehicleId"],
        b["vehicleId"],
        c["vehicleId"],
    ]
    assert _ids(client.get(url, params={"sort": "-licensePlate"})) == [
        c["vehicleId"],
        b["vehicleId"],
        a["vehicleId"],
    ]
    assert _ids(client.get(url, params={"sort": "-creationDate"})) == [
        c["vehicleId"],
        a["vehicleId"],
        b["vehicleId"],
    ]


def test_list_sort_by_unknown_field_is_400(client: TestClient, visitor: dict[str, Any]) -> None:
    response = client.get(_url(visitor["visitorId"]), params={"sort": "color"})
    assert response.status_code == 400
    assert _error(response)["field"] == "sort"


def test_list_fields(client: TestClient, visitor: dict[str, Any]) -> None:
    vehicle = create_vehicle(client, visitor["visitorId"])
    response = client.get(_url(visitor["visitorId"]), params={"fields": "vehicleId,licensePlate"})
    assert response.status_code == 200
    assert response.json()["data"] == [
        {"vehicleId": vehicle["vehicleId"], "licensePlate": vehicle["licensePlate"]}
    ]
    bad = client.get(_url(visitor["visitorId"]), params={"fields": "licensePlate,plate"})
    assert bad.status_code == 400
    assert _error(bad)["field"] == "fields"


def test_list_pagination(client: TestClient, visitor: dict[str, Any]) -> None:
    ids = [create_vehicle(client, visitor["visitorId"])["vehicleId"] for _ in range(5)]
    url = _url(visitor["visitorId"])
    first = client.get(url, params={"limit": 2})
    assert _ids(first) == ids[:2]
    links = first.json()["metadata"]["_links"]
    assert "next" in links
    assert "prev" not in links

    second = client.get(links["next"])
    assert _ids(second) == ids[2:4]
    assert "prev" in second.json()["metadata"]["_links"]

    last = client.get(url, params={"limit": 2, "offset": 4})
    assert _ids(last) == ids[4:]
    assert "next" not in last.json()["metadata"]["_links"]

    assert _ids(client.get(url, params={"offset": 10})) == []


def test_list_rejects_unknown_query_parameter(client: TestClient, visitor: dict[str, Any]) -> None:
    response = client.get(_url(visitor["visitorId"]), params={"plate": "AB"})
    assert response.status_code == 400
    assert _error(response)["field"] == "plate"


# Get ----------------------------------------------------------------------------------------------


def test_get_with_fields(client: TestClient, visitor: dict[str, Any]) -> None:
    vehicle = create_vehicle(client, visitor["visitorId"])
    response = client.get(_url(visitor["visitorId"], vehicle["vehicleId"]), params={"fields": "maker"})
    assert response.status_code == 200
    assert response.json() == {"data": {"maker": "Renault"}}


def test_get_unknown_vehicle_is_404(client: TestClient, visitor: dict[str, Any]) -> None:
    response = client.get(_url(visitor["visitorId"], 999_999_999))
    assert response.status_code == 404
    assert _error(response)["field"] == "vehicleId"


def test_get_non_integer_vehicle_id_is_422(client: TestClient, visitor: dict[str, Any]) -> None:
    response = client.get(_url(visitor["visitorId"]) + "/abc")
    assert response.status_code == 422
    assert _error(response)["field"] == "vehicleId"


def test_unknown_visitor_is_404_on_every_item_route(client: TestClient, visitor: dict[str, Any]) -> None:
    vehicle = create_vehicle(client, visitor["visitorId"])
    url = _url(str(uuid.uuid4()), vehicle["vehicleId"])
    for response in (client.get(url), client.patch(url, json={"color": "red"}), client.delete(url)):
        assert response.status_code == 404
        assert _error(response)["field"] == "visitorId"


def test_vehicle_of_another_visitor_is_404(client: TestClient, visitor: dict[str, Any]) -> None:
    other = create_visitor(client)
    vehicle = create_vehicle(client, visitor["visitorId"])
    url = _url(other["visitorId"], vehicle["vehicleId"])
    assert client.get(url).status_code == 404
    assert client.patch(url, json={"color": "red"}).status_code == 404
    assert client.delete(url).status_code == 404
    # Untouched for its owner.
    own = client.get(_url(visitor["visitorId"], vehicle["vehicleId"])).json()["data"]
    assert own == vehicle
    assert [c["operation"] for c in changes(client, entity="Vehicle")] == ["create"]


# Update -------------------------------------------------------------------------------------------


def test_patch_returns_the_updated_vehicle(client: TestClient, visitor: dict[str, Any]) -> None:
    vehicle = create_vehicle(client, visitor["visitorId"])
    url = _url(visitor["visitorId"], vehicle["vehicleId"])
    response = client.patch(
        url, json={"color": "red", "yearOfManufacture": 2001, "licensePlateCountry": "DE"}
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["color"] == "red"
    assert data["yearOfManufacture"] == 2001
    assert data["licensePlateCountry"] == "DE"
    assert data["maker"] == vehicle["maker"]  # untouched
    assert data["creationDate"] == vehicle["creationDate"]
    assert datetime.fromisoformat(data["updateDate"]) >= datetime.fromisoformat(vehicle["updateDate"])
    assert client.get(url).json()["data"] == data


def test_patch_license_plate_updates_matching(client: TestClient, visitor: dict[str, Any]) -> None:
    vehicle = create_vehicle(client, visitor["visitorId"], licensePlate="OLD-111")
    url = _url(visitor["visitorId"], vehicle["vehicleId"])
    assert client.patch(url, json={"licensePlate": "new 222"}).status_code == 200
    assert _ids(client.get(_url(visitor["visitorId"]), params={"licensePlate": "NEW-222"})) == [
        vehicle["vehicleId"]
    ]
    assert _ids(client.get(_url(visitor["visitorId"]), params={"licensePlate": "old111"})) == []


def test_patch_with_matching_vehicle_id_is_accepted(client: TestClient, visitor: dict[str, Any]) -> None:
    vehicle = create_vehicle(client, visitor["visitorId"])
    url = _url(visitor["visitorId"], vehicle["vehicleId"])
    response = client.patch(url, json={"vehicleId": vehicle["vehicleId"], "color": "green"})
    assert response.status_code == 200, response.text
    assert response.json()["data"]["vehicleId"] == vehicle["vehicleId"]
    assert response.json()["data"]["color"] == "green"


def test_patch_with_other_vehicle_id_is_422(client: TestClient, visitor: dict[str, Any]) -> None:
    vehicle = create_vehicle(client, visitor["visitorId"])
    other = create_vehicle(client, visitor["visitorId"])
    url = _url(visitor["visitorId"], vehicle["vehicleId"])
    response = client.patch(url, json={"vehicleId": other["vehicleId"], "color": "green"})
    assert response.status_code == 422
    assert _error(response)["field"] == "vehicleId"
    # Nothing applied, nothing logged.
    assert client.get(url).json()["data"]["color"] is None
    assert [c["operation"] for c in changes(client, entity="Vehicle")] == ["create", "create"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("yearOfManufacture", 1700),
        ("licensePlateCountry", "ZZ"),
        ("licensePlate", ""),
        ("licensePlate", None),
    ],
)
def test_patch_validation(client: TestClient, visitor: dict[str, Any], field: str, value: Any) -> None:
    vehicle = create_vehicle(client, visitor["visitorId"])
    response = client.patch(_url(visitor["visitorId"], vehicle["vehicleId"]), json={field: value})
    assert response.status_code == 422
    assert _error(response)["field"] == field


def test_patch_name_can_be_cleared(client: TestClient, visitor: dict[str, Any]) -> None:
    vehicle = create_vehicle(client, visitor["visitorId"], name="Mine")
    response = client.patch(_url(visitor["visitorId"], vehicle["vehicleId"]), json={"name": None})
    assert response.status_code == 200
    assert response.json()["data"]["name"] is None


def test_patch_deletion_date_null_restores(client: TestClient, visitor: dict[str, Any]) -> None:
    vehicle = create_vehicle(client, visitor["visitorId"])
    url = _url(visitor["visitorId"], vehicle["vehicleId"])
    assert client.delete(url).status_code == 204
    assert _ids(client.get(_url(visitor["visitorId"]))) == []

    response = client.patch(url, json={"deletionDate": None})
    assert response.status_code == 200, response.text
    assert response.json()["data"]["deletionDate"] is None
    assert _ids(client.get(_url(visitor["visitorId"]))) == [vehicle["vehicleId"]]
    ops = [c["operation"] for c in changes(client, entity="Vehicle")]
    assert ops == ["create", "delete", "update"]


def test_patch_deletion_date_soft_deletes(client: TestClient, visitor: dict[str, Any]) -> None:
    vehicle = create_vehicle(client, visitor["visitorId"])
    url = _url(visitor["visitorId"], vehicle["vehicleId"])
    response = client.patch(url, json={"deletionDate": "2024-01-02T03:04:05Z"})
    assert response.status_code == 200, response.text
    assert datetime.fromisoformat(response.json()["data"]["deletionDate"]) == datetime.fromisoformat(
        "2024-01-02T03:04:05+00:00"
    )
    assert _ids(client.get(_url(visitor["visitorId"]))) == []


def test_patch_without_change_writes_nothing(client: TestClient, visitor: dict[str, Any]) -> None:
    vehicle = create_vehicle(client, visitor["visitorId"], color="blue")
    url = _url(visitor["visitorId"], vehicle["vehicleId"])
    response = client.patch(url, json={"color": "blue", "maker": vehicle["maker"]})
    assert response.status_code == 200
    assert response.json()["data"] == vehicle
    response = client.patch(url, json={})
    assert response.status_code == 200
    assert response.json()["data"] == vehicle
    assert [c["operation"] for c in changes(client, entity="Vehicle")] == ["create"]


def test_patch_rejects_unknown_field(client: TestClient, visitor: dict[str, Any]) -> None:
    vehicle = create_vehicle(client, visitor["visitorId"])
    response = client.patch(
        _url(visitor["visitorId"], vehicle["vehicleId"]), json={"visitorId": str(uuid.uuid4())}
    )
    assert response.status_code == 422
    assert _error(response)["field"] == "visitorId"


# Delete -------------------------------------------------------------------------------------------


def test_delete_is_soft(client: TestClient, visitor: dict[str, Any]) -> None:
    vehicle = create_vehicle(client, visitor["visitorId"])
    url = _url(visitor["visitorId"], vehicle["vehicleId"])
    response = client.delete(url)
    assert response.status_code == 204
    assert response.content == b""

    got = client.get(url)
    assert got.status_code == 200
    data = got.json()["data"]
    assert data["deletionDate"] is not None
    assert data["licensePlate"] == vehicle["licensePlate"]
    deleted_at = datetime.fromisoformat(data["deletionDate"])
    assert deleted_at >= datetime.fromisoformat(vehicle["creationDate"])
    assert deleted_at.utcoffset() is not None

    log = changes(client, entity="Vehicle")
    assert [(c["entityId"], c["operation"]) for c in log] == [
        (str(vehicle["vehicleId"]), "create"),
        (str(vehicle["vehicleId"]), "delete"),
    ]


def test_second_delete_writes_no_new_change(client: TestClient, visitor: dict[str, Any]) -> None:
    vehicle = create_vehicle(client, visitor["visitorId"])
    url = _url(visitor["visitorId"], vehicle["vehicleId"])
    assert client.delete(url).status_code == 204
    first = client.get(url).json()["data"]
    before = changes(client)

    assert client.delete(url).status_code == 204
    assert changes(client) == before
    assert client.get(url).json()["data"] == first  # deletionDate not moved


def test_delete_unknown_vehicle_is_404(client: TestClient, visitor: dict[str, Any]) -> None:
    response = client.delete(_url(visitor["visitorId"], 123_456_789))
    assert response.status_code == 404
    assert _error(response)["field"] == "vehicleId"


# Auth ---------------------------------------------------------------------------------------------


def test_requires_a_key(anon: TestClient, client: TestClient, visitor: dict[str, Any]) -> None:
    vehicle = create_vehicle(client, visitor["visitorId"])
    item = _url(visitor["visitorId"], vehicle["vehicleId"])
    for response in (
        anon.get(_url(visitor["visitorId"])),
        anon.post(_url(visitor["visitorId"]), json=vehicle_body()),
        anon.get(item),
        anon.patch(item, json={"color": "red"}),
        anon.delete(item),
    ):
        assert response.status_code == 401
        assert _error(response)["type"] == "authentication_error"


def test_read_key_reads_but_cannot_write(
    reader: TestClient, client: TestClient, visitor: dict[str, Any]
) -> None:
    vehicle = create_vehicle(client, visitor["visitorId"])
    item = _url(visitor["visitorId"], vehicle["vehicleId"])
    assert reader.get(_url(visitor["visitorId"])).status_code == 200
    assert reader.get(item).status_code == 200
    for response in (
        reader.post(_url(visitor["visitorId"]), json=vehicle_body()),
        reader.patch(item, json={"color": "red"}),
        reader.delete(item),
    ):
        assert response.status_code == 403
        assert _error(response)["type"] == "permission_error"
    assert client.get(item).json()["data"] == vehicle


def test_write_key_can_write(writer: TestClient, visitor: dict[str, Any]) -> None:
    response = writer.post(_url(visitor["visitorId"]), json=vehicle_body())
    assert response.status_code == 201
    item = _url(visitor["visitorId"], response.json()["data"]["vehicleId"])
    assert writer.patch(item, json={"color": "red"}).status_code == 200
    assert writer.delete(item).status_code == 204
