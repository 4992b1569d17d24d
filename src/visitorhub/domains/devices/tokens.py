"""Event tokens: HS256 JWTs that tell an event service which visitor of which company is calling."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta

import jwt
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from visitorhub.config import Settings
from visitorhub.core.db import unit_of_work
from visitorhub.core.secrets import secret_box
from visitorhub.models import ServerSecret

ALGORITHM = "HS256"
SECRET_NAME = "event_token_secret"


def kept_secret(sessions: sessionmaker[Session], name: str, keys: str | None) -> str:
    """The secret kept under `name`, generated (64 URL-safe characters) and stored on first use, sealed with
    `keys` when given. Several processes asking at once agree on one (the first stored wins).

    CORE-CANDIDATE: any feature needing a server-generated secret could use it (core.secrets)."""
    box = secret_box(keys)
    with unit_of_work(sessions) as session:
        row = session.get(ServerSecret, name)
        if row is None:
            value = secrets.token_urlsafe(48)
            try:
                with session.begin_nested():
                    session.add(ServerSecret(name=name, value=box.seal(value)))
                return value
            except IntegrityError:  # another process stored one first: use it
                row = session.get(ServerSecret, name, populate_existing=True)
                assert row is not None
        return box.open(row.value)


def signing_key(settings: Settings, sessions: sessionmaker[Session]) -> str:
    return settings.event_token_secret or kept_secret(sessions, SECRET_NAME, settings.secrets_key)


def issue(key: str, visitor_id: uuid.UUID, company_id: str, ttl_seconds: int) -> tuple[str, datetime]:
    """(the token, its expiry): claims visitorId, companyId, iat, exp (whole seconds)."""
    issued = datetime.now(UTC).replace(microsecond=0)
    expires = issued + timedelta(seconds=ttl_seconds)
    claims = {
        "visitorId": str(visitor_id),
        "companyId": company_id,
        "iat": int(issued.timestamp()),
        "exp": int(expires.timestamp()),
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM), expires
