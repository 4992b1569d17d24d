"""Resource: one declaration per API resource.

The routes, the service, the template and stream entities, the `/changes` entity names and the OpenAPI
summaries all come from the declarations in REGISTRY; hand-written code is for a family's own rules only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import Field, create_model
from pydantic.alias_generators import to_camel
from pydantic.fields import FieldInfo
from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute

from visitorhub.core.db import Base
from visitorhub.core.schemas import ApiModel, not_null

if TYPE_CHECKING:
    from visitorhub.core.service import CrudService

S = TypeVar("S")

Apply = Callable[[Select[Any], Any], Select[Any]]
ACTIONS = ("list", "create", "get", "update", "delete")


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


def ignored(stmt: Select[Any], _value: Any) -> Select[Any]:
    """For a parameter that `base_filter` reads itself (it sees the whole query)."""
    return stmt


@dataclass(frozen=True)
class Unique:
    """API fields whose values no two records share: a clash is a 409 naming the last field.

    `lower`: compared case-insensitively (the index is on lower(column)). `message` may name the values as
    `{fieldName}`. A null text value counts as '' (the index is on coalesce(column, ''))."""

    fields: tuple[str, ...]
    lower: bool = False
    message: str | None = None
    field: str | None = None  # the field a clash names (default: the last one)


@dataclass(frozen=True)
class Imports:
    """How templates write the entity. `writable`: the schema of what an import may set (default: the
    create schema); exports read the read schema."""

    writable: type[ApiModel] | None = None


@dataclass(eq=False)
class Resource:
    """Everything the generic machinery needs to know about one resource.

    name: the plural API name ("vehicles"): URL segment, tag, stream name. entity: the change log's
    singular name ("Vehicle"). key: the API field that addresses one record in its path. parent: the
    name of the resource a record hangs from; its key names the path parameter and the link field.
    operations: action (list, create, get, update, delete) -> catalogue sequence number, or a summary
    for an operation outside the catalogue. example: a valid create body, example_update: a PATCH body
    that changes a record made from it (OpenAPI, contract tests).
    """

    name: str
    entity: str
    model: type[Base]
    read: type[ApiModel]
    create: type[ApiModel] | None = None
    update: type[ApiModel] | None = None
    key: str | None = None
    key_annotation: Any = None
    parent: str | None = None
    path: str | None = None
    unique: tuple[Unique, ...] = ()
    immutable: tuple[str, ...] = ()
    soft_delete: str | None = None
    # API field -> the resource whose key it holds (acquisitionPcCode -> centers): a value naming no record
    # is a 422 naming the field.
    references: Mapping[str, str] = field(default_factory=dict)
    # Columns the server computes from another one: attribute -> (source attribute, function), e.g. a
    # normalised licence plate that searches compare with.
    derived: Mapping[str, tuple[str, Callable[[Any], Any]]] = field(default_factory=dict)
    sortable: tuple[str, ...] = ("creationDate", "updateDate")
    default_sort: str = "creationDate"
    filters: tuple[Filter, ...] = ()
    # Narrows every list (it receives the list's query model), e.g. a search over several parameters.
    base_filter: Apply | None = None
    operations: Mapping[str, int | str] = field(default_factory=dict)
    descriptions: Mapping[str, str] = field(default_factory=dict)
    imports: Imports | None = None
    service_class: type[CrudService[Any]] | None = None
    tag: str | None = None
    create_status: int = 201
    example: Mapping[str, Any] | None = None
    example_update: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        assert self.name not in REGISTRY, f"resource {self.name} declared twice"
        unknown = [name for name in self.sortable if name not in self.attributes]
        assert not unknown, f"{self.name}: sortable fields not in the read schema: {unknown}"
        assert self.default_sort.lstrip("-") in self.sortable, self.default_sort
        assert set(self.operations) <= set(ACTIONS), f"{self.name}: unknown actions {set(self.operations)}"
        for name in (*self.immutable, *(f for u in self.unique for f in u.fields), *self.references):
            assert name in self.attributes, f"{self.name}: {name} is not a field of {self.read.__name__}"
        REGISTRY[self.name] = self
        self._service: CrudService[Any] | None = None

    # Derived names --------------------------------------------------------------------------------

    @cached_property
    def attributes(self) -> dict[str, str]:
        """API field name -> attribute name, for every field of the read schema."""
        return {(info.alias or name): name for name, info in self.read.model_fields.items()}

    def attribute(self, api_field: str) -> str:
        """The attribute behind an API field of the read, create or import schema."""
        if api_field in self.attributes:
            return self.attributes[api_field]
        for schema in (self.create, self.writable):
            for name, info in (schema.model_fields if schema else {}).items():
                if (info.alias or name) == api_field:
                    return name
        raise KeyError(api_field)

    @property
    def tag_name(self) -> str:
        return self.tag or self.name

    @property
    def parent_resource(self) -> Resource | None:
        return declared()[self.parent] if self.parent else None

    @property
    def parent_field(self) -> str | None:
        """The API field that holds the parent's key ("visitorId")."""
        parent = self.parent_resource
        return parent.key if parent else None

    @property
    def parent_attr(self) -> str | None:
        return self.attributes[self.parent_field] if self.parent_field else None

    @property
    def collection_path(self) -> str:
        if self.path:
            return self.path
        parent = self.parent_resource
        return f"{parent.item_path}/{self.name}" if parent else f"/{self.name}"

    @property
    def item_path(self) -> str:
        return f"{self.collection_path}/{{{self.key}}}"

    @property
    def key_attr(self) -> str:
        assert self.key, f"{self.name} has no key"
        return self.attributes[self.key]

    @property
    def key_type(self) -> Any:
        if self.key_annotation is not None:
            return self.key_annotation
        return self.read.model_fields[self.key_attr].annotation

    @property
    def soft_delete_attr(self) -> str | None:
        return self.attributes[self.soft_delete] if self.soft_delete else None

    @property
    def case_insensitive(self) -> frozenset[str]:
        """API fields compared case-insensitively (a unique index on lower(column)), e.g. e-mails."""
        return frozenset(name for rule in self.unique if rule.lower for name in rule.fields)

    @property
    def children(self) -> list[Resource]:
        """The resources whose records hang from one of this resource's records."""
        return [resource for resource in declared().values() if resource.parent == self.name]

    @property
    def writable(self) -> type[ApiModel] | None:
        """What a template import may set (None: not importable)."""
        if self.imports is None:
            return None
        return self.imports.writable or self.create

    @cached_property
    def update_schema(self) -> type[ApiModel] | None:
        """The PATCH body: the declared one, or the create schema with every field optional (a field that
        may not be null still may not be sent as null), without the path's key and parent, plus the
        immutable fields (accepted when unchanged) and the soft-delete date (null restores)."""
        if self.update is not None or self.create is None:
            return self.update
        fields: dict[str, Any] = {}
        for name, info in self.create.model_fields.items():
            if (info.alias or to_camel(name)) in (self.key, self.parent_field):
                continue
            fields[name] = (info.annotation, _optional(info))
        for api_field in self.immutable:
            attr = self.attributes[api_field]
            fields[attr] = (
                self.read.model_fields[attr].annotation,
                not_null(description="Must equal the current value when given: it cannot change."),
            )
        if self.soft_delete_attr:
            fields[self.soft_delete_attr] = (
                datetime | None,
                Field(None, description="Set to soft-delete, null to restore."),
            )
        model: type[ApiModel] = create_model(f"{self.entity}Update", __base__=ApiModel, **fields)
        return model

    # The service -----------------------------------------------------------------------------------

    @property
    def service(self) -> CrudService[Any]:
        if self._service is None:
            from visitorhub.core.service import CrudService

            self._service = (self.service_class or CrudService)(self)
        return self._service

    def service_as(self, kind: type[S]) -> S:
        """The service, typed as the family's own class (for its rule methods)."""
        service = self.service
        assert isinstance(service, kind), f"{self.name}'s service is a {type(service).__name__}"
        return service


def _optional(info: FieldInfo) -> FieldInfo:
    """The same field with no value required: leaving it out changes nothing."""
    copy = FieldInfo.merge_field_infos(info)
    copy.default = None
    copy.default_factory = None
    return copy


# Every declared resource by its plural API name ("visitors", "vehicles", ...), in declaration order.
REGISTRY: dict[str, Resource] = {}
# What declares them all (the domains package registers it: core imports no domain).
_declare_all: list[Callable[[], None]] = []


def declare_all_with(load: Callable[[], None]) -> None:
    _declare_all.append(load)


def declared() -> dict[str, Resource]:
    """Every resource, all families declared (a record may refer to a resource no import has loaded yet)."""
    for load in _declare_all:
        load()
    return REGISTRY


def by_entity(entity: str) -> Resource:
    for resource in declared().values():
        if resource.entity == entity:
            return resource
    raise KeyError(entity)


def entity_names() -> dict[str, str]:
    """Entity name ("Visitor") for each accepted spelling: entity name or plural API name."""
    names: dict[str, str] = {}
    for resource in declared().values():
        names[resource.entity] = resource.entity
        names[resource.name] = resource.entity
    return names
