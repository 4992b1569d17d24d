"""What templates can read and write: each entity type with its service, schemas, parent link and key rules,
and the validation of a Template against them."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any, Optional

from pydantic import BaseModel, TypeAdapter, ValidationError, create_model
from pydantic.fields import FieldInfo

from visitorhub.core.schemas import ApiModel
from visitorhub.core.service import CrudService
from visitorhub.domains.centers.schemas import CenterCreate, VisitorCenterCreate
from visitorhub.domains.centers.service import center_service, visitor_center_service
from visitorhub.domains.vehicles.schemas import VehicleCreate
from visitorhub.domains.vehicles.service import vehicle_service
from visitorhub.domains.visitors.schemas import ExternalIdCreate, VisitorFields
from visitorhub.domains.visitors.service import external_id_service, visitor_service
from visitorhub.integration.templates import transforms
from visitorhub.integration.templates.spec import Template, TemplateError


@dataclass(frozen=True)
class TemplateEntity:
    """One entity type as templates see it."""

    name: str
    service: CrudService[Any]
    create: type[ApiModel]
    # The parent entity a record hangs from, and the API field that holds the parent's id.
    parent: str | None = None
    parent_field: str | None = None
    # API fields that are only set by the server: readable in exports, never written by imports.
    read_only: frozenset[str] = field(default_factory=frozenset)
    # Key fields matched case-insensitively, as their unique index is (visitor e-mail: lower(email)).
    match_lower: frozenset[str] = field(default_factory=frozenset)

    @property
    def read(self) -> type[ApiModel]:
        return self.service.read

    @property
    def writable(self) -> dict[str, FieldInfo]:
        """API field name -> FieldInfo of what an import may set."""
        return {(info.alias or name): info for name, info in self.create.model_fields.items()}

    @property
    def readable(self) -> set[str]:
        return {(info.alias or name) for name, info in self.read.model_fields.items()}

    def attribute(self, api_field: str) -> str:
        for name, info in {**self.read.model_fields, **self.create.model_fields}.items():
            if (info.alias or name) == api_field:
                return name
        raise KeyError(api_field)


ENTITIES: dict[str, TemplateEntity] = {
    entity.name: entity
    for entity in (
        TemplateEntity("Visitor", visitor_service, VisitorFields, match_lower=frozenset({"email"})),
        TemplateEntity("Vehicle", vehicle_service, VehicleCreate, parent="Visitor", parent_field="visitorId"),
        TemplateEntity(
            "ExternalId", external_id_service, ExternalIdCreate, parent="Visitor", parent_field="visitorId"
        ),
        TemplateEntity(
            "VisitorCenter",
            visitor_center_service,
            VisitorCenterCreate,
            parent="Visitor",
            parent_field="visitorId",
        ),
        TemplateEntity("Center", center_service, CenterCreate),
    )
}


@cache
def partial_model(entity: TemplateEntity) -> type[BaseModel]:
    """The create schema with every field optional (same types and constraints): checks the fields a row
    gives for an update, where the record already has the others."""
    fields: dict[str, Any] = {}
    for name, info in entity.create.model_fields.items():
        copy = FieldInfo.merge_field_infos(info, default=None)
        fields[name] = (Optional[info.annotation], copy)  # noqa: UP045 (annotation is a runtime object)
    return create_model(f"{entity.name}Partial", __base__=ApiModel, **fields)


@cache
def parent_id_type(entity: TemplateEntity) -> TypeAdapter[Any]:
    """The type of the field that holds the parent's id (a UUID for visitorId), to convert a given value."""
    attr = entity.attribute(entity.parent_field or "")
    annotation: Any = entity.read.model_fields[attr].annotation
    return TypeAdapter(annotation)


def split_defaults(entity: TemplateEntity, defaults: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    """(the entity's own defaults, the default parent id or None): the parent id is no create field."""
    own = {k: v for k, v in defaults.items() if k != entity.parent_field}
    return own, defaults.get(entity.parent_field or "")


def validate_template(template: Template) -> Template:
    """Check a template against the entities it names; raise TemplateError naming the first bad element."""
    seen: list[str] = []
    for i, emap in enumerate(template.entities):
        where = f"entities[{i}]"
        entity = ENTITIES.get(emap.type)
        if entity is None:
            raise TemplateError(
                f"{where}.type", f"unknown entity '{emap.type}'; known: {', '.join(ENTITIES)}"
            )
        if emap.type in seen:
            raise TemplateError(f"{where}.type", f"entity '{emap.type}' appears twice")
        seen.append(emap.type)
        known = entity.readable if template.direction == "out" else set(entity.writable)
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
        if entity.parent and entity.parent_field not in mapped and entity.parent not in seen[:-1]:
            raise TemplateError(
                f"{where}.type",
                f"{emap.type} hangs from a {entity.parent}: put a {entity.parent} before it in the template "
                f"or map its {entity.parent_field}",
            )
    if template.direction == "out" and ENTITIES[template.entities[0].type].parent:
        first = template.entities[0].type
        raise TemplateError("entities[0].type", f"an export starts from a root entity; {first} is a child")
    if template.direction == "out":
        root = template.entities[0].type
        for i, emap in enumerate(template.entities[1:], start=1):
            if ENTITIES[emap.type].parent != root:
                raise TemplateError(f"entities[{i}].type", f"{emap.type} does not hang from {root}")
    return template


def _check_defaults(entity: TemplateEntity, defaults: dict[str, Any], where: str) -> None:
    writable = entity.writable
    for name in defaults:
        if name not in writable and name != entity.parent_field:
            raise TemplateError(
                f"{where}.defaults.{name}", f"'{name}' is not a writable field of {entity.name}"
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
