"""entervo fixtures: clients of the emulator (tests/integration/connectors/conftest.py serves it) with tiny
waits."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.integration.connectors.conftest import CLIENT_ID, CUSTOMER, PROJECT, SECRET
from visitorhub.integration.connectors.entervo.client import EntervoClient


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
