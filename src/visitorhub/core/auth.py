"""API keys: generation, hashing, and the scope check on every non-public route."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.orm import Session

from visitorhub.core.db import get_or_404, utcnow
from visitorhub.core.deps import DbSession
from visitorhub.errors import Forbidden, Unauthorized
from visitorhub.models.apikey import ApiKey

SCOPES = ("read", "write", "admin")
KEY_PREFIX = "vh_"
bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer vh_...`")


def digest(key: str) -> str:
    # Keys are 256-bit random strings, so a fast hash is enough; no salt or KDF is needed.
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(session: Session, name: str, scope: str) -> tuple[ApiKey, str]:
    """Store a new key and return it with its plain text, which is never stored nor shown again."""
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}")
    plain = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(name=name, scope=scope, prefix=plain[:10], digest=digest(plain), creation_date=utcnow())
    session.add(key)
    session.flush()
    return key, plain


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


def revoke_key(session: Session, key_id: int) -> ApiKey:
    key = get_or_404(session, ApiKey, key_id, what=f"API key {key_id}", field="keyId")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.flush()
    return key


def has_any_key(session: Session) -> bool:
    return session.scalar(select(ApiKey.id).limit(1)) is not None


def grants(held: str, needed: str) -> bool:
    """Scopes are ordered: admin can do what write can, write what read can."""
    return SCOPES.index(held) >= SCOPES.index(needed)


def require(scope: str) -> Callable[..., Any]:
    """Dependency: a valid, unrevoked key whose scope covers `scope`."""

    def check(
        request: Request,
        session: DbSession,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> None:
        # The lookup runs in the request's own transaction (FastAPI shares the DbSession dependency).
        if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
            raise Unauthorized("Missing API key: send 'Authorization: Bearer <key>'.")
        key = session.scalar(select(ApiKey).where(ApiKey.digest == digest(credentials.credentials)))
        if key is None or key.revoked_at is not None:
            raise Unauthorized("Invalid or revoked API key.")
        if not grants(key.scope, scope):
            raise Forbidden(f"This operation needs the '{scope}' scope; the key has '{key.scope}'.")
        request.state.api_key_name = key.name

    return check
