"""The value transforms a template may use. Plain functions on data: no user code is ever evaluated.

| name | args | import (outside -> entity) / export (entity -> outside) |
|---|---|---|
| trim | - | strip surrounding whitespace |
| lower / upper | - | change case |
| date | format (strftime/strptime, e.g. "%d/%m/%Y"; "yyyyMMddHHmmss" style is not accepted) | parse a text into a date-time / format a date-time as text |
| map | table (object), default (optional; without it an unknown value is an error) | replace a value by its entry in the table; an empty value stays empty unless the table has "" |
| concat | with (list of other outside names or, on export, API fields), separator (default " ") | join the value and the others, skipping empty ones |
| split | separator (default " "), index (default 0) | keep one part of the value (index may be negative: -1 = last) |
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class TransformFailed(ValueError):
    """A value the transform cannot handle; the message is meant for a data steward."""


class _NoArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DateArgs(_NoArgs):
    format: str = Field(min_length=1)


class MapArgs(_NoArgs):
    table: dict[str, Any]
    default: Any = None

    @property
    def has_default(self) -> bool:
        return "default" in self.model_fields_set


class ConcatArgs(_NoArgs):
    with_: list[str] = Field(alias="with", min_length=1)
    separator: str = " "


class SplitArgs(_NoArgs):
    separator: str = Field(" ", min_length=1)
    index: int = 0


def get_path(data: Mapping[str, Any], path: str) -> Any:
    """`contact.email` -> data["contact"]["email"]; an exact key wins over a dotted path (CSV headers)."""
    if path in data:
        return data[path]
    current: Any = data
    for part in path.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return None
        current = current[part]
    return current


def _text(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _case(method: str) -> Callable[[Any, Any, Mapping[str, Any], bool], Any]:
    def apply(value: Any, _args: Any, _context: Mapping[str, Any], _export: bool) -> Any:
        return getattr(value, method)() if isinstance(value, str) else value

    return apply


def _trim(value: Any, _args: Any, _context: Mapping[str, Any], _export: bool) -> Any:
    return _text(value)


def _date(value: Any, args: DateArgs, _context: Mapping[str, Any], export: bool) -> Any:
    if value is None or value == "":
        return None
    if export:
        if isinstance(value, str):
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return value.strftime(args.format) if isinstance(value, datetime) else value
    if isinstance(value, datetime):
        return value
    try:
        parsed = datetime.strptime(str(value).strip(), args.format)
    except ValueError:
        raise TransformFailed(f"'{value}' is not a date in the format {args.format}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _map(value: Any, args: MapArgs, _context: Mapping[str, Any], _export: bool) -> Any:
    key = "" if value is None else str(value)
    if key in args.table:
        return args.table[key]
    if key == "":
        return None  # no value is not an unknown value: the field stays empty (an entity default may apply)
    if args.has_default:
        return args.default
    raise TransformFailed(f"'{value}' is not one of {', '.join(args.table)}")


def _concat(value: Any, args: ConcatArgs, context: Mapping[str, Any], _export: bool) -> Any:
    parts = [value, *(get_path(context, name) for name in args.with_)]
    kept = [str(part).strip() for part in parts if part is not None and str(part).strip() != ""]
    return args.separator.join(kept) if kept else None


def _split(value: Any, args: SplitArgs, _context: Mapping[str, Any], _export: bool) -> Any:
    if not isinstance(value, str):
        return value
    parts = value.split(args.separator)
    try:
        return parts[args.index].strip()
    except IndexError:
        return None


TRANSFORMS: dict[str, tuple[type[BaseModel], Callable[..., Any]]] = {
    "trim": (_NoArgs, _trim),
    "lower": (_NoArgs, _case("lower")),
    "upper": (_NoArgs, _case("upper")),
    "date": (DateArgs, _date),
    "map": (MapArgs, _map),
    "concat": (ConcatArgs, _concat),
    "split": (SplitArgs, _split),
}


def check(name: str, args: dict[str, Any]) -> str | None:
    """None when `name(args)` is a valid transform, else what is wrong with it."""
    if name not in TRANSFORMS:
        return f"unknown transform '{name}'; known: {', '.join(TRANSFORMS)}"
    model, _fn = TRANSFORMS[name]
    try:
        model(**args)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or name}: {e['msg']}" for e in exc.errors())
        return f"invalid arguments for '{name}': {problems}"
    return None


class Pipeline:
    """The transforms of one field, with their arguments validated once."""

    def __init__(self, steps: list[tuple[str, dict[str, Any]]]) -> None:
        self.steps = [(TRANSFORMS[name][1], TRANSFORMS[name][0](**args)) for name, args in steps]

    def __call__(self, value: Any, context: Mapping[str, Any], export: bool = False) -> Any:
        for fn, args in self.steps:
            value = fn(value, args, context, export)
        return value
