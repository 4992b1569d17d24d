"""Declaration of the visitor-locales resource (the reference list is catalog.LOCALES, not a table)."""

from __future__ import annotations

from visitorhub.core.resource import Imports, Resource, Unique
from visitorhub.domains.locales.catalog import LOCALES, LocaleKey
from visitorhub.domains.locales.schemas import VisitorLocaleCreate, VisitorLocaleRead
from visitorhub.models import VisitorLocale

visitor_locales = Resource(
    name="visitor-locales",
    entity="VisitorLocale",
    model=VisitorLocale,
    read=VisitorLocaleRead,
    create=VisitorLocaleCreate,
    parent="visitors",
    path="/visitors/{visitorId}/locales",
    key="localeCode",
    key_annotation=LocaleKey,
    derived={"locale_label": ("locale_code", LOCALES.__getitem__)},
    unique=(
        Unique(("visitorId", "localeCode"), message="Visitor {visitorId} already has locale {localeCode}."),
    ),
    sortable=("creationDate", "localeCode"),
    operations={"create": 72, "list": 73, "get": 74, "delete": 75},
    descriptions={
        "create": "localeCode must be a code of GET /locales (en_us and en-US are the same code); "
        "localeLabel is the list's label.",
    },
    imports=Imports(),
    example={"localeCode": "fr-FR"},
)
