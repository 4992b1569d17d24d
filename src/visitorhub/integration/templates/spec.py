"""Template: how an outside data model maps onto visitorhub entities (the PlanningPME contract).

A template is plain data. `Template.model_validate(raw)` checks its shape; `validate_template` (in
entities.py) checks it against the entities it names. Both raise TemplateError naming the element.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Direction = Literal["in", "out"]
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"


class TemplateError(ValueError):
    """An invalid template; `element` says where, e.g. "entities[0].fields[2].transforms[0]"."""

    def __init__(self, element: str, message: str) -> None:
        super().__init__(f"{element}: {message}")
        self.element = element
        self.message = message


class Transform(BaseModel):
    """One step applied to a value: `name` is one of transforms.TRANSFORMS, `args` its options."""

    model_config = ConfigDict(extra="forbid")

    name: str
    args: dict[str, Any] = Field(default_factory=dict)


class FieldMap(BaseModel):
    """One outside name <-> one entity field.

    `source` is the outside name: a column, or a dotted path into nested objects (`contact.email`).
    `field` is the API field name (camelCase). Transforms run in order: outside -> entity on import,
    entity -> outside on export.
    """

    model_config = ConfigDict(extra="forbid")

    source: str = Field(min_length=1, max_length=200)
    field: str = Field(min_length=1, max_length=100)
    transforms: list[Transform] = Field(default_factory=list)

    @field_validator("transforms", mode="before")
    @classmethod
    def _short_forms(cls, value: Any) -> Any:
        """Accept "trim" and {"date": {"format": "%d/%m/%Y"}} as well as {"name": ..., "args": ...}."""
        if not isinstance(value, list):
            return value
        out: list[Any] = []
        for item in value:
            if isinstance(item, str):
                out.append({"name": item})
            elif isinstance(item, dict) and "name" not in item and len(item) == 1:
                ((name, args),) = item.items()
                out.append({"name": name, "args": args or {}})
            else:
                out.append(item)
        return out


class EntityMap(BaseModel):
    """The part of a row that feeds (import) or comes from (export) one entity type."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(description="Entity name: Visitor, Vehicle, ExternalId, VisitorCenter, Center, ...")
    insert: bool = Field(True, description="Create the record when no existing one matches the key")
    update: bool = Field(True, description="Update the record that matches the key")
    key: list[str] = Field(default_factory=list, description="API fields that identify an existing record")
    defaults: dict[str, Any] = Field(
        default_factory=dict, description="API field -> value when the row has none"
    )
    fields: list[FieldMap] = Field(default_factory=list)

    @field_validator("key", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value


class Template(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME_PATTERN)
    direction: Direction
    description: str = ""
    entities: list[EntityMap] = Field(min_length=1)
    builtin: bool = Field(False, description="Shipped with visitorhub; read-only")

    def source_of(self, entity_index: int, field: str) -> str:
        """The outside name that feeds `field` of the entity at `entity_index` (for error messages)."""
        for fmap in self.entities[entity_index].fields:
            if fmap.field == field:
                return fmap.source
        return field
