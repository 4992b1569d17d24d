"""Event tokens (seq 52): HS256 JWTs carrying visitorId, companyId, iat and exp, signed with the configured
secret or with one the service generates once and keeps."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from tests.conftest import bearer
from tests.domains.owned import UNKNOWN_VISITOR, error
from tests.factories import create_visitor
from visitorhub.app import create_app
from visitorhub.config import Settings
from visitorhub.core.secrets import secret_box
from visitorhub.domains.devices.tokens import SECRET_NAME
from visitorhub.models import ServerSecret

SECRET = "an-event-token-secret-of-at-least-32-characters"


@contextmanager
def app_client(connection: Connection, key: str, **settings: Any) -> Iterator[TestClient]:
    app = create_app(Settings(database_url="sqlite://", **settings), bind=connection)
    with TestClient(app, raise_server_exceptions=False, headers=bearer(key)) as client:
        yield client


def token_of(client: TestClient, visitor_id: str, company: str = "37042") -> dict[str, Any]:
    response = client.get(f"/visitors/{visitor_id}/event-token", params={"companyId": company})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"data", "metadata"}
    return body["data"]  # type: ignore[no-any-return]


def test_a_token_signed_with_the_configured_secret(connection: Connection, keys: dict[str, str]) -> None:
    with app_client(
        connection, keys["read"], event_token_secret=SECRET, event_token_ttl_seconds=120
    ) as client:
        with app_client(connection, keys["admin"]) as admin:
            visitor = create_visitor(admin)
        before = int(datetime.now(UTC).timestamp())
        data = token_of(client, visitor["visitorId"])
    claims = jwt.decode(data["token"], SECRET, algorithms=["HS256"])
    assert set(claims) == {"visitorId", "companyId", "iat", "exp"}
    assert (claims["visitorId"], claims["companyId"]) == (visitor["visitorId"], "37042")
    assert before - 1 <= claims["iat"] <= before + 5
    assert claims["exp"] - claims["iat"] == 120
    assert datetime.fromisoformat(data["expiresAt"]) == datetime.fromtimestamp(claims["exp"], UTC)
    assert data["expiresAt"].endswith("Z")
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(data["token"], SECRET + "x", algorithms=["HS256"])


def test_without_a_secret_one_is_generated_once_and_kept(
    connection: Connection, session: Session, keys: dict[str, str]
) -> None:
    passphrase = "a passphrase sealing stored secrets"
    with app_client(connection, keys["admin"], secrets_key=passphrase) as client:
        visitor = create_visitor(client)
        first = token_of(client, visitor["visitorId"])
    stored = session.scalars(select(ServerSecret).where(ServerSecret.name == SECRET_NAME)).one()
    assert stored.value.startswith("enc:")  # sealed at rest
    key = secret_box(passphrase).open(stored.value)
    assert jwt.decode(first["token"], key, algorithms=["HS256"])["companyId"] == "37042"
    # Another process (another app) on the same database signs with the same kept key.
    with app_client(connection, keys["read"], secrets_key=passphrase) as other:
        second = token_of(other, visitor["visitorId"], company="9")
    assert jwt.decode(second["token"], key, algorithms=["HS256"])["companyId"] == "9"


def test_company_id_is_required_and_the_visitor_must_exist(client: TestClient) -> None:
    visitor = create_visitor(client)
    assert error(client.get(f"/visitors/{visitor['visitorId']}/event-token"), 422)["field"] == "companyId"
    response = client.get(f"/visitors/{UNKNOWN_VISITOR}/event-token", params={"companyId": "1"})
    assert error(response, 404)["field"] == "visitorId"


def test_a_short_configured_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="event_token_secret"):
        Settings(database_url="sqlite://", event_token_secret="too-short")
