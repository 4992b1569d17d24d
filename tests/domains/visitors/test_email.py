"""The Email type of the visitor schemas accepts, rejects and normalises exactly like pydantic's EmailStr."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import EmailStr, TypeAdapter, ValidationError

from visitorhub.domains.visitors.schemas import Email, _plain_domain

EMAIL_STR: TypeAdapter[str] = TypeAdapter(EmailStr)
EMAIL: TypeAdapter[str] = TypeAdapter(Email)

LONG_DOMAIN = ".".join(["d" * 63] * 3) + ".com"  # 196 characters

ADDRESSES = [
    # plain addresses, whose domain is checked once per process
    "ann@example.com",
    "Ann.Lee+tag@Example.COM",
    "ann@EXAMPLE.com",
    "ann@mail.example.org",
    "a!#$%&'*+/=?^_`{|}~-@example.com",
    "ann@sub-domain.example.co.uk",
    "ann@example.com.",
    "ann@xn--bcher-kva.example",  # IDNA: normalised to Unicode, full validation
    # mailbox names that email_validator lower-cases
    "Postmaster@example.com",
    "ABUSE@example.com",
    "Info@Example.com",
    # not plain: spaces, display names, quotes, Unicode, literals
    "  ann@example.com ",
    "Ann Lee <ann@example.com>",
    '"Ann Lee" <ann@example.com>',
    '"ann lee"@example.com',
    "ännä@example.com",
    "ann@bücher.example",
    "ann@[192.168.0.1]",
    # invalid ones
    "",
    "ann",
    "ann@",
    "@example.com",
    "ann@@example.com",
    "ann@example@example.com",
    "ann..lee@example.com",
    ".ann@example.com",
    "ann.@example.com",
    "ann@example..com",
    "ann@-example.com",
    "ann@example-.com",
    "ann@example",
    "ann@localhost",
    "ann@example.invalid",
    "ann@example.test",
    "ann@example.local",
    "ann@123.com4",
    "ann@1.2.3.4",
    "ann@exa_mple.com",
    "ann lee@example.com",
    "ann@example.com\n",
    "a" * 64 + "@example.com",
    "a" * 65 + "@example.com",
    "a" * 57 + "@" + LONG_DOMAIN,  # 254 characters
    "a" * 58 + "@" + LONG_DOMAIN,  # 255
    "a@" + "d" * 64 + ".com",  # a label longer than 63
    "a" * 300 + "@example.com",
]


def outcome(adapter: TypeAdapter[str], value: Any) -> tuple[str, Any]:
    try:
        return "ok", adapter.validate_python(value)
    except ValidationError as exc:
        return "error", [(e["type"], e["msg"]) for e in exc.errors()]


@pytest.mark.parametrize("address", ADDRESSES)
def test_same_outcome_as_emailstr(address: str) -> None:
    expected = outcome(EMAIL_STR, address)
    assert outcome(EMAIL, address) == expected
    assert outcome(EMAIL, address) == expected  # again, with the domain cached


@pytest.mark.parametrize("value", [None, 42, b"ann@example.com"])
def test_same_outcome_for_other_types(value: Any) -> None:
    assert outcome(EMAIL, value) == outcome(EMAIL_STR, value)


def test_same_json_schema() -> None:
    assert EMAIL.json_schema() == EMAIL_STR.json_schema()


def test_a_domain_is_checked_once() -> None:
    _plain_domain.cache_clear()
    for n in range(100):
        EMAIL.validate_python(f"ann{n}@cached.example.com")
    info = _plain_domain.cache_info()
    assert (info.misses, info.hits) == (1, 99)
