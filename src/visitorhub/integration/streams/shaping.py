"""A stream record's `data` shaped by an `out` template instead of the API representation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from visitorhub.integration.streams.service import check_template
from visitorhub.integration.templates.export import export_fields
from visitorhub.integration.templates.planning import compile_template
from visitorhub.integration.templates.service import resolve


def template_shaper(session: Session, name: str, entity: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The template's (single) entity map applied to one representation: the outside names it declares,
    nested by their dotted paths, through the template's export transforms."""
    check_template(session, name, entity)  # it may have changed since the subscription was saved
    (plan,) = compile_template(resolve(session, name))

    def shape(representation: dict[str, Any]) -> dict[str, Any]:
        row: dict[str, Any] = {}
        export_fields(plan, representation, row)
        return row

    return shape
