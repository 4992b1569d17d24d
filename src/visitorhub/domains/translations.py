"""Translated texts (the seed's TranslationPostAttributes: `{localeCode, value}` per locale) and the list
of locale codes they are checked against.

Families store a translated field as a JSON array of `{localeCode, value, creationDate, updateDate}` items
on their own record, so a translation change is a change of that record (one change record, nothing
half-applied) and reads need no join.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, Field

from visitorhub.core.db import iso_utc
from visitorhub.core.schemas import ApiModel

# CORE-CANDIDATE: the reference list of locale codes (code -> label). Part 2 serves `GET /locales` from a
# list of its own; the integrator makes both use one.
LOCALE_CODES: dict[str, str] = {
    "ca-ES": "Català",
    "cs-CZ": "Čeština",
    "da-DK": "Dansk",
    "de-AT": "Deutsch (Österreich)",
    "de-CH": "Deutsch (Schweiz)",
    "de-DE": "Deutsch",
    "en-GB": "English (United Kingdom)",
    "en-US": "English (United States)",
    "es-ES": "Español",
    "fi-FI": "Suomi",
    "fr-BE": "Français (Belgique)",
    "fr-CH": "Français (Suisse)",
    "fr-FR": "Français",
    "it-CH": "Italiano (Svizzera)",
    "it-IT": "Italiano",
    "nb-NO": "Norsk bokmål",
    "nl-BE": "Nederlands (België)",
    "nl-NL": "Nederlands",
    "pl-PL": "Polski",
    "pt-PT": "Português",
    "sk-SK": "Slovenčina",
    "sv-SE": "Svenska",
}
_SEPARATOR = re.compile(r"[-_]")


def canonical_locale(code: str) -> str | None:
    """The listed spelling of `code` ("fr_fr", "FR-fr" -> "fr-FR"), or None when it is not listed."""
    parts = _SEPARATOR.split(code.strip())
    if len(parts) != 2:
        return None
    candidate = f"{parts[0].lower()}-{parts[1].upper()}"
    return candidate if candidate in LOCALE_CODES else None


def check_locale(code: str) -> str:
    """A listed locale code in its canonical spelling; a ValueError naming the known ones otherwise."""
    canonical = canonical_locale(code)
    if canonical is None:
        raise ValueError(f"'{code}' is not a known locale code; known codes: {', '.join(LOCALE_CODES)}")
    return canonical


LocaleCode = Annotated[
    str,
    Field(
        min_length=2,
        max_length=16,
        examples=["fr-FR"],
        description="A locale code of the reference list (language-REGION, e.g. fr-FR; '_' and case are "
        "accepted and normalised).",
    ),
    AfterValidator(check_locale),
]


class TranslationPostAttributes(ApiModel):
    locale_code: LocaleCode
    value: str = Field(min_length=1, max_length=100_000, examples=["La Bonne Excuse"])


def _one_per_locale(items: list[TranslationPostAttributes]) -> list[TranslationPostAttributes]:
    seen: set[str] = set()
    for item in items:
        if item.locale_code in seen:
            raise ValueError(f"localeCode {item.locale_code} is given twice; give one value per locale")
        seen.add(item.locale_code)
    return items


Translations = Annotated[
    list[TranslationPostAttributes],
    AfterValidator(_one_per_locale),
    Field(description="One value per locale; on update the array replaces the previous one."),
]


class ArticleTranslationRead(ApiModel):
    locale_code: str
    value: str
    creation_date: datetime
    update_date: datetime


class ChallengeTranslationRead(ApiModel):
    creation_date: datetime
    update_date: datetime
    locale_code: str
    value: str
    type: str = Field(description="The translated field: displayName, description or rewardDetail.")


def stored_translations(
    given: list[dict[str, Any]],
    previous: list[dict[str, Any]] | None,
    now: datetime,
    kind: str | None = None,
) -> list[dict[str, Any]]:
    """The JSON stored for a translated field set to `given` (validated items, snake_case keys): a locale
    whose value is unchanged keeps its item as it was; a changed one keeps its creationDate."""
    before = {item["localeCode"]: item for item in previous or []}
    stamp = iso_utc(now)
    stored: list[dict[str, Any]] = []
    for item in given:
        code, value = item["locale_code"], item["value"]
        old = before.get(code)
        if old is not None and old["value"] == value:
            stored.append(old)
            continue
        entry: dict[str, Any] = {
            "localeCode": code,
            "value": value,
            "creationDate": old["creationDate"] if old is not None else stamp,
            "updateDate": stamp,
        }
        if kind is not None:
            entry["type"] = kind
        stored.append(entry)
    return stored
