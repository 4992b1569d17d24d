"""Resource: one declaration per API resource; the router and listing machinery read it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.types import NullType

from visitorhub.core.db import Base
from visitorhub.core.schemas import ApiModel
from visitorhub.core.service import CrudService

Apply = Callable[[Select[Any], Any], Select[Any]]


@dataclass(frozen=True)
class Filter:
    """A query parameter that narrows a list; `apply` receives the validated, non-null value."""

    name: str
    annotation: Any
    apply: Apply
    description: str | None = None
    default: Any = None


def equals(column: InstrumentedAttribute[Any]) -> Apply:
    return lambda stmt, value: stmt.where(column == value)


def at_least(column: InstrumentedAttribute[Any]) -> Apply:
    return lambda stmt, value: stmt.where(column >= value)


def at_most(column: InstrumentedAttribute[Any]) -> Apply:
    return lambda stmt, value: stmt.where(column <= value)


def before(column: InstrumentedAttribute[Any]) -> Apply:
    return lambda stmt, value: stmt.where(column < value)


class _StartsWithCI(ColumnElement[bool]):
    """lower(column) starts with a lower-cased prefix, written so an index on lower(column) serves it."""

    inherit_cache = True
    # Not Boolean: SQLite would render a Boolean element as "(...) = 1", hiding its terms from the planner.
    type = NullType()  # type: ignore[assignment]

    def __init__(self, column: Any, prefix: str) -> None:
        self.column = column
        self.prefix = prefix.lower()


def starts_with_ci(column: Any, prefix: str) -> ColumnElement[bool]:
    return _StartsWithCI(column, prefix)


def _like_clause(element: _StartsWithCI) -> ColumnElement[bool]:
    escaped = element.prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return func.lower(element.column).like(escaped + "%", escape="\\")


@compiles(_StartsWithCI)
def _compile_like(element: _StartsWithCI, compiler: Any, **kw: Any) -> str:
    return f"({compiler.process(_like_clause(element), **kw)})"


@compiles(_StartsWithCI, "sqlite")
def _compile_sqlite(element: _StartsWithCI, compiler: Any, **kw: Any) -> str:
    # SQLite's LIKE optimisation needs a bare column, so `lower(col) LIKE 'x%'` scans the table; the
    # (byte-ordered) range narrows through the index on lower(col) and LIKE keeps the match exact.
    lowered = func.lower(element.column)
    clause = and_(lowered >= element.prefix, lowered < element.prefix + "\U0010ffff", _like_clause(element))
    return f"({compiler.process(clause, **kw)})"


@dataclass(frozen=True)
class Parent:
    """The resource a nested collection hangs from, e.g. a visitor for its vehicles."""

    param: str
    annotation: Any
    column: str
    model: type[Base]
    label: str


@dataclass
class Resource:
    """Everything the generic routes need to know about one resource."""

    name: str
    service: CrudService[Any]
    path: str
    tag: str
    key: str | None = None
    key_annotation: Any = int
    create: type[ApiModel] | None = None
    update: type[ApiModel] | None = None
    parent: Parent | None = None
    sortable: tuple[str, ...] = ("creationDate", "updateDate")
    filters: tuple[Filter, ...] = ()
    default_sort: str = "creationDate"
    summaries: dict[str, str] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)
    # Narrows every list, e.g. hides soft-deleted rows; receives the list query model.
    base_filter: Callable[[Select[Any], Any], Select[Any]] | None = None
    create_status: int = 201

    def __post_init__(self) -> None:
        self.attributes: dict[str, str] = {
            info.alias or name: name for name, info in self.read.model_fields.items()
        }
        unknown = [name for name in self.sortable if name not in self.attributes]
        assert not unknown, f"{self.name}: sortable fields not in the read schema: {unknown}"
        assert self.default_sort.lstrip("-") in self.sortable, self.default_sort
        REGISTRY[self.name] = self

    @property
    def model(self) -> type[Base]:
        return self.service.model

    @property
    def entity(self) -> str:
        return self.service.entity

    @property
    def read(self) -> type[ApiModel]:
        return self.service.read

    @property
    def item_path(self) -> str:
        return f"{self.path}/{{{self.key}}}"

    @property
    def key_column(self) -> str:
        assert self.key
        return self.attributes[self.key]


# Every declared resource by its plural API name ("visitors", "vehicles", ...).
REGISTRY: dict[str, Resource] = {}


def entity_names() -> dict[str, str]:
    """Entity name ("Visitor") for each accepted spelling: entity name or plural API name."""
    names: dict[str, str] = {}
    for resource in REGISTRY.values():
        names[resource.entity] = resource.entity
        names[resource.name] = resource.entity
    return names
