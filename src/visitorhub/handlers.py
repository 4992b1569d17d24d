"""The handlers that render every error as {"errors": [{"code", "type", "field", "message"}]}."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic.alias_generators import to_camel
from sqlalchemy.exc import DataError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from visitorhub.errors import AppError

log = logging.getLogger("visitorhub.errors")


def error_response(
    status: int, items: list[dict[str, Any]], headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"errors": items}, status_code=status, headers=headers)


def field_path(loc: tuple[int | str, ...]) -> str | None:
    """("body", "optins", 0, "optinType") -> "optins[0].optinType"; query/path prefixes dropped."""
    parts = list(loc)
    if parts and parts[0] in {"body", "query", "path", "header"}:
        parts = parts[1:]
    if len(parts) >= 2 and parts[-1] == "[key]":  # a dict's key is at fault: name the dict
        parts = parts[:-2]
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or None


_STATUS_TYPES = {
    400: ("invalid_request", "bad_request"),
    401: ("authentication_error", "unauthorized"),
    403: ("permission_error", "forbidden"),
    404: ("not_found", "not_found"),
    405: ("invalid_request", "method_not_allowed"),
    406: ("invalid_request", "not_acceptable"),
    409: ("conflict", "conflict"),
    413: ("invalid_request", "payload_too_large"),
    415: ("invalid_request", "unsupported_media_type"),
    429: ("rate_limit", "too_many_requests"),
}


def line_column(text: str | bytes, position: int) -> tuple[int, int]:
    """1-based line and column of `position` in `text`."""
    before = text[:position]
    newline = "\n" if isinstance(before, str) else b"\n"
    line = before.count(newline) + 1  # type: ignore[arg-type]
    return line, position - (before.rfind(newline) + 1) + 1  # type: ignore[arg-type]


def _malformed(message: str) -> dict[str, Any]:
    return {"code": "malformed_json", "type": "invalid_request", "field": None, "message": message}


def _json_error(err: dict[str, Any], doc: Any) -> dict[str, Any]:
    loc = err.get("loc", ())
    position = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else None
    reason = (err.get("ctx") or {}).get("error") or err.get("msg", "")
    where = ""
    if position is not None and isinstance(doc, str | bytes):
        line, column = line_column(doc, position)
        where = f" at line {line}, column {column}"
    return _malformed(f"The request body is not valid JSON: {reason}{where}.")


def _not_utf8(exc: UnicodeDecodeError) -> dict[str, Any]:
    line, column = line_column(exc.object, exc.start)
    return _malformed(
        f"The request body is not valid JSON: it must be UTF-8 text, and byte "
        f"0x{exc.object[exc.start]:02x} at line {line}, column {column} is not."
    )


# An enum error lists at most this many allowed values, then where the whole list is.
ENUM_SHOWN = 8


def _enum_values(expected: str) -> list[str]:
    """pydantic's "'a', 'b' or 'c'" -> ["'a'", "'b'", "'c'"]."""
    head, _sep, last = expected.rpartition(" or ")
    values = [part.strip() for part in head.split(", ")] if head else []
    return [*values, last.strip()]


def _enum_message(err: dict[str, Any], field: str | None) -> str:
    values = _enum_values(str((err.get("ctx") or {}).get("expected", "")))
    given = err.get("input")
    shown = ", ".join(values[:ENUM_SHOWN])
    rest = len(values) - ENUM_SHOWN
    prefix = f"{field}: " if field else ""
    return (
        f"{prefix}{given!r} is not allowed; allowed: {shown} and {rest} more (the whole list: this "
        "field's enum in the operation's schema, GET /openapi.json or /docs)."
    )


INT32 = (-(2**31), 2**31 - 1)


def _out_of_range(params: Any) -> str | None:
    """The API name of the one statement parameter beyond 32 bits (attribute names are the API's, in
    snake_case), or None."""
    if not isinstance(params, dict):
        return None
    names = [
        name
        for name, value in params.items()
        if isinstance(value, int) and not isinstance(value, bool) and not INT32[0] <= value <= INT32[1]
    ]
    return to_camel(names[0]) if len(names) == 1 else None


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(_request: Request, exc: AppError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return error_response(exc.status, exc.items(), headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        items = []
        status = 422
        for err in exc.errors():
            kind = err.get("type", "invalid")
            loc = tuple(err.get("loc", ()))
            field = field_path(loc)
            if kind == "json_invalid":
                return error_response(400, [_json_error(err, exc.body)])
            if kind == "missing" and loc == ("body",):
                return error_response(
                    400,
                    [
                        {
                            "code": "body_required",
                            "type": "invalid_request",
                            "field": None,
                            "message": "This operation needs a body: JSON, with 'Content-Type: "
                            "application/json'.",
                        }
                    ],
                )
            if (
                kind == "enum"
                and len(_enum_values(str((err.get("ctx") or {}).get("expected", "")))) > ENUM_SHOWN
            ):
                items.append(
                    {
                        "code": kind,
                        "type": "validation_error",
                        "field": field,
                        "message": _enum_message(dict(err), field),
                    }
                )
                continue
            if kind == "extra_forbidden" and err.get("loc", ("",))[0] == "query":
                status = 400
                items.append(
                    {
                        "code": "unknown_parameter",
                        "type": "invalid_request",
                        "field": field,
                        "message": f"Unknown query parameter '{field}'.",
                    }
                )
                continue
            message = err.get("msg", "Invalid value.")
            if loc and loc[-1] == "[key]":
                message = f"a key: {message}"
            items.append(
                {
                    "code": kind,
                    "type": "validation_error",
                    "field": field,
                    "message": f"{field}: {message}" if field else message,
                }
            )
        return error_response(status, items)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError):
            # FastAPI's "error parsing the body": JSON that is not UTF-8.
            return error_response(400, [_not_utf8(exc.__cause__)])
        kind, code = _STATUS_TYPES.get(exc.status_code, ("invalid_request", "http_error"))
        message = exc.detail if isinstance(exc.detail, str) else "Request failed."
        if exc.status_code == 404 and message == "Not Found":
            message = "No such route."
        return error_response(
            exc.status_code,
            [{"code": code, "type": kind, "field": None, "message": message}],
            dict(exc.headers) if exc.headers else None,
        )

    @app.exception_handler(IntegrityError)
    async def _integrity_error(_request: Request, exc: IntegrityError) -> JSONResponse:
        # Services check uniqueness themselves and name the field; this is the race-condition backstop.
        log.info("integrity error: %s", type(exc.orig).__name__)
        return error_response(
            409,
            [
                {
                    "code": "conflict",
                    "type": "conflict",
                    "field": None,
                    "message": "The record conflicts with an existing one.",
                }
            ],
        )

    @app.exception_handler(DataError)
    async def _data_error(_request: Request, exc: DataError) -> JSONResponse:
        # The backstop for a value its column cannot hold that no rule caught first (a number past a 32-bit
        # column's range on PostgreSQL, say): a 422, naming the field when one value is out of range.
        log.warning("data error: %s", type(exc.orig).__name__)
        numeric = type(exc.orig).__name__ == "NumericValueOutOfRange"
        field = _out_of_range(exc.params) if numeric else None
        message = "A value does not fit its column (a number out of range, or a text too long)."
        return error_response(
            422,
            [
                {
                    "code": "out_of_range",
                    "type": "validation_error",
                    "field": field,
                    "message": f"{field}: {message}" if field else message,
                }
            ],
        )

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return error_response(
            500,
            [
                {
                    "code": "internal_error",
                    "type": "server_error",
                    "field": None,
                    "message": "An unexpected error occurred; it has been logged.",
                }
            ],
        )
