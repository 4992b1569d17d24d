"""Spotting a full card number (PAN) in text: 13 to 19 digits, spaces or dashes between them allowed,
that pass the Luhn check. Used to refuse a body that carries one, so it never reaches storage or logs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

_CANDIDATE = re.compile(r"(?<![0-9])[0-9](?:[ -]?[0-9]){12,18}(?![0-9])")


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def has_card_number(text: str) -> bool:
    for match in _CANDIDATE.finditer(text):
        digits = match.group().replace(" ", "").replace("-", "")
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            return True
    return False


def texts(value: Any) -> Iterator[str]:
    """The texts a JSON value holds (numbers as their digits), nested lists and objects included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, int) and not isinstance(value, bool):
        yield str(value)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from texts(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from texts(item)
