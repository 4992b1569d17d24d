"""AppError hierarchy: the expected errors of services, the API and the CLI (no HTTP stack imported here;
the app renders them, see handlers.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class AppError(Exception):
    """An expected error: rendered with its status, never logged as a failure."""

    status = 400
    type = "invalid_request"
    code = "invalid_request"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code

    def items(self) -> list[dict[str, Any]]:
        return [{"code": self.code, "type": self.type, "field": self.field, "message": self.message}]


class BadRequest(AppError):
    status = 400


class InvalidInput(AppError):
    status = 422
    type = "validation_error"
    code = "invalid"


class NotFound(AppError):
    status = 404
    type = "not_found"
    code = "not_found"


class Conflict(AppError):
    status = 409
    type = "conflict"
    code = "conflict"


class PayloadTooLarge(AppError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(AppError):
    status = 415
    code = "unsupported_media_type"


class Unauthorized(AppError):
    status = 401
    type = "authentication_error"
    code = "unauthorized"


class Forbidden(AppError):
    status = 403
    type = "permission_error"
    code = "forbidden"


class ValidationErrors(AppError):
    """Several field errors at once (a batch or a whole body)."""

    status = 422
    type = "validation_error"

    def __init__(self, errors: Sequence[tuple[str | None, str, str]]) -> None:
        super().__init__("; ".join(message for _, _, message in errors))
        self.errors = errors

    def items(self) -> list[dict[str, Any]]:
        return [
            {"code": code, "type": self.type, "field": field, "message": message}
            for field, code, message in self.errors
        ]
