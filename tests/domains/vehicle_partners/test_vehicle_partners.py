"""Vehicle partners (seq 131-134): the vehicle and visitor-centre are the visitor's own, a partner's id is one
vehicle's, and the partner-to-centre mappings."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.domains.owned import error, ok
from tests.factories import create_center, create_vehicle, create_visitor


class Owner:
    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.visitor = create_visitor(client)
        self.base = f"/visitors/{self.visitor['visitorId']}/vehicle-partners"
        self.vehicle = create_vehicle(client, self.visitor["visitorId"])

    def body(self, **overrides: Any) -> dict[str, Any]:
        body = {
            "vehicleId": self.vehicle["vehicleId"],
            "partnerId": "123-ABC-123",
            "parkingPartner": "smartparking_us",
        }
        body.update(overrides)
        return body


@pytest.fixture
def owner(client: TestClient) -> Owner:
    return Owner(client)


def test_create_list_delete(client: TestClient, owner: Owner) -> None:
    created = ok(
        client.post(owner.base, json=owner.body(visitorId=owner.visitor["visitorId"], pcCode="FR-SC-700")),
        201,
    )
    assert (created["visitorId"], created["pcCode"]) == (owner.visitor["visitorId"], "FR-SC-700")
    assert [p["vehiclePartnerId"] for p in ok(client.get(owner.base))] == [created["vehiclePartnerId"]]
    assert client.delete(f"{owner.base}/{created['vehiclePartnerId']}").status_code == 204
    assert ok(client.get(owner.base)) == []


def test_the_vehicle_visitor_centre_and_centre_must_exist(client: TestClient, owner: Owner) -> None:
    assert error(client.post(owner.base, json=owner.body(vehicleId=987654)), 422)["field"] == "vehicleId"
    assert error(client.post(owner.base, json=owner.body(pcCode="XX-NONE")), 422)["field"] == "pcCode"
    visitor_centers = f"/visitors/{owner.visitor['visitorId']}/centers"
    link = ok(client.post(visitor_centers, json={"pcCode": "FR-SC-700", "isFavorite": True}), 201)
    ok(client.post(owner.base, json=owner.body(visitorCenterId=link["visitorCenterId"])), 201)
    response = client.post(owner.base, json=owner.body(partnerId="other", visitorCenterId=987654))
    assert error(response, 422)["field"] == "visitorCenterId"


def test_a_partners_id_belongs_to_one_vehicle(client: TestClient, owner: Owner) -> None:
    ok(client.post(owner.base, json=owner.body(pcCode="FR-SC-1")), 201)
    stranger = Owner(client)
    clash = client.post(stranger.base, json=stranger.body(pcCode="FR-SC-1"))
    assert error(clash, 409)["field"] == "partnerId"
    ok(client.post(stranger.base, json=stranger.body(pcCode="FR-SC-2")), 201)
    ok(client.post(stranger.base, json=stranger.body(pcCode="FR-SC-1", parkingPartner="designa")), 201)
    ok(client.post(owner.base, json=owner.body()), 201)  # no pcCode: a key of its own
    assert error(client.post(stranger.base, json=stranger.body()), 409)["field"] == "partnerId"


def test_mappings_list_each_partners_centres_by_country(client: TestClient) -> None:
    create_center(client, pcCode="FR-MAP-2", parkingPartner="designa", isActive=True)
    create_center(client, pcCode="FR-MAP-1", parkingPartner="designa", isActive=False)
    create_center(client, pcCode="US-MAP-1", country="US", parkingPartner="smartparking_us", isActive=True)
    create_center(client, pcCode="FR-MAP-3")  # no partner
    response = client.get("/vehicle-partners/mappings")
    body = response.json()
    assert response.status_code == 200, response.text
    assert body["data"]["designa"]["FR"] == ["FR-MAP-1", "FR-MAP-2"]
    assert body["data"]["smartparking_us"] == {"US": ["US-MAP-1"]}
    assert all("FR-MAP-3" not in codes for countries in body["data"].values() for codes in countries.values())
    active = client.get("/vehicle-partners/mappings", params={"isActive": "true"}).json()["data"]
    assert active["designa"] == {"FR": ["FR-MAP-2"]}
