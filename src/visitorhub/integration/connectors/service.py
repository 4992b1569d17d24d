"""Connectors as configuration: validate and store them (secrets sealed, URLs checked), read them back
without secrets, and open their settings for a sync.

Connectors are configuration, not visitor data: they are not written to the change log.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from visitorhub.config import Settings
from visitorhub.core import changelog
from visitorhub.core.db import get_or_404, utcnow
from visitorhub.core.http import UnsafeTarget, check_url_on_save
from visitorhub.core.secrets import secret_box
from visitorhub.errors import Conflict, InvalidInput, NotFound, ValidationErrors
from visitorhub.handlers import field_path
from visitorhub.integration.connectors import KINDS, mirror
from visitorhub.integration.connectors.base import Connector as ConnectorKind
from visitorhub.integration.connectors.schemas import ConnectorCreate, ConnectorRead, ConnectorUpdate
from visitorhub.integration.connectors.selection import VisitorFilter
from visitorhub.models import Connector, ConnectorRun

# Stands for a stored secret while merged settings are validated (then the stored one is put back); plain
# text, as every text is validated storable (no NUL).
_PLACEHOLDER = "sealed-secret-placeholder"


def kind_of(name: str) -> type[ConnectorKind]:
    spec = KINDS.get(name)
    if spec is None:
        raise InvalidInput(
            f"kind: '{name}' is not a connector kind; choose one of {', '.join(sorted(KINDS))}.",
            field="kind",
            code="unknown_kind",
        )
    return spec


def _validated(spec: type[ConnectorKind], raw: dict[str, Any]) -> BaseModel:
    try:
        return spec.settings_model.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = field_path(tuple(err.get("loc", ())))
            field = f"settings.{where}" if where else "settings"
            problems.append((field, "invalid", f"{field}: {err.get('msg', 'invalid')}"))
        raise ValidationErrors(problems) from None


def _check_urls(spec: type[ConnectorKind], values: dict[str, Any], settings: Settings) -> None:
    for name in sorted(spec.url_fields):
        url = values.get(name)
        if url is None:
            continue
        try:
            check_url_on_save(url, settings.allow_private_targets)
        except UnsafeTarget as exc:
            raise InvalidInput(
                f"settings.{name}: {exc}", field=f"settings.{name}", code="unsafe_url"
            ) from None


def _stored(spec: type[ConnectorKind], parsed: BaseModel, settings: Settings) -> dict[str, Any]:
    """The settings as stored: their camelCase JSON form, each secret sealed."""
    box = secret_box(settings.secrets_key)
    values = parsed.model_dump(mode="json", by_alias=True)
    return {
        key: box.seal(value) if key in spec.secret_fields and isinstance(value, str) else value
        for key, value in values.items()
    }


def redact(spec: type[ConnectorKind], stored: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in stored.items() if key not in spec.secret_fields}


def open_settings(spec: type[ConnectorKind], stored: dict[str, Any], settings: Settings) -> BaseModel:
    """The settings ready for a sync (secrets opened); SecretUnavailable when the keys cannot open one."""
    box = secret_box(settings.secrets_key)
    opened = {
        key: box.open(value) if key in spec.secret_fields and isinstance(value, str) else value
        for key, value in stored.items()
    }
    return spec.settings_model.model_validate(opened)


def _check_name_free(session: Session, name: str, own_id: int | None = None) -> None:
    other = session.scalar(select(Connector.id).where(Connector.name == name))
    if other is not None and other != own_id:
        raise Conflict(f"A connector named '{name}' already exists.", field="name", code="duplicate")


def create_connector(session: Session, body: ConnectorCreate, settings: Settings) -> Connector:
    spec = kind_of(body.kind)
    parsed = _validated(spec, body.settings)
    stored = _stored(spec, parsed, settings)
    _check_urls(spec, stored, settings)
    _check_name_free(session, body.name)
    now = utcnow()
    row = Connector(
        name=body.name,
        kind=body.kind,
        enabled=body.enabled,
        schedule=body.schedule,
        interval_minutes=body.interval_minutes,
        full_sync_hours=body.full_sync_hours,
        settings=stored,
        filter=body.filter.model_dump(mode="json", by_alias=True),
        # The first sync is a full one; it places the cursor.
        cursor_seq=0,
        full_sync_pending=True,
        next_run_at=now,
        call_totals={},
        record_totals={},
        creation_date=now,
        update_date=now,
    )
    session.add(row)
    session.flush()
    return row


def update_connector(session: Session, row: Connector, body: ConnectorUpdate, settings: Settings) -> None:
    """Apply a PATCH. A new filter or new mapping settings make the next sync a full one; settings that
    point at another remote data set (another host, project or customer) also forget the mirror."""
    changes_ = body.model_dump(exclude_unset=True)
    if changes_.pop("kind", row.kind) != row.kind:
        raise InvalidInput(
            "kind: a connector's kind cannot change; create another connector.",
            field="kind",
            code="immutable",
        )
    spec = kind_of(row.kind)
    if "name" in changes_:
        _check_name_free(session, changes_["name"], row.id)
    if "settings" in changes_:
        given: dict[str, Any] = changes_.pop("settings")
        current = dict(row.settings)
        merged = dict(current)
        for key, value in given.items():
            if value is None:
                merged.pop(key, None)  # back to the default
            else:
                merged[key] = value
        # Validate with stand-ins for the stored secrets (sealed values may exceed the plain ones' limits).
        probe = {
            key: _PLACEHOLDER if key in spec.secret_fields and key not in given and value else value
            for key, value in merged.items()
        }
        parsed = _validated(spec, probe)
        stored = _stored(spec, parsed, settings)
        for key in spec.secret_fields:
            if stored.get(key) is not None and key not in given:
                stored[key] = current[key]
        _check_urls(spec, stored, settings)
        changed = {key for key in stored.keys() | current.keys() if stored.get(key) != current.get(key)}
        if changed & spec.identity_fields:
            mirror.forget_all(session, row.id)
            row.full_sync_pending = True
        if changed & spec.mapping_fields:
            row.full_sync_pending = True
        row.settings = stored
    if "filter" in changes_:
        new_filter = body.filter.model_dump(mode="json", by_alias=True)
        changes_.pop("filter")
        if new_filter != row.filter:
            row.filter = new_filter
            row.full_sync_pending = True
    for key, value in changes_.items():
        setattr(row, key, value)
    if row.enabled and row.next_run_at is None:
        row.next_run_at = utcnow()
    if "schedule" in changes_ or "interval_minutes" in changes_:
        row.next_run_at = utcnow()
    row.update_date = utcnow()
    session.flush()


def delete_connector(session: Session, row: Connector) -> None:
    """The connector, its mirror and run log go; the remote records stay as they are."""
    session.delete(row)
    session.flush()


def get_connector(session: Session, connector_id: int) -> Connector:
    row = get_or_404(session, Connector, connector_id, what=f"Connector {connector_id}", field="connectorId")
    return row


def get_by_name(session: Session, name: str) -> Connector:
    row = session.scalar(select(Connector).where(Connector.name == name))
    if row is None:
        raise NotFound(f"Connector '{name}' does not exist.", field="name")
    return row


def list_connectors(session: Session, offset: int = 0, limit: int | None = None) -> list[Connector]:
    stmt = select(Connector).order_by(Connector.id).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt))


def get_run(session: Session, connector_id: int, run_id: int) -> ConnectorRun:
    run = session.get(ConnectorRun, run_id)
    if run is None or run.connector_id != connector_id:
        raise NotFound(f"Run {run_id} of connector {connector_id} does not exist.", field="runId")
    return run


def lag(session: Session, row: Connector) -> int:
    """Change records after the cursor of the entities the connector follows."""
    keep = VisitorFilter.model_validate(row.filter)
    return changelog.count_after(session, keep.entities(), row.cursor_seq)


def represent(session: Session, row: Connector) -> dict[str, Any]:
    spec = KINDS.get(row.kind)
    read = ConnectorRead.model_validate(row).model_copy(
        update={
            "settings": redact(spec, row.settings) if spec else {},
            "lag": lag(session, row),
            "records": mirror.count(session, row.id),
            "failed_records": mirror.count(session, row.id, mirror.FAILED),
        }
    )
    return read.as_json()
