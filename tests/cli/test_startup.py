"""What long-running commands say when they start: the unsealed-secrets warning, given once."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from tests.factories import create_visitor
from visitorhub.cli.common import unsealed_secrets, warn_unsealed_secrets
from visitorhub.config import Settings
from visitorhub.core.db import make_session_factory

BASIC = {"type": "basic", "username": "datx", "password": "s3cret-pw"}


def _subscribe(client: TestClient, name: str, auth: dict[str, str]) -> None:
    body = {"name": name, "stream": "visitors", "url": "https://receiver.example.com/hook", "auth": auth}
    response = client.post("/integration/subscriptions", json=body)
    assert response.status_code == 201, response.text


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "VISITORHUB_SECRETS_KEY is not set" in r.getMessage()]


def test_unsealed_secrets_are_counted_and_warned_of_once(
    client: TestClient, session: Session, connection: Connection, caplog: pytest.LogCaptureFixture
) -> None:
    factory = make_session_factory(connection)
    settings = Settings(database_url="sqlite://")
    assert unsealed_secrets(session) == 0
    with caplog.at_level(logging.WARNING, logger="visitorhub"):
        warn_unsealed_secrets(settings, factory, may_store=False)  # the worker: nothing stored, no warning
        assert _warnings(caplog) == []
        warn_unsealed_secrets(settings, factory, may_store=True)  # serve: the API may store some
        assert len(_warnings(caplog)) == 1
        assert "(0 stored now.)" in _warnings(caplog)[0]

    _subscribe(client, "plain", BASIC)
    _subscribe(client, "none", {"type": "none"})
    assert unsealed_secrets(session) == 1
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="visitorhub"):
        warn_unsealed_secrets(settings, factory, may_store=False)
        assert len(_warnings(caplog)) == 1
        assert "(1 stored now.)" in _warnings(caplog)[0]
        caplog.clear()
        sealed = Settings(database_url="sqlite://", secrets_key="a passphrase")
        warn_unsealed_secrets(sealed, factory, may_store=True)
        assert _warnings(caplog) == []  # with a key, no warning (and the plain one still opens)


def test_the_event_token_key_and_payment_tokens_count_as_unsealed_secrets(
    client: TestClient, session: Session
) -> None:
    from visitorhub.core.resource import declared

    visitor = create_visitor(client)["visitorId"]
    assert unsealed_secrets(session) == 0
    assert client.get(f"/visitors/{visitor}/event-token", params={"companyId": "37042"}).status_code == 200
    assert unsealed_secrets(session) == 1  # the generated signing key, kept in the database
    card = declared()["credit-cards"].example
    assert client.post(f"/visitors/{visitor}/credit-cards", json=card).status_code == 201, card
    session.expire_all()
    assert unsealed_secrets(session) == 2  # its payment-method token
