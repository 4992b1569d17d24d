"""The two response shapes of the API, built in one place: one record, and a list with its links."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from fastapi.responses import JSONResponse
from starlette.datastructures import URL

T = TypeVar("T")


class Paged(Protocol):
    offset: int
    limit: int


def metadata(links: dict[str, Any]) -> dict[str, Any]:
    return {"version": 1, "_links": links}


def one(data: Any, status_code: int = 200, *, url: URL | None = None) -> JSONResponse:
    """`{"data": ...}`; with `url`, also the `metadata` block some operations carry (count, batches)."""
    body: dict[str, Any] = {"data": data}
    if url is not None:
        body["metadata"] = metadata({"self": str(url)})
    return JSONResponse(body, status_code=status_code)


def listing(url: URL, data: list[Any], next_params: dict[str, Any] | None = None) -> JSONResponse:
    """A list: every item, or one page whose next page is `url` with `next_params` (cursor paging)."""
    links: dict[str, Any] = {"self": str(url)}
    if next_params:
        links["next"] = str(url.include_query_params(**next_params))
    return JSONResponse({"data": data, "metadata": metadata(links)})


def page(url: URL, rows: Sequence[T], query: Paged, render: Callable[[T], Any]) -> JSONResponse:
    """An offset page from `rows` fetched with `limit + 1`: the extra row only says a next page exists."""
    has_next = len(rows) > query.limit
    data = [render(row) for row in rows[: query.limit]]
    return JSONResponse(
        {"data": data, "metadata": metadata(page_links(url, query.offset, query.limit, has_next))}
    )


def page_links(url: URL, offset: int, limit: int, has_next: bool) -> dict[str, Any]:
    links: dict[str, Any] = {"self": str(url)}
    if has_next:
        links["next"] = str(url.include_query_params(offset=offset + limit, limit=limit))
    if offset > 0:
        links["prev"] = str(url.include_query_params(offset=max(offset - limit, 0), limit=limit))
    return links
