"""The reference list of locales (GET /locales): BCP 47 codes of the centres' countries, native labels."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, StringConstraints, WithJsonSchema

# localeCode -> localeLabel, in the order GET /locales lists them by default.
LOCALES: dict[str, str] = {
    "cs-CZ": "Čeština",
    "da-DK": "Dansk",
    "de-AT": "Deutsch (Österreich)",
    "de-CH": "Deutsch (Schweiz)",
    "de-DE": "Deutsch",
    "en-AU": "English (Australia)",
    "en-GB": "English (United Kingdom)",
    "en-NZ": "English (New Zealand)",
    "en-US": "English (United States)",
    "es-ES": "Español",
    "fr-BE": "Français (Belgique)",
    "fr-CH": "Français (Suisse)",
    "fr-FR": "Français",
    "it-IT": "Italiano",
    "nb-NO": "Norsk bokmål",
    "nl-BE": "Nederlands (België)",
    "nl-NL": "Nederlands",
    "pl-PL": "Polski",
    "pt-PT": "Português",
    "sk-SK": "Slovenčina",
    "sv-SE": "Svenska",
}
_BY_FOLDED = {code.lower(): code for code in LOCALES}


def canonical_locale(raw: str) -> str | None:
    """The listed code `raw` names, case and '_' / '-' aside ("en_us" -> "en-US"); None when unlisted."""
    return _BY_FOLDED.get(raw.strip().replace("_", "-").lower())


def _known(raw: str) -> str:
    code = canonical_locale(raw)
    if code is None:
        raise ValueError(f"'{raw}' is not a locale of the reference list (GET /locales)")
    return code


def _canonical_or_same(raw: str) -> str:
    return canonical_locale(raw) or raw


_ENUM_SCHEMA = WithJsonSchema(
    {
        "type": "string",
        "enum": list(LOCALES),
        "description": "A code of GET /locales; case and '_' for '-' do not matter (en_us = en-US).",
    }
)
# The shape of a locale code (language, then an optional region): checked before the list is.
_SHAPE = StringConstraints(pattern=r"^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,4})?$")
# A body's localeCode: one of the list, stored in its canonical spelling.
LocaleCode = Annotated[str, _SHAPE, AfterValidator(_known), _ENUM_SCHEMA]
# A path's localeCode: canonical spelling when listed; an unlisted code simply matches nothing (404).
LocaleKey = Annotated[str, AfterValidator(_canonical_or_same)]
