"""Channel fixtures: one visitorhub per test module, on a database of its own, served by uvicorn on
127.0.0.1, so that senders talk to it over real HTTP; each test makes channels of its own on it."""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from tests.asgi_servers import serving
from tests.conftest import new_database
from visitorhub.app import create_app
from visitorhub.config import Settings
from visitorhub.core import auth
from visitorhub.core.db import unit_of_work
from visitorhub.models import ChangeLogEntry, ChannelRecord, ExternalId, Visitor

MAX_BODY_BYTES = 64 * 1024
_names = itertools.count(1)

# S-360 contacts (ContactDataResult, a few fields) to a Visitor keyed by e-mail, with the contact number as
# its crm_id external id.
CONTACTS_TEMPLATE: dict[str, Any] = {
    "direction": "in",
    "entities": [
        {
            "type": "Visitor",
            "key": ["email"],
            "defaults": {"gender": "u", "countryCode": "FR", "acquisitionPcCode": "FR-SC-123"},
            "fields": [
                {"source": "email", "field": "email", "transforms": ["trim", "lower"]},
                {"source": "individualContact.firstName", "field": "firstName"},
                {"source": "individualContact.lastName", "field": "lastName"},
            ],
        },
        {
            "type": "ExternalId",
            "key": ["externalType", "externalId"],
            "defaults": {"externalType": "crm_id"},
            "fields": [{"source": "contactNumber", "field": "externalId"}],
        },
    ],
}


@dataclass
class Hub:
    """A visitorhub served on loopback: `admin` speaks to its API with an admin key; `send` POSTs to it as a
    sender does (no API key)."""

    app: FastAPI
    base: str
    database_url: str
    admin: httpx.Client

    def send(self, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        if body is not None:
            kwargs["content"] = body if isinstance(body, bytes) else json.dumps(body).encode()
            kwargs.setdefault("headers", {}).setdefault("Content-Type", "application/json")
        return httpx.post(f"{self.base}/inbound/{path}", timeout=30, **kwargs)

    def template(self, body: dict[str, Any], name: str | None = None) -> str:
        name = name or f"tpl-{next(_names)}"
        response = self.admin.put(
            f"/integration/templates/{name}",
            content=json.dumps({"name": name, **body}),
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code in (200, 201), response.text
        return name

    def channel(self, **overrides: Any) -> dict[str, Any]:
        """A channel with a unique name and path (`idField` id unless given)."""
        n = next(_names)
        body: dict[str, Any] = {"name": f"channel-{n}", "path": f"test/{n}/myvenue", "idField": "id"}
        body.update(overrides)
        response = self.admin.post("/integration/channels", json=body)
        assert response.status_code == 201, response.text
        return response.json()["data"]  # type: ignore[no-any-return]

    def contacts_channel(self, **overrides: Any) -> dict[str, Any]:
        return self.channel(idField="contactNumber", template=self.template(CONTACTS_TEMPLATE), **overrides)

    def records(self, channel: dict[str, Any], **params: Any) -> list[dict[str, Any]]:
        response = self.admin.get(
            f"/integration/channels/{channel['channelId']}/records", params={"limit": 500, **params}
        )
        assert response.status_code == 200, response.text
        return response.json()["data"]  # type: ignore[no-any-return]

    def read(self, channel: dict[str, Any]) -> dict[str, Any]:
        response = self.admin.get(f"/integration/channels/{channel['channelId']}")
        assert response.status_code == 200, response.text
        return response.json()["data"]  # type: ignore[no-any-return]

    def count(self, model: Any, *where: Any) -> int:
        with unit_of_work(self.app.state.sessions) as session:
            return session.scalar(select(func.count()).select_from(model).where(*where)) or 0

    def visitors(self, *emails: str) -> int:
        return self.count(Visitor, Visitor.email.in_(emails))

    def visitor_changes(self, *emails: str) -> int:
        """Change records of the visitors with these e-mails (their representation names the e-mail)."""
        with unit_of_work(self.app.state.sessions) as session:
            ids = [
                str(v) for v in session.scalars(select(Visitor.visitor_id).where(Visitor.email.in_(emails)))
            ]
            stmt = select(func.count()).where(
                ChangeLogEntry.entity == "Visitor", ChangeLogEntry.entity_id.in_(ids)
            )
            return session.scalar(stmt) or 0

    def stored(self, channel: dict[str, Any]) -> int:
        return self.count(ChannelRecord, ChannelRecord.channel_id == channel["channelId"])

    def external_ids(self, *numbers: str) -> int:
        return self.count(ExternalId, ExternalId.external_id.in_(numbers))


@contextmanager
def running_hub(database_url: str, **settings: Any) -> Iterator[Hub]:
    settings.setdefault("max_body_bytes", MAX_BODY_BYTES)
    app = create_app(Settings(database_url=database_url, allow_private_targets=True, **settings))
    with unit_of_work(app.state.sessions) as session:
        _row, key = auth.create_key(session, f"admin-{uuid.uuid4().hex[:6]}", "admin")
    try:
        with (
            serving(app) as server,
            httpx.Client(
                base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=30
            ) as admin,
        ):
            yield Hub(app, server.url, database_url, admin)
    finally:
        app.state.engine.dispose()


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    with new_database(tmp_path_factory.mktemp("channels")) as url, running_hub(url) as served:
        yield served


def visitor_template(email_from: str = "email", first_name_from: str = "first") -> dict[str, Any]:
    """An `in` template mapping a flat record (e-mail, first and last name) to a Visitor keyed by e-mail."""
    return {
        "direction": "in",
        "entities": [
            {
                "type": "Visitor",
                "key": ["email"],
                "defaults": {"gender": "u", "countryCode": "FR", "acquisitionPcCode": "FR-SC-1"},
                "fields": [
                    {"source": email_from, "field": "email"},
                    {"source": first_name_from, "field": "firstName"},
                    {"source": "last", "field": "lastName"},
                ],
            }
        ],
    }


def contact(number: int, **overrides: Any) -> dict[str, Any]:
    """An S-360 contact as the contact webhook pushes it (a few ContactDataResult fields)."""
    unique = uuid.uuid4().hex[:8]  # test modules share a database: contacts never collide
    body: dict[str, Any] = {
        "contactNumber": f"C{number:04d}-{unique}",
        "contactId": 10228844446468 + number,
        "email": f"contact.{number}.{unique}@example.com",
        "individualContact": {"firstName": "Ann", "lastName": "Smith"},
    }
    body.update(overrides)
    return body


def ticket_check(number: int, **overrides: Any) -> dict[str, Any]:
    """An access-control check as the seed's data export webhook pushes it."""
    body: dict[str, Any] = {
        "ticket_check_id": 10228845124401 + number,
        "movement_id": 10228844462196,
        "ticket_id": 10228844446468,
        "barcode": "072212349924430836880155",
        "access_time": "2023-02-09 18:25:10",
        "check_flow": "IN",
        "result": "OK",
        "failure_reason": "NO_FAIL",
    }
    body.update(overrides)
    return body
