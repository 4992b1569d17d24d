"""Exports: rows shaped by an `out` template, one page of root records at a time, optionally only those
changed since an instant (the change log answers for deleted children)."""

from __future__ import annotations

import base64
import itertools
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, CompoundSelect, Dialect, Select, Uuid, cast, func, select, union
from sqlalchemy.orm import Session

from visitorhub.core import changelog
from visitorhub.integration.templates.planning import EntityPlan, compile_template
from visitorhub.integration.templates.spec import Template


def encode_cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(str(value).encode()).decode().rstrip("=")


class InvalidCursor(ValueError):
    """A cursor this engine did not hand out (or one of another template's root entity)."""


def decode_cursor(cursor: str) -> str:
    padded = cursor + "=" * (-len(cursor) % 4)
    try:
        return base64.urlsafe_b64decode(padded.encode()).decode()
    except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
        raise InvalidCursor(f"'{cursor}' is not a cursor returned by a previous page") from None


def _set_path(out: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    current = out
    for part in parts[:-1]:
        current = current.setdefault(part, {})
    current[parts[-1]] = value


def export_fields(plan: EntityPlan, representation: dict[str, Any] | None, row: dict[str, Any]) -> None:
    """Write one entity's mapped fields into an outside row: each outside name (dotted paths nest) gets
    the API field through the export transforms; no representation (a missing child) gives nulls."""
    for f in plan.fields:
        value = representation.get(f.api_field) if representation else None
        if f.pipeline is not None and representation is not None:
            value = f.pipeline(value, representation, export=True)
        _set_path(row, f.source, value)


def _changed_since(session: Session, plans: list[EntityPlan], since: datetime) -> CompoundSelect[Any]:
    """The ids of the root records whose row changed after `since`: the root or one of its children was
    created or updated after it (update dates), or one of its children was deleted after it (its delete
    record in the change log holds its last API representation, parent id included). One id list the
    database builds once per page: a page costs the changes since `since`, not a scan of the root table."""
    root: Any = plans[0].entity.model
    pk = getattr(root, plans[0].entity.service.pk_attr)
    parts: list[Select[Any]] = [select(pk).where(root.update_date > since)]
    dialect = session.get_bind().dialect
    for plan in plans[1:]:
        child: Any = plan.entity.model
        assert plan.parent_attr
        field = plan.entity.parent_field
        assert field

        def parent_id(data: Any, field: str = field) -> ColumnElement[Any]:
            return _as_stored(data[field], pk, dialect)

        parts.append(select(getattr(child, plan.parent_attr)).where(child.update_date > since))
        deleted = changelog.deleted_since(session, plan.entity.entity, since, parent_id)
        if deleted is not None:
            parts.append(deleted)
    return union(*parts)


def _as_stored(value: Any, column: Any, dialect: Dialect) -> ColumnElement[Any]:
    """A value of a JSON column (an id, as the API represents it) as `column` stores it, so that the
    database compares the two itself."""
    text = value.as_string()
    column_type = column.type
    if isinstance(column_type, Uuid) and not (column_type.native_uuid and dialect.supports_native_uuid):
        # Without a native type, SQLAlchemy stores a UUID as its 32 hex digits, without dashes.
        return func.replace(text, "-", "")
    return cast(text, column_type)


def export_page(
    session: Session, template: Template, since: datetime | None, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of rows shaped by an `out` template, and the cursor of the next page (None at the end).

    Rows follow the root entity (the template's first); each child entity adds one row per child record
    (like a left join). A row counts as changed since `since` when the root or any of its children was
    created, updated or deleted after it.
    """
    plans = compile_template(template)
    root = plans[0].entity
    model = root.model
    pk_name = root.service.pk_attr
    pk = getattr(model, pk_name)
    stmt = select(model)
    if since is not None:
        stmt = stmt.where(pk.in_(_changed_since(session, plans, since)))
    if cursor:
        after = decode_cursor(cursor)
        python_type = pk.type.python_type
        try:
            stmt = stmt.where(pk > python_type(after))
        except (ValueError, TypeError):
            raise InvalidCursor(f"'{cursor}' is not a cursor returned by a previous page") from None
    roots = list(session.scalars(stmt.order_by(pk).limit(limit)))
    ids = [getattr(r, pk_name) for r in roots]
    children: list[dict[Any, list[dict[str, Any]]]] = []
    for plan in plans[1:]:
        child_model = plan.entity.model
        assert plan.parent_attr
        grouped: dict[Any, list[dict[str, Any]]] = {}
        if ids:
            parent_col = getattr(child_model, plan.parent_attr)
            child_pk = getattr(child_model, plan.entity.service.pk_attr)
            for obj in session.scalars(select(child_model).where(parent_col.in_(ids)).order_by(child_pk)):
                grouped.setdefault(getattr(obj, plan.parent_attr), []).append(
                    plan.entity.service.represent(obj)
                )
        children.append(grouped)
    rows: list[dict[str, Any]] = []
    for obj in roots:
        root_rep = root.service.represent(obj)
        options: list[list[dict[str, Any] | None]] = [
            list(group.get(getattr(obj, pk_name), [])) or [None] for group in children
        ]
        combos = itertools.product(*options)
        for combo in combos:
            row: dict[str, Any] = {}
            for plan, rep in zip(plans, (root_rep, *combo), strict=True):
                export_fields(plan, rep, row)
            rows.append(row)
    next_cursor = encode_cursor(ids[-1]) if len(roots) == limit and ids else None
    return rows, next_cursor
