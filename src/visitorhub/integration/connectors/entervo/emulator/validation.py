"""What the emulated API accepts: consumer and search bodies checked field by field, errors as Spring's."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_ALPHA3 = re.compile(r"^[A-Z]{3}$")
_TEXT_FIELDS = ("firstName", "lastName", "email", "externalReference", "costCenter")


class ApiError(Exception):
    """An error answer: a status and the message of a Spring Boot error body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def error_body(status: int, message: str, path: str) -> dict[str, Any]:
    """Spring Boot's default error body [INF]."""
    return {
        "timestamp": now_iso(),
        "status": status,
        "error": HTTPStatus(status).phrase,
        "message": message,
        "path": path,
    }


def text(body: Mapping[str, Any], name: str, where: str = "") -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise ApiError(400, f"{where}{name}: must be a string")
    return value


def obj(value: Any, where: str) -> dict[str, Any]:
    """An optional JSON object (None → {})."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ApiError(400, f"{where}: must be an object")
    return value


def integer(body: Mapping[str, Any], name: str, default: int | None) -> int | None:
    value = body.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(400, f"{name}: must be an integer")
    return value


def medium(raw: Any, index: int) -> dict[str, Any]:
    where = f"mediums[{index}]."
    if not isinstance(raw, dict):
        raise ApiError(400, f"mediums[{index}]: must be an object")
    kind = raw.get("type")
    if kind != "LICENSEPLATE":
        raise ApiError(400, f"{where}type: must be one of [LICENSEPLATE], got {kind!r}")
    value = text(raw, "value", where)
    if not value or not value.strip():
        raise ApiError(400, f"{where}value: must not be blank")
    encoding = text(raw, "encoding", where) or "HEX"
    if encoding != "HEX":
        raise ApiError(400, f"{where}encoding: must be one of [HEX], got {encoding!r}")
    result: dict[str, Any] = {"type": kind, "value": value, "encoding": encoding}
    region = raw.get("licencePlateRegion")
    if region is not None:
        if not isinstance(region, dict):
            raise ApiError(400, f"{where}licencePlateRegion: must be an object")
        code = text(region, "code", f"{where}licencePlateRegion.")
        country = text(region, "country", f"{where}licencePlateRegion.")
        if country is not None and not _ALPHA3.match(country):
            raise ApiError(
                400, f"{where}licencePlateRegion.country: must be an ISO-3166 alpha-3 code, got {country!r}"
            )
        result["licencePlateRegion"] = {"code": code, "country": country}
    if isinstance(raw.get("businessId"), str):
        result["businessId"] = raw["businessId"]
    return result


def consumer_fields(body: Any, contract_id: str | None, products: tuple[str, ...]) -> dict[str, Any]:
    """The stored fields of a consumer body, or ApiError(400). `contract_id`/`products`: when set, the
    only contract (and products) the tenant has."""
    if not isinstance(body, dict):
        raise ApiError(400, "Request body must be a JSON object")
    fields: dict[str, Any] = {name: text(body, name) for name in _TEXT_FIELDS}
    if fields["email"] is not None and not _EMAIL.match(fields["email"]):
        raise ApiError(400, "email: must be a well-formed email address")
    if fields["externalReference"] is not None and not fields["externalReference"].strip():
        raise ApiError(400, "externalReference: must not be blank")
    mediums = body.get("mediums") or []
    if not isinstance(mediums, list):
        raise ApiError(400, "mediums: must be an array")
    fields["mediums"] = [medium(raw, i) for i, raw in enumerate(mediums)]
    contract = body.get("contract")
    if contract is not None:
        if not isinstance(contract, dict) or not isinstance(contract.get("businessId"), str):
            raise ApiError(400, "contract.businessId: must not be null")
        wanted = contract.get("products") or []
        if not isinstance(wanted, list) or not all(isinstance(p, str) for p in wanted):
            raise ApiError(400, "contract.products: must be an array of product business ids")
        if contract_id is not None and contract["businessId"] != contract_id:
            raise ApiError(400, f"Contract {contract['businessId']} not found")
        unknown = [p for p in wanted if products and p not in products]
        if unknown:
            raise ApiError(400, f"Products {unknown} are not part of contract {contract['businessId']}")
        contract = {"businessId": contract["businessId"], "products": list(wanted)}
    fields["contract"] = contract
    return fields
