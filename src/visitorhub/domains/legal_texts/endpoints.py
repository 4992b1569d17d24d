"""Legal text operations that are not plain CRUD: the list in a locale, adding a locale at its own URL,
and a visitor's required consents."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Body, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from visitorhub.core.catalogue import documented
from visitorhub.core.deps import DbSession, WriteCtx
from visitorhub.core.listing import apply_sort, list_query_model, parse_fields, select_fields
from visitorhub.core.responses import listing, one, page
from visitorhub.core.router import ERROR_RESPONSES, READ, WRITE, Router, check_parent, filtered, load_item
from visitorhub.core.schemas import DataEnvelope, ListEnvelope
from visitorhub.domains.legal_texts.resources import legal_text_locales, legal_texts
from visitorhub.domains.legal_texts.schemas import (
    LegalTextLocaleCreate,
    LegalTextLocaleRead,
    LegalTextRead,
    RequiredConsentRead,
)
from visitorhub.domains.legal_texts.service import required_consents
from visitorhub.domains.translations import check_locale
from visitorhub.domains.visitors.resources import visitors
from visitorhub.errors import InvalidInput
from visitorhub.models import Center, LegalText, LegalTextLocale, Visitor

router = Router(tags=[legal_texts.tag_name], responses=ERROR_RESPONSES)

LegalTextListQuery = list_query_model(legal_texts)


def _locale(value: str, field: str) -> str:
    try:
        return check_locale(value)
    except ValueError as exc:
        raise InvalidInput(str(exc), field=field, code="unknown_locale") from None


@router.get(
    "/legal-texts",
    response_model=ListEnvelope[LegalTextRead],
    dependencies=READ,
    description="With `locale`, optinDisplayText, optinHeaderText and documentText are that locale's (null "
    "where the text has none); without, they are null. `latest=true` keeps the latest released version "
    "of each type.",
    **documented(108),
)
def list_legal_texts(
    request: Request,
    session: DbSession,
    query: Annotated[LegalTextListQuery, Query()],  # type: ignore[valid-type]
) -> JSONResponse:
    q: Any = query
    locale = _locale(q.locale, "locale") if q.locale is not None else None
    fields = parse_fields(legal_texts, q.fields)
    stmt = apply_sort(legal_texts, filtered(legal_texts, select(LegalText), q), q.sort)
    rows = list(session.scalars(stmt.offset(q.offset).limit(q.limit + 1)))
    texts: dict[int, LegalTextLocale] = {}
    if locale is not None and rows:
        texts = {
            row.legal_text_id: row
            for row in session.scalars(
                select(LegalTextLocale).where(
                    LegalTextLocale.locale_code == locale,
                    LegalTextLocale.legal_text_id.in_([row.id for row in rows[: q.limit]]),
                )
            )
        }

    def render(row: LegalText) -> dict[str, Any]:
        data = legal_texts.service.represent(row)
        text = texts.get(row.id)
        if text is not None:
            data.update(
                optinDisplayText=text.optin_display_text,
                optinHeaderText=text.optin_header_text,
                documentText=text.document_text,
            )
        return select_fields(data, fields)

    return page(request.url, rows, q, render)


@router.post(
    "/legal-texts/{legalTextId}/locales/{localeCode}",
    status_code=201,
    response_model=DataEnvelope[LegalTextLocaleRead],
    dependencies=WRITE,
    description="localeCode must be a known locale code; each locale once per legal text (409).",
    **documented(111),
)
def create_legal_text_locale(
    session: DbSession,
    ctx: WriteCtx,
    legal_text_id: Annotated[int, Path(alias="legalTextId")],
    locale_code: Annotated[str, Path(alias="localeCode")],
    body: Annotated[LegalTextLocaleCreate, Body()],
) -> JSONResponse:
    check_parent(session, legal_text_locales, {"legalTextId": legal_text_id})
    values = {
        **body.model_dump(),
        "legal_text_id": legal_text_id,
        "locale_code": _locale(locale_code, "localeCode"),
    }
    record = legal_text_locales.service.create(session, values, ctx)
    return one(legal_text_locales.service.represent(record), 201)


class RequiredConsentsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    newCenter: str | None = Field(
        None, description="pcCode of a centre the visitor is joining: its legal texts count too."
    )


@router.get(
    "/visitors/{visitorId}/required-consents",
    response_model=ListEnvelope[RequiredConsentRead],
    dependencies=READ,
    description="One item per legal type that concerns the visitor (every visitor, or, for loyalty, "
    "privacy_eu, privacy_us, sms_us and smartparking_us, one of the visitor's centres or newCenter) and "
    "has a released version: that version's id, and requireConsent true when it asks for consent and "
    "the visitor has no active opt-in for it.",
    **documented(106),
)
def list_required_consents(
    request: Request,
    session: DbSession,
    visitor_id: Annotated[uuid.UUID, Path(alias="visitorId")],
    query: Annotated[RequiredConsentsQuery, Query()],
) -> JSONResponse:
    visitor: Visitor = load_item(session, visitors, {"visitorId": visitor_id})
    new_center = None
    if query.newCenter is not None:
        new_center = session.get(Center, query.newCenter)
        if new_center is None:
            raise InvalidInput(f"Center {query.newCenter} does not exist.", field="newCenter", code="unknown")
    return listing(request.url, required_consents(session, visitor, new_center))
