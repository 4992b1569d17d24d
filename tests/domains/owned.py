"""Helpers shared by the tests of what a visitor owns (part 2 of the Visitor API)."""

from __future__ import annotations

from typing import Any

import httpx

UNKNOWN_VISITOR = "00000000-0000-4000-8000-000000000000"


def ok(response: httpx.Response, status: int = 200) -> Any:
    """The `data` of a successful response."""
    assert response.status_code == status, response.text
    return response.json()["data"]


def error(response: httpx.Response, status: int) -> dict[str, Any]:
    """The first error of a failed response, checking its status and envelope."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"errors"}, body
    return body["errors"][0]  # type: ignore[no-any-return]


def fields(response: httpx.Response, status: int) -> list[str | None]:
    """The fields every error of a failed response names."""
    assert response.status_code == status, response.text
    return [item["field"] for item in response.json()["errors"]]
