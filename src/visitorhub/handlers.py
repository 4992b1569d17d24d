"""The handlers that render every error as {"errors": [{"code", "type", "field", "message"}]}."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
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
            field = field_path(tuple(err.get("loc", ())))
            if kind == "json_invalid":
                status = 400
                items.append(
                    {
                        "code": "malformed_json",
                        "type": "invalid_request",
                        "field": None,
                        "message": f"The request body is not valid JSON: {err.get('msg', '')}",
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
