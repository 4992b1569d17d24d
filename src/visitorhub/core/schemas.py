"""ApiModel (camelCase JSON, snake_case Python), QueryModel, the response envelopes, and what every
input value must be whatever model or parameter carries it.

Hardening: integers stay within int64 (the column type of every integer on both databases) and text holds
no NUL character (PostgreSQL's text and jsonb cannot). `harden(schema)` rewrites a pydantic core schema so:
every integer gets int64 bounds unless it has tighter ones (the JSON schema documents them as
minimum/maximum), every text (dict keys included) and free-form JSON value refuses NUL with an error at its
field. Every `ApiModel` and `QueryModel` subclass applies it to its own fields when it is defined; the app
adds `HARDENED` to every path, query, header and body parameter of every route (core/router.py
`Router`), which covers parameters of any type and models of any base.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError, core_schema

T = TypeVar("T")

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

_MARK = "visitorhub_hardened"
# Keys of a core schema that hold the validation schemas of its parts (serialization schemas and
# metadata are left alone: they never see input).
_SKIP = frozenset(
    {"serialization", "metadata", "ref", "cls", "function", "json_schema_input_schema", "computed_fields"}
)

Resolve = Callable[[Any], Any]


def _text_problem(value: str) -> str | None:
    if "\x00" in value:
        return "may not contain the NUL character (\\u0000)"
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "must be valid Unicode (it holds a lone surrogate, such as \\ud800)"
    return None


def storable_text(value: str) -> str:
    """Text both databases can store: no NUL, no lone surrogate (neither encodes to UTF-8)."""
    problem = _text_problem(value)
    if problem is not None:
        raise PydanticCustomError("invalid_text", f"Text {problem}: it cannot be stored.")
    return value


def _storable_json(value: Any) -> Any:
    """A free-form JSON value (dict[str, Any], Any): storable text in every key and value, at any depth."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            storable_text(item)
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return value


def _marked(schema: dict[str, Any]) -> bool:
    return bool((schema.get("metadata") or {}).get(_MARK))


def _wrap(function: Callable[[Any], Any], schema: dict[str, Any], before: bool = False) -> dict[str, Any]:
    make = (
        core_schema.no_info_before_validator_function
        if before
        else core_schema.no_info_after_validator_function
    )
    wrapped: dict[str, Any] = dict(make(function, schema))  # type: ignore[arg-type, unused-ignore]
    wrapped["metadata"] = {_MARK: True}
    return wrapped


def _is_schema(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("type"), str)


def _is_hardened_model(schema: dict[str, Any]) -> bool:
    cls = schema.get("cls")
    return isinstance(cls, type) and getattr(cls, "__hardened__", False)


def _check_raw(value: Any) -> Any:
    """Before a model whose class is not hardened (pydantic reuses its own validator, so a rewritten schema
    would not apply): the raw input holds no NUL in any text and no integer beyond int64, at any depth."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            problem = _text_problem(item)
            if problem is not None:
                raise PydanticCustomError(
                    "invalid_text",
                    "Text at '{path}' {problem}: it cannot be stored.",
                    {"path": path, "problem": problem},
                )
        elif isinstance(item, int) and not isinstance(item, bool):
            if not INT64_MIN <= item <= INT64_MAX:
                raise PydanticCustomError(
                    "int64_range",
                    "The integer at '{path}' is outside the 64-bit range ({low}..{high}).",
                    {"path": path, "low": INT64_MIN, "high": INT64_MAX},
                )
        elif isinstance(item, dict):
            for key, sub in item.items():
                name = f"{path}.{key}" if path else str(key)
                stack.append((name, key))
                stack.append((name, sub))
        elif isinstance(item, list | tuple):
            stack.extend((f"{path}[{index}]", sub) for index, sub in enumerate(item))
    return value


_OWN_VALIDATOR = frozenset({"model", "dataclass", "typed-dict"})


class _Walk:
    """One rewrite; never mutates the schema it is given (pydantic shares the schemas of models)."""

    def __init__(self, own: type | None, resolve: Resolve | None) -> None:
        self.own = own
        self.resolve = resolve

    def node(self, schema: dict[str, Any]) -> dict[str, Any]:
        kind = schema["type"]
        if _marked(schema):
            return schema
        if kind == "int":
            return self._int(schema)
        if kind == "str":
            return _wrap(storable_text, schema)
        if kind == "any":
            return _wrap(_storable_json, schema)
        if kind in _OWN_VALIDATOR and (self.own is None or schema.get("cls") is not self.own):
            return schema if _is_hardened_model(schema) else _wrap(_check_raw, schema, before=True)
        if kind == "definition-ref":
            target = self.resolve(schema) if self.resolve else None
            if target is None or target["type"] not in _OWN_VALIDATOR or _is_hardened_model(target):
                return schema
            return _wrap(_check_raw, schema, before=True)
        out = self._parts(schema)
        for key in _CONTAINER_KEYS.get(kind, ()):
            if key not in out:
                out = {**out, key: _wrap(_storable_json, {"type": "any"})}
        return out

    def _int(self, schema: dict[str, Any]) -> dict[str, Any]:
        out = dict(schema)
        if "ge" not in out and "gt" not in out:
            out["ge"] = INT64_MIN
        if "le" not in out and "lt" not in out:
            out["le"] = INT64_MAX
        return out

    def _parts(self, schema: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] | None = None
        for key, value in schema.items():
            if key in _SKIP:
                continue
            new = self._value(value)
            if new is not value:
                if out is None:
                    out = dict(schema)
                out[key] = new
        return schema if out is None else out

    def _value(self, value: Any) -> Any:
        if _is_schema(value):
            return self.node(value)
        if isinstance(value, list | tuple):
            items = [self._value(item) for item in value]
            if any(new is not old for new, old in zip(items, value, strict=True)):
                return type(value)(items)
            return value
        if isinstance(value, dict) and value and all(_is_schema(v) for v in value.values()):
            mapped = {key: self._value(item) for key, item in value.items()}
            if any(mapped[key] is not value[key] for key in value):
                return mapped
        return value


_CONTAINER_KEYS = {
    "dict": ("keys_schema", "values_schema"),
    "list": ("items_schema",),
    "set": ("items_schema",),
    "frozenset": ("items_schema",),
    "generator": ("items_schema",),
    "deque": ("items_schema",),
}


def harden(schema: Any, resolve: Resolve | None = None, own: type | None = None) -> Any:
    """`schema` with int64 bounds on every integer and NUL refused in every text. `own`: the model class
    whose schema this is (its fields are rewritten; other models are checked whole unless hardened
    already); `resolve` (a core-schema handler's resolve_ref_schema) tells what a reference is."""
    return _Walk(own, resolve).node(schema)


class _Hardened:
    """The marker `Annotated[T, HARDENED]`: T's schema, hardened."""

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> Any:
        return harden(handler(source), handler.resolve_ref_schema)

    def __repr__(self) -> str:
        return "HARDENED"


HARDENED = _Hardened()


class HardenedModel(BaseModel):
    """Its subclasses harden their own fields (nested hardened models keep theirs; others are checked
    whole), and their JSON schema shows no `default: null` for a field that may be left out but not sent
    as null."""

    __hardened__: ClassVar[bool] = True

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler, /) -> Any:
        return harden(handler(source), handler.resolve_ref_schema, own=cls)

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler, /
    ) -> dict[str, Any]:
        json_schema = handler(schema)
        target = handler.resolve_ref_schema(json_schema)
        for prop in (target.get("properties") or {}).values():
            if "default" in prop and prop["default"] is None and not _nullable(prop):
                del prop["default"]
        return json_schema


def _nullable(prop: dict[str, Any]) -> bool:
    if prop.get("type") == "null" or "null" in (prop.get("type") or []):
        return True
    return any(_nullable(choice) for key in ("anyOf", "oneOf") for choice in prop.get(key, ()))


class ApiModel(HardenedModel):
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


class QueryModel(HardenedModel):
    """The query parameters of an operation, by their API names; an unknown name is refused."""

    model_config = ConfigDict(extra="forbid")


def not_null(**kwargs: Any) -> Any:
    """An optional field that may be left out but not sent as null: its default None is never validated,
    while an explicit null fails the field's (non-optional) type. Its JSON schema shows no default (the
    model's hook drops `default: null` from a type that is not nullable)."""
    return Field(None, **kwargs)
