"""Declarations of legal texts and their locales."""

from __future__ import annotations

from visitorhub.core.db import utcnow
from visitorhub.core.resource import Filter, Resource, Unique, equals, ignored
from visitorhub.domains.enums import LegalType
from visitorhub.domains.legal_texts.schemas import (
    LegalTextCreate,
    LegalTextLocaleCreate,
    LegalTextLocaleRead,
    LegalTextLocaleUpdate,
    LegalTextRead,
    LegalTextUpdate,
)
from visitorhub.domains.legal_texts.service import LegalTextService, latest_released
from visitorhub.models import LegalText, LegalTextLocale

legal_texts = Resource(
    name="legal-texts",
    entity="LegalText",
    model=LegalText,
    read=LegalTextRead,
    create=LegalTextCreate,
    update=LegalTextUpdate,
    service_class=LegalTextService,
    key="legalTextId",
    sortable=("creationDate", "updateDate", "releaseDate", "version", "type"),
    filters=(
        Filter("legalType", LegalType, equals(LegalText.type), "Legal text type"),
        Filter("version", int, equals(LegalText.version), "Version"),
        Filter(
            "latest",
            bool,
            lambda stmt, latest: latest_released(stmt, utcnow()) if latest else stmt,
            "Only the latest released version of each type (releaseDate not in the future)",
        ),
        Filter(
            "locale", str, ignored, "Fill optinDisplayText, optinHeaderText and documentText in this locale"
        ),
    ),
    operations={"create": 107, "get": 109, "update": 110},
    descriptions={
        "create": "version is the next one of the type (1 for the first); from its releaseDate visitors "
        "owe a consent to this version.",
        "get": "optinDisplayText, optinHeaderText and documentText are null here: read them from "
        "/legal-texts/{legalTextId}/locales, or list with `locale`.",
    },
    example={"type": "terms", "releaseDate": "2019-08-24T14:15:22Z"},
    example_update={"requireConsent": False},
)

legal_text_locales = Resource(
    name="legal-text-locales",
    entity="LegalTextLocale",
    model=LegalTextLocale,
    read=LegalTextLocaleRead,
    create=LegalTextLocaleCreate,
    update=LegalTextLocaleUpdate,
    parent="legal-texts",
    path="/legal-texts/{legalTextId}/locales",
    key="localeCode",
    unique=(
        Unique(
            ("legalTextId", "localeCode"),
            message="Legal text {legalTextId} already has locale {localeCode}.",
        ),
    ),
    sortable=("creationDate", "updateDate", "localeCode"),
    operations={"get": 112, "update": 113, "list": 114},
    example={"optinDisplayText": "I accept", "optinHeaderText": "Terms", "documentText": "..."},
    example_update={"documentText": "Updated terms."},
)
