"""Text search that ignores case and accents in every script, served by an index on a folded column."""

from __future__ import annotations

import unicodedata
from typing import Any

from sqlalchemy import ColumnElement, String, and_

# The highest code point: every string that starts with a prefix sorts below prefix + this one.
_AFTER_EVERYTHING = "\U0010ffff"


def fold(text: str) -> str:
    """How names and e-mails are compared in searches: case folded, accents and other marks dropped, in any
    script ("Élodie" -> "elodie", "Ñúñez-Åström" -> "nunez-astrom", "STRASSE" and "Straße" -> "strasse")."""
    if text.isascii():
        return text.lower()  # the same answer: ASCII has no marks, and its case folding is lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def folded_text(length: int) -> Any:
    """A column type for folded text: compared byte by byte (collation "C" on PostgreSQL, SQLite's default),
    so that a prefix is a range its index serves."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


def starts_with(folded_column: Any, text: str) -> ColumnElement[bool]:
    """The folded column starts with the folded `text`: a range on the column's index."""
    prefix = fold(text)
    return and_(folded_column >= prefix, folded_column < prefix + _AFTER_EVERYTHING)
