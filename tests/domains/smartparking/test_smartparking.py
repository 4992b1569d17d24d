"""Smart parking (seq 142, 143): the visitor from visitorId, barcode and/or licence plate, every branch of the
seed's rule, the recorded visit, and the list of a centre's visits."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.domains.owned import UNKNOWN_VISITOR, error, fields
from tests.factories import changes, create_vehicle, create_visitor

PC = "FR-SC-123"


def enter(client: TestClient, visit_type: str = "entry", **ids: Any) -> Any:
    return client.post(f"/smartparking/visits/{visit_type}", json={"pcCode": PC, **ids})


@pytest.fixture
def visitor(client: TestClient) -> dict[str, Any]:
    return create_visitor(client)


# Resolution: each id alone -------------------------------------------------------------------------


def test_by_visitor_id_records_the_visit_and_answers_it_bare(
    client: TestClient, visitor: dict[str, Any]
) -> None:
    before = datetime.now(UTC)
    response = enter(client, visitorId=visitor["visitorId"])
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"visitorId", "pcCode", "visitDate", "visitType", "licensePlate"}
    assert body["visitorId"] == visitor["visitorId"]
    assert (body["pcCode"], body["visitType"], body["licensePlate"]) == (PC, "entry", None)
    visit_date = datetime.fromisoformat(body["visitDate"])
    assert before - timedelta(seconds=1) <= visit_date <= datetime.now(UTC) + timedelta(seconds=1)
    logged = changes(client, entity="SmartParkingVisit")
    assert [c["operation"] for c in logged] == ["create"]


def test_by_barcode(client: TestClient, visitor: dict[str, Any]) -> None:
    response = enter(client, "exit", barcode=visitor["barcode"])
    assert response.status_code == 201, response.text
    assert (response.json()["visitorId"], response.json()["visitType"]) == (visitor["visitorId"], "exit")


def test_by_plate_ignores_case_spaces_and_dashes(client: TestClient, visitor: dict[str, Any]) -> None:
    create_vehicle(client, visitor["visitorId"], licensePlate="AB-123-CD")
    response = enter(client, licensePlate=" ab 123cd ")
    assert response.status_code == 201, response.text
    assert response.json()["visitorId"] == visitor["visitorId"]
    assert response.json()["licensePlate"] == "ab 123cd"  # the plate as the car park read it


def test_by_plate_skips_deleted_vehicles(client: TestClient) -> None:
    owner, former = create_visitor(client), create_visitor(client)
    create_vehicle(client, owner["visitorId"], licensePlate="GH-555-IJ")
    gone = create_vehicle(client, former["visitorId"], licensePlate="GH-555-IJ")
    assert client.delete(f"/visitors/{former['visitorId']}/vehicles/{gone['vehicleId']}").status_code == 204
    # The deleted vehicle is the one updated last: it must not win.
    assert enter(client, licensePlate="GH555IJ").json()["visitorId"] == owner["visitorId"]


def test_by_plate_a_deleted_vehicle_alone_is_404(client: TestClient, visitor: dict[str, Any]) -> None:
    gone = create_vehicle(client, visitor["visitorId"], licensePlate="KL-777-MN")
    assert client.delete(f"/visitors/{visitor['visitorId']}/vehicles/{gone['vehicleId']}").status_code == 204
    found = error(enter(client, licensePlate="KL-777-MN"), 404)
    assert found["field"] == "licensePlate"


def test_by_plate_the_latest_updated_vehicle_wins(client: TestClient) -> None:
    first, second = create_visitor(client), create_visitor(client)
    older = create_vehicle(client, first["visitorId"], licensePlate="OP-888-QR")
    create_vehicle(client, second["visitorId"], licensePlate="op888qr")
    assert enter(client, licensePlate="OP-888-QR").json()["visitorId"] == second["visitorId"]
    url = f"/visitors/{first['visitorId']}/vehicles/{older['vehicleId']}"
    assert client.patch(url, json={"color": "red"}).status_code == 200
    assert enter(client, licensePlate="OP-888-QR").json()["visitorId"] == first["visitorId"]


# Resolution: several ids ---------------------------------------------------------------------------


def test_all_three_ids_of_one_visitor(client: TestClient, visitor: dict[str, Any]) -> None:
    create_vehicle(client, visitor["visitorId"], licensePlate="ST-111-UV")
    response = enter(
        client, visitorId=visitor["visitorId"], barcode=visitor["barcode"], licensePlate="ST-111-UV"
    )
    assert response.status_code == 201, response.text
    assert response.json()["visitorId"] == visitor["visitorId"]


@pytest.mark.parametrize(
    "mismatch", [("visitorId", "barcode"), ("visitorId", "licensePlate"), ("barcode", "licensePlate")]
)
def test_ids_of_different_visitors_are_409_naming_them(client: TestClient, mismatch: tuple[str, str]) -> None:
    one, other = create_visitor(client), create_visitor(client)
    create_vehicle(client, one["visitorId"], licensePlate="WX-222-YZ")
    create_vehicle(client, other["visitorId"], licensePlate="WX-333-YZ")
    values = {
        "visitorId": (one["visitorId"], other["visitorId"]),
        "barcode": (one["barcode"], other["barcode"]),
        "licensePlate": ("WX-222-YZ", "WX-333-YZ"),
    }
    first, second = mismatch
    body = {first: values[first][0], second: values[second][1]}
    seq = len(changes(client, entity="SmartParkingVisit"))
    found = error(enter(client, **body), 409)
    assert found["field"] == second
    assert body[first] in found["message"]
    assert body[second] in found["message"]
    assert one["visitorId"] in found["message"]
    assert other["visitorId"] in found["message"]
    assert len(changes(client, entity="SmartParkingVisit")) == seq  # nothing recorded


def test_two_ids_agree_and_the_third_differs(client: TestClient) -> None:
    one, other = create_visitor(client), create_visitor(client)
    create_vehicle(client, other["visitorId"], licensePlate="AA-444-BB")
    response = enter(client, visitorId=one["visitorId"], barcode=one["barcode"], licensePlate="AA-444-BB")
    assert error(response, 409)["field"] == "licensePlate"


# Resolution: missing and unknown ids ---------------------------------------------------------------


@pytest.mark.parametrize(
    "body", [{}, {"visitorId": None, "barcode": None}, {"barcode": "  ", "licensePlate": ""}]
)
def test_no_id_is_422_naming_the_three(client: TestClient, body: dict[str, Any]) -> None:
    assert fields(enter(client, **body), 422) == ["visitorId", "barcode", "licensePlate"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("visitorId", UNKNOWN_VISITOR), ("barcode", "0000000000000"), ("licensePlate", "ZZ-000-ZZ")],
)
def test_an_unknown_id_is_404_naming_it(client: TestClient, field: str, value: str) -> None:
    assert error(enter(client, **{field: value}), 404)["field"] == field


def test_an_unknown_id_beside_known_ones_is_404(client: TestClient, visitor: dict[str, Any]) -> None:
    response = enter(client, visitorId=visitor["visitorId"], barcode="0000000000000")
    assert error(response, 404)["field"] == "barcode"


def test_a_visitor_id_that_is_no_uuid_is_422(client: TestClient) -> None:
    assert error(enter(client, visitorId="not-a-uuid"), 422)["field"] == "visitorId"


def test_an_unknown_centre_is_422(client: TestClient, visitor: dict[str, Any]) -> None:
    response = client.post(
        "/smartparking/visits/entry", json={"pcCode": "XX-NONE", "visitorId": visitor["visitorId"]}
    )
    assert error(response, 422)["field"] == "pcCode"


def test_pc_code_and_visit_type_are_required(client: TestClient, visitor: dict[str, Any]) -> None:
    response = client.post("/smartparking/visits/entry", json={"visitorId": visitor["visitorId"]})
    assert error(response, 422)["field"] == "pcCode"
    response = client.post(
        "/smartparking/visits/parked", json={"visitorId": visitor["visitorId"], "pcCode": PC}
    )
    assert error(response, 422)["field"] == "visitType"


# The list of a centre's visits ------------------------------------------------------------------------


def test_list_is_a_bare_array_of_the_visitors_visits_at_the_centre(client: TestClient) -> None:
    visitor, other = create_visitor(client), create_visitor(client)
    create_vehicle(client, visitor["visitorId"], licensePlate="CC-123-DD")
    for visit_type in ("entry", "exit"):
        enter(client, visit_type, visitorId=visitor["visitorId"])
    enter(client, visitorId=other["visitorId"])
    client.post("/smartparking/visits/entry", json={"pcCode": "FR-SC-999", "visitorId": visitor["visitorId"]})
    response = client.get(f"/smartparking/centers/{PC}/visits", params={"licensePlate": "cc123dd"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body, list)
    assert [(v["visitorId"], v["visitType"]) for v in body] == [
        (visitor["visitorId"], "exit"),
        (visitor["visitorId"], "entry"),
    ]  # newest first
    exits = client.get(
        f"/smartparking/centers/{PC}/visits", params={"barcode": visitor["barcode"], "visitType": "exit"}
    )
    assert [v["visitType"] for v in exits.json()] == ["exit"]
    sorted_up = client.get(
        f"/smartparking/centers/{PC}/visits",
        params={"visitorId": visitor["visitorId"], "sort": "visitDate", "fields": "visitType"},
    )
    assert sorted_up.json() == [{"visitType": "entry"}, {"visitType": "exit"}]


def test_list_filters_on_visit_date(client: TestClient, visitor: dict[str, Any]) -> None:
    visit = enter(client, visitorId=visitor["visitorId"]).json()
    when = datetime.fromisoformat(visit["visitDate"])
    url = f"/smartparking/centers/{PC}/visits"
    base = {"visitorId": visitor["visitorId"]}
    assert len(client.get(url, params={**base, "visitDateSince": when.isoformat()}).json()) == 1
    later = (when + timedelta(seconds=1)).isoformat()
    assert client.get(url, params={**base, "visitDateSince": later}).json() == []
    earlier = (when - timedelta(seconds=1)).isoformat()
    assert client.get(url, params={**base, "visitDateUntil": earlier}).json() == []
    assert len(client.get(url, params={**base, "visitDateUntil": when.isoformat()}).json()) == 1


def test_list_resolves_ids_like_the_entry(client: TestClient, visitor: dict[str, Any]) -> None:
    url = f"/smartparking/centers/{PC}/visits"
    assert fields(client.get(url), 422) == ["visitorId", "barcode", "licensePlate"]
    assert error(client.get(url, params={"barcode": "0000000000000"}), 404)["field"] == "barcode"
    other = create_visitor(client)
    response = client.get(url, params={"visitorId": visitor["visitorId"], "barcode": other["barcode"]})
    assert error(response, 409)["field"] == "barcode"
    assert (
        error(client.get(url, params={"visitorId": str(uuid.uuid4()), "bogus": 1}), 400)["field"] == "bogus"
    )
