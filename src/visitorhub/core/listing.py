"""List parameters (offset, limit, sort, fields, filters) checked against a Resource, and list pages."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, create_model
from sqlalchemy import Select

from visitorhub.core.resource import Resource
from visitorhub.core.schemas import QueryModel
from visitorhub.errors import BadRequest

MAX_LIMIT = 500
DEFAULT_LIMIT = 25


class OffsetQuery(QueryModel):
    offset: int = Field(0, ge=0, description="Skip given number of records")
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Limit number of records")


class PageQuery(OffsetQuery):
    sort: str | None = Field(
        None, description="Sort records by: comma-separated fields, '-' for descending (sort=-creationDate)"
    )


class ListQuery(PageQuery):
    fields: str | None = Field(None, description="List of fields to return (fields=foo,bar)")


class FieldsQuery(QueryModel):
    fields: str | None = Field(None, description="List of fields to return (fields=foo,bar)")


def list_query_model(resource: Resource, base: type[BaseModel] = ListQuery) -> type[BaseModel]:
    """The query-parameter model of a list: paging + the resource's filters, unknown names rejected."""
    filters: dict[str, Any] = {
        f.name: (f.annotation | None, Field(f.default, description=f.description)) for f in resource.filters
    }
    if resource.soft_delete:
        filters["includeDeleted"] = (bool, Field(False, description="Include soft-deleted records"))
    name = "".join(part.title() for part in resource.name.replace("-", "_").split("_")) + "ListQuery"
    return create_model(name, __base__=base, **filters)


def _names(raw: str, param: str) -> list[str]:
    names = [part.strip() for part in raw.split(",")]
    if any(not name for name in names):
        raise BadRequest(f"{param} has an empty name: '{raw}'.", field=param, code="invalid_list")
    return names


def parse_fields(resource: Resource, raw: str | None) -> list[str] | None:
    if raw is None:
        return None
    names = _names(raw, "fields")
    for name in names:
        if name not in resource.attributes:
            raise BadRequest(
                f"Unknown field '{name}' in fields; known fields: {', '.join(sorted(resource.attributes))}.",
                field="fields",
                code="unknown_field",
            )
    return names


def apply_sort(resource: Resource, stmt: Select[Any], raw: str | None) -> Select[Any]:
    """ORDER BY the requested fields (whitelisted), then the primary key so pages are stable."""
    names = _names(raw, "sort") if raw else [resource.default_sort]
    model = resource.model
    for name in names:
        descending = name.startswith("-")
        bare = name[1:] if descending else name
        if bare not in resource.sortable:
            raise BadRequest(
                f"Cannot sort by '{bare}'; sortable fields: {', '.join(resource.sortable)}.",
                field="sort",
                code="unknown_field",
            )
        column = getattr(model, resource.attributes[bare])
        stmt = stmt.order_by(column.desc() if descending else column.asc())
    for pk in model.__mapper__.primary_key:
        stmt = stmt.order_by(pk.asc())
    return stmt


def select_fields(record: dict[str, Any], fields: list[str] | None) -> dict[str, Any]:
    if fields is None:
        return record
    return {name: record[name] for name in fields}
