"""What templates can read and write: the declared resources that allow imports, and the validation of a
Template against them."""

from __future__ import annotations

from functools import cache
from typing import Any, Optional

from pydantic import BaseModel, TypeAdapter, ValidationError, create_model
from pydantic.fields import FieldInfo

from visitorhub.core.resource import Resource
from visitorhub.core.schemas import ApiModel
from visitorhub.domains import all_resources
from visitorhub.integration.templates import transforms
from visitorhub.integration.templates.spec import Template, TemplateError


def template_entities() -> dict[str, Resource]:
    """The entities templates can name ("Visitor", "Vehicle", ...): every resource declared with imports."""
    found = [r for r in all_resources().values() if r.imports is not None]
    return {r.entity: r for r in sorted(found, key=lambda r: r.entity)}


def writable_fields(entity: Resource) -> dict[str, FieldInfo]:
    """API field name -> FieldInfo of what an import may set."""
    schema = entity.writable
    assert schema is not None
    return {(info.alias or name): info for name, info in schema.model_fields.items()}


def parent_entity(entity: Resource) -> str | None:
    parent = entity.parent_resource
    return parent.entity if parent else None


@cache
def partial_model(entity: Resource, only: tuple[str, ...] | None = None) -> type[BaseModel]:
    """The writable schema with every field optional (same types and constraints): checks the fields a
    row gives for an update, where the record already has the others. `only`: those fields alone (a key's,
    which a re-import validates for every row: a model of one field validates in half the time)."""
    fields: dict[str, Any] = {}
    assert entity.writable is not None
    for name, info in entity.writable.model_fields.items():
        if only is None or name in only:
            copy = FieldInfo.merge_field_infos(info, default=None)
            fields[name] = (Optional[info.annotation], copy)  # noqa: UP045 (annotation is a runtime object)
    suffix = "Partial" if only is None else "Key"
    return create_model(f"{entity.entity}{suffix}", __base__=ApiModel, **fields)


@cache
def parent_id_type(entity: Resource) -> TypeAdapter[Any]:
    """The type of the field that holds the parent's id (a UUID for visitorId), to convert a given value."""
    attr = entity.attribute(entity.parent_field or "")
    annotation: Any = entity.read.model_fields[attr].annotation
    return TypeAdapter(annotation)


def split_defaults(entity: Resource, defaults: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    """(the entity's own defaults, the default parent id or None): the parent id is no create field."""
    own = {k: v for k, v in defaults.items() if k != entity.parent_field}
    return own, defaults.get(entity.parent_field or "")


def validate_template(template: Template) -> Template:
    """Check a template against the entities it names; raise TemplateError naming the first bad element."""
    seen: list[str] = []
    entities = template_entities()
    for i, emap in enumerate(template.entities):
        where = f"entities[{i}]"
        entity = entities.get(emap.type)
        if entity is None:
            raise TemplateError(
                f"{where}.type", f"unknown entity '{emap.type}'; known: {', '.join(entities)}"
            )
        if emap.type in seen:
            raise TemplateError(f"{where}.type", f"entity '{emap.type}' appears twice")
        seen.append(emap.type)
        known = set(entity.attributes) if template.direction == "out" else set(writable_fields(entity))
        if template.direction == "in" and entity.parent_field:
            known = known | {entity.parent_field}
        for j, fmap in enumerate(emap.fields):
            if fmap.field not in known:
                raise TemplateError(
                    f"{where}.fields[{j}].field",
                    f"'{fmap.field}' is not a{' writable' if template.direction == 'in' else ''} field of "
                    f"{emap.type}; known: {', '.join(sorted(known))}",
                )
            for k, step in enumerate(fmap.transforms):
                problem = transforms.check(step.name, step.args)
                if problem:
                    raise TemplateError(f"{where}.fields[{j}].transforms[{k}]", problem)
        if template.direction == "out":
            continue
        _check_defaults(entity, emap.defaults, where)
        mapped = {f.field for f in emap.fields} | set(emap.defaults)
        if emap.update and not emap.key:
            raise TemplateError(
                f"{where}.key",
                f"{emap.type} allows updates, so it needs key fields to match existing records",
            )
        for key in emap.key:
            if key not in known:
                raise TemplateError(f"{where}.key", f"'{key}' is not a field of {emap.type}")
            if key not in mapped:
                raise TemplateError(f"{where}.key", f"key field '{key}' is neither mapped nor defaulted")
        parent = parent_entity(entity)
        if parent and entity.parent_field not in mapped and parent not in seen[:-1]:
            raise TemplateError(
                f"{where}.type",
                f"{emap.type} hangs from a {parent}: put a {parent} before it in the template "
                f"or map its {entity.parent_field}",
            )
    if template.direction == "out" and entities[template.entities[0].type].parent:
        first = template.entities[0].type
        raise TemplateError("entities[0].type", f"an export starts from a root entity; {first} is a child")
    if template.direction == "out":
        root = template.entities[0].type
        for i, emap in enumerate(template.entities[1:], start=1):
            if parent_entity(entities[emap.type]) != root:
                raise TemplateError(f"entities[{i}].type", f"{emap.type} does not hang from {root}")
    return template


def _check_defaults(entity: Resource, defaults: dict[str, Any], where: str) -> None:
    writable = writable_fields(entity)
    for name in defaults:
        if name not in writable and name != entity.parent_field:
            raise TemplateError(
                f"{where}.defaults.{name}", f"'{name}' is not a writable field of {entity.entity}"
            )
    own, parent_id = split_defaults(entity, defaults)
    if parent_id is not None:
        try:
            parent_id_type(entity).validate_python(parent_id)
        except ValidationError as exc:
            raise TemplateError(
                f"{where}.defaults.{entity.parent_field}", f"wrong default: {exc.errors()[0]['msg']}"
            ) from None
    if not own:
        return
    try:
        partial_model(entity).model_validate(own)
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]) if err["loc"] else "?"
        raise TemplateError(f"{where}.defaults.{name}", f"wrong default: {err['msg']}") from None
