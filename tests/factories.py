"""Request bodies and records for tests: plain functions, overrides as keyword arguments."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

_counter = itertools.count(1)


def visitor_body(**overrides: Any) -> dict[str, Any]:
    n = next(_counter)
    body: dict[str, Any] = {
        "lastName": "Smith",
        "firstName": "John",
        "email": f"visitor{n}@example.com",
        "gender": "m",
        "acquisitionPcCode": "FR-SC-123",
        "countryCode": "FR",
        "optins": [{"optinChannel": "sms", "optinType": "commercial", "isActive": True}],
    }
    body.update(overrides)
    return body


def partial_visitor_body(**overrides: Any) -> dict[str, Any]:
    n = next(_counter)
    body: dict[str, Any] = {
        "firstName": "Jane",
        "email": f"partial{n}@example.com",
        "countryCode": "FR",
        "preferredCenter": "FR-SC-123",
        "optins": [{"optinChannel": "email", "optinType": "center", "isActive": True}],
    }
    body.update(overrides)
    return body


def center_body(**overrides: Any) -> dict[str, Any]:
    n = next(_counter)
    body: dict[str, Any] = {
        "pcCode": f"C-{n:05d}",
        "label": f"Centre {n}",
        "country": "FR",
        "isWestfield": True,
    }
    body.update(overrides)
    return body


def vehicle_body(**overrides: Any) -> dict[str, Any]:
    n = next(_counter)
    body: dict[str, Any] = {"licensePlate": f"AB-{n:03d}-CD", "maker": "Renault", "licensePlateCountry": "FR"}
    body.update(overrides)
    return body


def create_visitor(client: TestClient, **overrides: Any) -> dict[str, Any]:
    response = client.post("/visitors", json=visitor_body(**overrides))
    assert response.status_code == 201, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def create_center(client: TestClient, **overrides: Any) -> dict[str, Any]:
    response = client.post("/centers", json=center_body(**overrides))
    assert response.status_code == 201, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def create_vehicle(client: TestClient, visitor_id: str, **overrides: Any) -> dict[str, Any]:
    response = client.post(f"/visitors/{visitor_id}/vehicles", json=vehicle_body(**overrides))
    assert response.status_code == 201, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def changes(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/changes", params={"limit": 500, **params})
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def external_id_body(**overrides: Any) -> dict[str, Any]:
    n = next(_counter)
    body: dict[str, Any] = {"externalId": f"ext-{n:05d}", "pcCode": "FR-SC-123", "externalType": "designa"}
    body.update(overrides)
    return body


def create_partial_visitor(client: TestClient, **overrides: Any) -> dict[str, Any]:
    response = client.post("/visitors/partial", json=partial_visitor_body(**overrides))
    assert response.status_code == 201, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def create_external_id(client: TestClient, visitor_id: str, **overrides: Any) -> dict[str, Any]:
    response = client.post(f"/visitors/{visitor_id}/external-ids", json=external_id_body(**overrides))
    assert response.status_code == 201, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def add_external_id(
    session: Session, visitor_id: str, external_type: str, external_id: str, pc_code: str | None = None
) -> None:
    """Store an external id through the service, as a non-API entry point would: for types the seed's create
    operation does not list (analytics, pas_barcode, fid_barcode). Committed, so the app's requests see it."""
    from visitorhub.domains.visitors.resources import external_ids

    external_ids.service.create(
        session,
        {
            "visitor_id": uuid.UUID(visitor_id),
            "external_type": external_type,
            "external_id": external_id,
            "pc_code": pc_code,
        },
    )
    session.commit()


_subscription_names = itertools.count(1)


def create_subscription(client: TestClient, url: str, **overrides: Any) -> dict[str, Any]:
    """A stream subscription of `visitors` to `url` (a unique name unless given)."""
    body: dict[str, Any] = {
        "name": f"subscription-{next(_subscription_names)}",
        "stream": "visitors",
        "url": url,
    }
    body.update(overrides)
    response = client.post("/integration/subscriptions", json=body)
    assert response.status_code == 201, response.text
    return response.json()["data"]  # type: ignore[no-any-return]
