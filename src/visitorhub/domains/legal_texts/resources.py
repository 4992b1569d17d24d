"""Declarations of legal texts (addressed by legalTextId, shown as id) and their locales."""

from __future__ import annotations

from dataclasses import dataclass

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


# CORE-CANDIDATE: Resource.key_field. A legal text's path names its key legalTextId while its
# representation names the field id (the seed's names); the core takes the key's attribute from the
# read field of the same name.
@dataclass(eq=False)
class KeyedResource(Resource):
    """A resource whose path key (`key`) is the read field `key_field` under another name."""

    key_field: str | None = None

    @property
    def key_attr(self) -> str:
        return self.attributes[self.key_field or self.key or ""]

    @property
    def key_type(self) -> object:
        return self.read.model_fields[self.key_attr].annotation


legal_texts = KeyedResource(
    name="legal-texts",
    entity="LegalText",
    model=LegalText,
    read=LegalTextRead,
    create=LegalTextCreate,
    update=LegalTextUpdate,
    service_class=LegalTextService,
    key="legalTextId",
    key_field="id",
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
