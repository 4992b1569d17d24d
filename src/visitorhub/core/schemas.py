"""ApiModel (camelCase JSON, snake_case Python) and the response envelopes."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

T = TypeVar("T")


class ApiModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        from_attributes=True,
        extra="forbid",
    )

    def as_json(self) -> dict[str, Any]:
        """The camelCase JSON form, as the API sends it."""
        return self.model_dump(mode="json", by_alias=True)


class Links(BaseModel):
    self: str | None = None
    next: str | None = None
    prev: str | None = None


class Metadata(BaseModel):
    version: int = 1
    links: Links = Field(default_factory=Links, alias="_links")

    model_config = ConfigDict(validate_by_name=True, serialize_by_alias=True)


class DataEnvelope(BaseModel, Generic[T]):
    data: T


class MetaDataEnvelope(BaseModel, Generic[T]):
    data: T
    metadata: Metadata


class ListEnvelope(BaseModel, Generic[T]):
    data: list[T]
    metadata: Metadata


class ErrorItem(BaseModel):
    code: str
    type: str
    field: str | None = None
    message: str


class ErrorEnvelope(BaseModel):
    errors: list[ErrorItem]


def data_envelope(model: type[BaseModel]) -> type[BaseModel]:
    """DataEnvelope[model] for a model known only at run time (generated routes)."""
    return DataEnvelope[model]  # type: ignore[valid-type]


def list_envelope(model: type[BaseModel]) -> type[BaseModel]:
    return ListEnvelope[model]  # type: ignore[valid-type]


def not_null(**kwargs: Any) -> Any:
    """An optional field that may be left out but not sent as null: its default None is never validated,
    while an explicit null fails the field's (non-optional) type."""
    return Field(None, **kwargs)
