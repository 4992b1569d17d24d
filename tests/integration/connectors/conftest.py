"""Connector fixtures: the entervo emulator served over real HTTP on 127.0.0.1 (one uvicorn server for the
session; each test gets a fresh emulator app behind it)."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.asgi_servers import AsgiServer, serving
from visitorhub.integration.connectors.entervo.emulator import Emulator, Tenant, create_emulator
from visitorhub.models import Visitor

PROJECT = "yourproject"
CLIENT_ID = "B2C_yourproject"
SECRET = "s3cr3t-emulator-Zq9"
CUSTOMER = "C2024EmuLat0r"
OTHER = Tenant("otherproject", "B2C_otherproject", "other-s3cr3t", ("C2024Oth3rOne",))


class Swappable:
    """An ASGI app that forwards to whichever app the current test set."""

    def __init__(self) -> None:
        self.app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


@pytest.fixture(scope="session")
def _swappable() -> Swappable:
    return Swappable()


@pytest.fixture
def swappable(_swappable: Swappable) -> Swappable:
    """The server's app slot, for a test that serves an emulator of its own."""
    return _swappable


@pytest.fixture(scope="session")
def _server(_swappable: Swappable) -> Iterator[AsgiServer]:
    with serving(_swappable) as server:
        yield server


@pytest.fixture(scope="session")
def http() -> Iterator[httpx.Client]:
    """For raw requests to the emulator (one client: building one costs ~40 ms of TLS set-up)."""
    with httpx.Client() as client:
        yield client


@pytest.fixture
def emulator_app(_swappable: Swappable) -> FastAPI:
    app = create_emulator(PROJECT, CLIENT_ID, SECRET, CUSTOMER, tenants=[OTHER])
    _swappable.app = app
    return app


@pytest.fixture
def emulator(emulator_app: FastAPI) -> Emulator:
    return emulator_app.state.emulator  # type: ignore[no-any-return]


@pytest.fixture
def url(_server: AsgiServer, emulator_app: FastAPI) -> str:
    return _server.url


CONTRACT = "A2024XW3pYsa2f"
PRODUCT = "PP000053"
_names = itertools.count(1)


def connector_settings(url: str, **overrides: Any) -> dict[str, Any]:
    """entervo settings for the emulator at `url`, with waits in milliseconds."""
    settings: dict[str, Any] = {
        "baseUrl": url,
        "project": PROJECT,
        "clientId": CLIENT_ID,
        "clientSecret": SECRET,
        "customerBusinessId": CUSTOMER,
        "contractBusinessId": CONTRACT,
        "productIds": [PRODUCT],
        "backoffSeconds": 0.001,
        "maxRetryAfterSeconds": 0.01,
        "timeoutSeconds": 2,
    }
    settings.update(overrides)
    return settings


def create_connector(
    client: TestClient, url: str, settings: dict[str, Any] | None = None, **overrides: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": f"parking-{next(_names)}",
        "kind": "entervo",
        "settings": connector_settings(url, **(settings or {})),
    }
    body.update(overrides)
    response = client.post("/integration/connectors", json=body)
    assert response.status_code == 201, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def sync(client: TestClient, connector_id: int, **body: Any) -> dict[str, Any]:
    response = client.post(f"/integration/connectors/{connector_id}/sync", json=body)
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


_seeded = itertools.count(1)


def seed_visitors(session: Session, count: int, plates: int = 1, **values: Any) -> list[str]:
    """`count` visitors with `plates` vehicles each, through the services (fast), committed."""
    from visitorhub.domains.vehicles.resources import vehicles
    from visitorhub.domains.visitors.resources import visitors

    ids = []
    for _ in range(count):
        n = next(_seeded)
        visitor = visitors.service.create(
            session,
            {
                "email": f"seed{n}@example.com",
                "first_name": "Ann",
                "last_name": f"Lee {n}",
                "country_code": "FR",
            }
            | values,
        )
        for plate in range(plates):
            vehicles.service.create(
                session,
                {
                    "visitor_id": visitor.visitor_id,
                    "license_plate": f"SD-{n:04d}-{plate}",
                    "license_plate_country": "FR",
                },
            )
        ids.append(str(visitor.visitor_id))
    session.commit()
    return ids


def delete_visitor(session: Session, visitor_id: str) -> None:
    """Delete a visitor (with its vehicles) through the write path, committed."""
    from visitorhub.domains.visitors.resources import visitors

    visitor = session.get(Visitor, uuid.UUID(visitor_id))
    assert visitor is not None
    visitors.service.delete(session, visitor)
    session.commit()


def consumers_by_reference(emulator: Emulator) -> dict[str, dict[str, Any]]:
    return {c["externalReference"]: c for c in emulator.consumers(PROJECT)}
