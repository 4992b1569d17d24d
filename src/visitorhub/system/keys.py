"""Revoking an API key, for the API and the CLI: never the last active admin key, which would leave the
service with no key able to manage keys (only a shell on the host could make one again)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from visitorhub.core import auth
from visitorhub.errors import Conflict
from visitorhub.models.apikey import ApiKey


# CORE-CANDIDATE: belongs in core.auth.revoke_key (core is not this branch's to edit).
def revoke(session: Session, key_id: int) -> ApiKey:
    """Revoke key `key_id` (404 when unknown; revoking a revoked key keeps its first revocation time);
    409 when it is the last active admin key."""
    key = session.get(ApiKey, key_id)
    if key is not None and key.scope == "admin" and key.revoked_at is None:
        # Lock the active admin keys: two concurrent revocations of the last two cannot both pass.
        active = session.scalars(
            select(ApiKey.id).where(ApiKey.scope == "admin", ApiKey.revoked_at.is_(None)).with_for_update()
        ).all()
        if set(active) <= {key_id}:
            raise Conflict(
                f"API key {key_id} is the last active admin key: revoking it would leave no key able to "
                "manage keys. Create another admin key first (POST /keys or `visitorhub keys create NAME "
                "--scope admin`), then revoke this one.",
                field="keyId",
                code="last_admin_key",
            )
    return auth.revoke_key(session, key_id)
