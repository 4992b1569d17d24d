"""GET /locales: the reference list of locale codes (a constant, paged and sorted like any list)."""

from __future__ import annotations

from operator import itemgetter
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import JSONResponse

from visitorhub.core.catalogue import documented
from visitorhub.core.listing import ListQuery, select_fields
from visitorhub.core.responses import page
from visitorhub.core.router import ERROR_RESPONSES, READ, Router
from visitorhub.core.schemas import ListEnvelope
from visitorhub.domains.locales.catalog import LOCALES
from visitorhub.domains.locales.schemas import LocaleRead
from visitorhub.errors import BadRequest

router = Router(tags=["locales"], responses=ERROR_RESPONSES)
FIELDS = ("localeCode", "localeLabel")


def _names(raw: str | None, param: str) -> list[str]:
    names = [part.strip() for part in (raw or "").split(",") if raw]
    for name in names:
        if name.lstrip("-" if param == "sort" else "") not in FIELDS:
            raise BadRequest(
                f"Unknown field '{name}' in {param}; known fields: {', '.join(FIELDS)}.",
                field=param,
                code="unknown_field",
            )
    return names


@router.get(
    "/locales",
    **documented(71),
    dependencies=READ,
    response_model=ListEnvelope[LocaleRead],
    description="The locale codes visitors' locales are chosen from, with their labels in their own "
    "language. Sortable by localeCode (default) and localeLabel.",
)
def list_locales(request: Request, query: Annotated[ListQuery, Query()]) -> JSONResponse:
    rows: list[dict[str, Any]] = [
        {"localeCode": code, "localeLabel": label} for code, label in LOCALES.items()
    ]
    for name in reversed(_names(query.sort, "sort") or ["localeCode"]):  # stable sorts, last key first
        rows.sort(key=itemgetter(name.lstrip("-")), reverse=name.startswith("-"))
    fields = _names(query.fields, "fields") or None
    window = rows[query.offset : query.offset + query.limit + 1]
    return page(request.url, window, query, lambda row: select_fields(row, fields))
