"""Planning an import: a template compiled once into per-entity plans, and a row's values extracted and
validated for each entity."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, get_args

from pydantic import BaseModel, PlainSerializer, ValidationError, WrapSerializer
from sqlalchemy import func

from visitorhub.core.resource import Resource
from visitorhub.integration.templates.entities import (
    parent_entity,
    parent_id_type,
    partial_model,
    split_defaults,
    template_entities,
)
from visitorhub.integration.templates.spec import Template
from visitorhub.integration.templates.transforms import Pipeline, TransformFailed, get_path


class RowError(Exception):
    def __init__(self, entity: str, field: str | None, message: str) -> None:
        super().__init__(message)
        self.entity = entity
        self.field = field
        self.message = message


@dataclass
class FieldPlan:
    source: str
    api_field: str
    attr: str
    pipeline: Pipeline | None


@dataclass
class EntityPlan:
    """A template's entity map, compiled once."""

    entity: Resource
    insert: bool
    update: bool
    key: list[str]
    key_attrs: list[str]
    fields: list[FieldPlan]
    defaults: dict[str, Any]
    parent_index: int | None
    parent_attr: str | None
    required: set[str]
    create_defaults: dict[str, Any]
    # Attributes whose key values match case-insensitively (the resource's case-insensitive unique fields).
    folded: frozenset[str] = frozenset()
    # The fields that give the key (extract_key), when the key comes from the row's own cells alone (a
    # parent id read from the row, or a key without a mapped field, leaves it empty).
    key_fields: list[FieldPlan] | None = None
    # The writable schema's names of those fields (extract_key validates them alone).
    key_attr_names: tuple[str, ...] = ()
    # The API field holding the parent's key (Resource.parent_field, looked up once).
    parent_field: str | None = None

    def fold(self, attr: str, value: Any) -> Any:
        return value.lower() if attr in self.folded and isinstance(value, str) else value

    def column(self, attr: str) -> Any:
        column = getattr(self.entity.model, attr)
        return func.lower(column, type_=column.type) if attr in self.folded else column

    def source_of(self, attr: str) -> str:
        for f in self.fields:
            if f.attr == attr:
                return f.source
        writable = self.entity.writable
        info = writable.model_fields.get(attr) if writable else None
        return (info.alias or attr) if info is not None else attr


def compile_template(template: Template) -> list[EntityPlan]:
    plans: list[EntityPlan] = []
    entities = template_entities()
    for emap in template.entities:
        entity = entities[emap.type]
        fields = [
            FieldPlan(
                f.source,
                f.field,
                entity.attribute(f.field),
                Pipeline([(t.name, t.args) for t in f.transforms]) if f.transforms else None,
            )
            for f in emap.fields
        ]
        parent = parent_entity(entity)
        parent_index = next((i for i, p in enumerate(plans) if parent and p.entity.entity == parent), None)
        defaults = {}
        own_defaults, parent_default = split_defaults(entity, emap.defaults)
        if own_defaults:
            validated = partial_model(entity).model_validate(own_defaults)
            defaults = validated.model_dump(exclude_unset=True)
        if parent_default is not None and entity.parent_field:
            defaults[entity.attribute(entity.parent_field)] = parent_id_type(entity).validate_python(
                parent_default
            )
        assert entity.writable is not None
        create_fields = entity.writable.model_fields
        plans.append(
            EntityPlan(
                entity=entity,
                insert=emap.insert,
                update=emap.update,
                key=list(emap.key),
                key_attrs=[entity.attribute(k) for k in emap.key],
                fields=fields,
                defaults=defaults,
                parent_index=parent_index,
                parent_attr=entity.attribute(entity.parent_field) if entity.parent_field else None,
                required={name for name, info in create_fields.items() if info.is_required()},
                create_defaults={
                    name: info.get_default(call_default_factory=True)
                    for name, info in create_fields.items()
                    if not info.is_required()
                },
                folded=frozenset(entity.attribute(name) for name in entity.case_insensitive),
                parent_field=entity.parent_field,
            )
        )
        plan = plans[-1]
        mapped = {f.attr for f in fields}
        if (
            plan.key_attrs
            and set(plan.key_attrs) <= mapped
            and (plan.parent_attr is None or parent_index is not None)
        ):
            plan.key_fields = [f for f in fields if f.attr in plan.key_attrs]
            plan.key_attr_names = tuple(sorted({f.attr for f in plan.key_fields}))
    return plans


def extract_key(plan: EntityPlan, row: Mapping[str, Any]) -> dict[str, Any] | None:
    """The row's key values for one entity, extracted and validated as extract() does, from the key's own
    cells only (a re-import matches records and compares content hashes before extracting the rest).
    None when the plan's key does not come from the row alone, or when a key cell is empty."""
    if plan.key_fields is None:
        return None
    values = extract(plan, row, plan.key_fields)
    if values is None or any(values.get(attr) is None for attr in plan.key_attrs):
        return None
    return values


def extract(
    plan: EntityPlan, row: Mapping[str, Any], fields: list[FieldPlan] | None = None
) -> dict[str, Any] | None:
    """The row's values for one entity (attribute names, validated types); absent and empty cells skipped.

    None when the entity hangs from another entity of the row and none of its mapped cells has a value:
    a visitor row without a vehicle touches no vehicle (defaults alone do not make one). `fields`: only
    those of the plan's fields (extract_key).
    """
    raw: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for f in plan.fields if fields is None else fields:
        value = get_path(row, f.source)
        if f.pipeline is not None:
            try:
                value = f.pipeline(value, row)
            except TransformFailed as exc:
                raise RowError(plan.entity.entity, f.source, f"{f.source}: {exc}") from None
        if value is None or (isinstance(value, str) and (not value or value.isspace())):
            continue
        raw[f.api_field] = value
        sources[f.api_field] = f.source
    if not raw and plan.fields and plan.parent_index is not None:
        return None
    parent_field = plan.parent_field
    parent_value = raw.pop(parent_field) if parent_field and parent_field in raw else None
    model = partial_model(plan.entity) if fields is None else partial_model(plan.entity, plan.key_attr_names)
    try:
        values = _given_values(model, model.__pydantic_validator__.validate_python(raw))
    except ValidationError as exc:
        err = exc.errors()[0]
        api_field = str(err["loc"][0]) if err["loc"] else None
        where = sources.get(api_field or "", api_field)
        raise RowError(
            plan.entity.entity, where, f"{where}: {err['msg']} (got {raw.get(api_field or '')!r})"
        ) from None
    # Defaults fill a new record's gaps; on an existing record only key defaults count (for matching),
    # so a default never overwrites stored data.
    for attr in [*plan.key_attrs, plan.parent_attr]:
        if attr in plan.defaults:
            values.setdefault(attr, plan.defaults[attr])
    if parent_value is not None and plan.parent_attr:
        try:
            values[plan.parent_attr] = parent_id_type(plan.entity).validate_python(parent_value)
        except ValidationError:
            where = sources[parent_field or ""]
            raise RowError(
                plan.entity.entity,
                where,
                f"{where}: {parent_value!r} is not a valid {parent_entity(plan.entity)} id",
            ) from None
    return values


def _given_values(model: type[BaseModel], validated: BaseModel) -> dict[str, Any]:
    """model_dump(exclude_unset=True) of a validated row: the given fields' validated values. A model whose
    dump returns its values as they are (_dumps_as_is) gives them from the instance, in field order."""
    if not _dumps_as_is(model):
        return validated.model_dump(exclude_unset=True)
    given = validated.__pydantic_fields_set__
    return {name: value for name, value in validated.__dict__.items() if name in given}


@cache
def _dumps_as_is(model: type[BaseModel]) -> bool:
    """Whether model_dump (python mode) returns a field's validated value unchanged: no serializer of the
    model's own, no computed field, no model inside a field (a dump turns it into a dict)."""
    decorators = model.__pydantic_decorators__
    if decorators.field_serializers or decorators.model_serializers or model.model_computed_fields:
        return False
    for info in model.model_fields.values():
        if any(isinstance(mark, (PlainSerializer, WrapSerializer)) for mark in info.metadata):
            return False
        if _holds_model(info.annotation):
            return False
    return True


def _holds_model(annotation: Any) -> bool:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True
    return any(_holds_model(arg) for arg in get_args(annotation))
