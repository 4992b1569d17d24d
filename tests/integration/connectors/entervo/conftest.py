"""entervo fixtures: the emulator served over real HTTP on 127.0.0.1, and clients of it with tiny waits.

One uvicorn server serves the whole session; each test gets a fresh emulator app behind it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.asgi_servers import AsgiServer, serving
from visitorhub.integration.connectors.entervo.client import EntervoClient
from visitorhub.integration.connectors.entervo.emulator import Emulator, Tenant, create_emulator

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


@pytest.fixture
def make_client(url: str) -> Iterator[Callable[..., EntervoClient]]:
    """Clients of the emulator: private targets allowed (loopback), backoff and waits in milliseconds."""
    made: list[EntervoClient] = []

    def make(**overrides: Any) -> EntervoClient:
        options: dict[str, Any] = {
            "base_url": url,
            "project": PROJECT,
            "client_id": CLIENT_ID,
            "client_secret": SECRET,
            "customer_business_id": CUSTOMER,
            "allow_private": True,
            "backoff_initial": 0.001,
            "backoff_max": 0.01,
            "max_retry_after": 0.05,
            "timeout": 2.0,
        }
        options.update(overrides)
        client = EntervoClient(**options)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def client(make_client: Callable[..., EntervoClient]) -> EntervoClient:
    return make_client()


class Sleeps:
    """A stand-in for time.sleep that records the waits asked for instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def consumer(reference: str | None = "EMP12345", **fields: Any) -> dict[str, Any]:
    """A consumer body like the documented example."""
    body: dict[str, Any] = {
        "firstName": "First",
        "lastName": "Last",
        "email": "test@mail.de",
        "externalReference": reference,
        "costCenter": "Cost center",
        "mediums": [
            {
                "type": "LICENSEPLATE",
                "value": "MM5478",
                "encoding": "HEX",
                "licencePlateRegion": {"code": "M", "country": "DEU"},
            }
        ],
        "contract": {"businessId": "A2024XW3pYsa2f", "products": ["PP000053"]},
    }
    body.update(fields)
    return body
