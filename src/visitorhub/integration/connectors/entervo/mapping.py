"""Visitor + vehicles → entervo regular consumer aggregate (pure functions), and its content hash.

The medium follows shared/docs/external-systems.md §1.4: `type: LICENSEPLATE`, `encoding: "HEX"` sent
exactly as documented, and `value` the plate's own characters, upper case, without separators. The docs
never explain "HEX" for a plate and their example value `MM5478` is not hexadecimal, so the value is *not*
hex-encoded [DOC S3 example; INF]. `licencePlateRegion.country` is ISO-3166 alpha-3 [CODE C3] and `code`
the district prefix: the letters before the plate's first separator (`M-M 5478` → `M`, the documented
`MM5478`/`M` pair), else the first two letters (`BL123AB` → `BL`, as third-party callers do) [CODE C3; INF].
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from visitorhub.integration.connectors.countries import ALPHA2_TO_ALPHA3

_SEPARATORS = re.compile(r"[\s\-.·_/]+")
_ALPHA3 = frozenset(ALPHA2_TO_ALPHA3.values())


class MappingError(ValueError):
    """A visitor that cannot become a consumer (no id, a plate or country that cannot be mapped)."""


@dataclass(frozen=True)
class ContractSettings:
    """The connector's pre-shared values: the customer the consumers belong to, its contract and products."""

    customer_business_id: str
    contract_business_id: str
    product_ids: tuple[str, ...]

    @classmethod
    def from_dict(cls, settings: Mapping[str, Any]) -> ContractSettings:
        """From the connector settings' camelCase keys: customerBusinessId, contractBusinessId, productIds."""
        try:
            products = settings["productIds"]
            if not isinstance(products, list | tuple) or not all(isinstance(p, str) for p in products):
                raise MappingError("productIds must be a list of product business ids")
            return cls(
                str(settings["customerBusinessId"]), str(settings["contractBusinessId"]), tuple(products)
            )
        except KeyError as exc:
            raise MappingError(f"connector setting {exc.args[0]} is missing") from None


def alpha3(country: str) -> str:
    """ISO-3166 alpha-3 for an alpha-2 code (an alpha-3 code is kept); MappingError when unknown."""
    code = country.strip().upper()
    if code in _ALPHA3:
        return code
    try:
        return ALPHA2_TO_ALPHA3[code]
    except KeyError:
        raise MappingError(f"'{country}' is not an ISO-3166 country code") from None


def plate_value(plate: str) -> str:
    """The plate as the parking system stores it: upper case, no spaces, hyphens or dots."""
    value = _SEPARATORS.sub("", plate.strip()).upper()
    if not value:
        raise MappingError(f"licence plate '{plate}' has no characters")
    return value


def plate_region_code(plate: str) -> str:
    """The district prefix: letters before the first separator, else the plate's first two letters
    (or first two characters when it starts with a digit)."""
    parts = [part for part in _SEPARATORS.split(plate.strip().upper()) if part]
    if len(parts) > 1 and parts[0].isalpha() and len(parts[0]) <= 3:
        return parts[0]
    value = "".join(parts)
    letters = re.match(r"[^\W\d_]{1,2}", value)
    return letters.group(0) if letters else value[:2]


def licence_plate_medium(plate: str, country: str) -> dict[str, Any]:
    return {
        "type": "LICENSEPLATE",
        "value": plate_value(plate),
        "encoding": "HEX",
        "licencePlateRegion": {"code": plate_region_code(plate), "country": alpha3(country)},
    }


def consumer_body(
    visitor: Mapping[str, Any],
    vehicles: Iterable[Mapping[str, Any]],
    settings: ContractSettings | Mapping[str, Any],
) -> dict[str, Any]:
    """The consumer aggregate for a visitor (its API representation) and its vehicles'.

    `externalReference` is the visitor id; one LICENSEPLATE medium per vehicle that is not deleted, in the
    plate's country, else the visitor's; the same plate twice in one country is sent once. Mediums are
    sorted, so the body (and its hash) does not depend on the order vehicles come in.
    """
    if not isinstance(settings, ContractSettings):
        settings = ContractSettings.from_dict(settings)
    visitor_id = visitor.get("visitorId")
    if not visitor_id:
        raise MappingError("the visitor has no visitorId")
    home = visitor.get("countryCode")
    mediums: dict[tuple[str, str], dict[str, Any]] = {}
    for vehicle in vehicles:
        if vehicle.get("deletionDate") is not None:
            continue
        plate = vehicle.get("licensePlate")
        if not plate:
            continue
        country = vehicle.get("licensePlateCountry") or home
        if not country:
            raise MappingError(f"vehicle '{plate}' has no country, and neither has its visitor")
        medium = licence_plate_medium(str(plate), str(country))
        key = (medium["licencePlateRegion"]["country"], medium["value"])
        if (
            key not in mediums
            or medium["licencePlateRegion"]["code"] < mediums[key]["licencePlateRegion"]["code"]
        ):
            mediums[key] = medium
    return {
        "externalReference": str(visitor_id),
        "firstName": visitor.get("firstName"),
        "lastName": visitor.get("lastName"),
        "email": visitor.get("email"),
        "mediums": [mediums[key] for key in sorted(mediums)],
        "contract": {"businessId": settings.contract_business_id, "products": list(settings.product_ids)},
    }


def content_hash(body: Mapping[str, Any]) -> str:
    """SHA-256 of the body's canonical JSON (sorted keys, no spaces, UTF-8): equal bodies, equal hashes,
    whatever the key order, so a mirror can skip consumers that did not change."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def remote_view(consumer: Mapping[str, Any]) -> dict[str, Any]:
    """What a stored consumer holds of the fields `consumer_body` sends, in the same shape and order, so
    that `content_hash(remote_view(stored)) == content_hash(body)` exactly when sending `body` would
    change nothing: ids, revisions, statuses and fields we never send are left out."""
    mediums = []
    for medium in consumer.get("mediums") or []:
        if not isinstance(medium, Mapping):
            continue
        region = medium.get("licencePlateRegion")
        mediums.append(
            {
                "type": medium.get("type"),
                "value": medium.get("value"),
                "encoding": medium.get("encoding"),
                "licencePlateRegion": (
                    {"code": region.get("code"), "country": region.get("country")}
                    if isinstance(region, Mapping)
                    else None
                ),
            }
        )
    mediums.sort(
        key=lambda m: (
            str((m["licencePlateRegion"] or {}).get("country") or ""),
            str(m["value"] or ""),
            str((m["licencePlateRegion"] or {}).get("code") or ""),
        )
    )
    contract = consumer.get("contract")
    return {
        "externalReference": consumer.get("externalReference"),
        "firstName": consumer.get("firstName"),
        "lastName": consumer.get("lastName"),
        "email": consumer.get("email"),
        "mediums": mediums,
        "contract": (
            {"businessId": contract.get("businessId"), "products": list(contract.get("products") or [])}
            if isinstance(contract, Mapping)
            else None
        ),
    }
