"""One project's consumers and what the Consumer API does to them; callers hold the emulator's lock."""

from __future__ import annotations

import copy
import secrets
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from visitorhub.integration.connectors.entervo.emulator.validation import (
    ApiError,
    consumer_fields,
    integer,
    now_iso,
    obj,
    text,
)

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
_ALNUM = string.ascii_letters + string.digits


@dataclass(frozen=True)
class Tenant:
    """A project (Keycloak realm + data partition) with its one client and its pre-created customers.
    `contract`/`products`: when set, the only contract and products consumers may reference."""

    project: str
    client_id: str
    client_secret: str
    customers: tuple[str, ...]
    contract: str | None = None
    products: tuple[str, ...] = ()


def _new_id(prefix: str, length: int, taken: Callable[[str], bool]) -> str:
    while True:
        candidate = prefix + "".join(secrets.choice(_ALNUM) for _ in range(length))
        if not taken(candidate):
            return candidate


def public(record: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a stored record without its private (`_`) keys."""
    return {k: copy.deepcopy(v) for k, v in record.items() if not k.startswith("_")}


class ConsumerStore:
    """A project's consumers by business id, indexed by externalReference (unique per project)."""

    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant
        self.consumers: dict[str, dict[str, Any]] = {}
        self.by_reference: dict[str, str] = {}
        self._sequence = 0
        self.medium_ids: set[str] = set()  # every medium business id handed out (ids are never reused)

    # the Consumer API

    def create(self, customer: str, body: Any) -> tuple[int, dict[str, Any]]:
        """Create, or update in place when the externalReference exists (201 / 200)."""
        self._check_customer(customer)
        fields = self._fields(body)
        reference = fields["externalReference"]
        existing = self.by_reference.get(reference) if reference is not None else None
        if existing is not None:
            record = self.consumers[existing]
            mediums = self.merge_mediums(record["mediums"], fields["mediums"])
            record.update(fields, mediums=mediums, customerBusinessId=customer)
            self.touch(record)
            return 200, public(record)
        business_id = _new_id(f"N{datetime.now(UTC).year}", 8, self.consumers.__contains__)
        self._sequence += 1
        record = {
            "businessId": business_id,
            "customerBusinessId": customer,
            **fields,
            "mediums": self.merge_mediums([], fields["mediums"]),
            "revision": 0,
            "createdAt": now_iso(),
            "modifiedAt": now_iso(),
            "_sequence": self._sequence,
        }
        self.consumers[business_id] = record
        self.reindex(record, None)
        return 201, public(record)

    def update(self, customer: str, business_id: str, body: Any) -> tuple[int, dict[str, Any]]:
        """Replace the aggregate at the stored revision (409 otherwise)."""
        record = self._own(customer, business_id)
        fields = self._fields(body)
        revision = integer(body, "revision", None)
        if revision is None:
            raise ApiError(400, "revision: must not be null")
        if body.get("businessId") not in (None, business_id):
            raise ApiError(400, "businessId: does not match the path")
        if revision != record["revision"]:
            raise ApiError(
                409,
                f"Consumer {business_id} was changed by another transaction "
                f"(revision {revision}, current {record['revision']})",
            )
        reference = fields["externalReference"]
        holder = self.by_reference.get(reference) if reference is not None else None
        if holder not in (None, business_id):
            raise ApiError(409, f"externalReference {reference} is already used by consumer {holder}")
        old_reference = record["externalReference"]
        mediums = self.merge_mediums(record["mediums"], fields["mediums"])
        record.update(fields, mediums=mediums)
        self.touch(record)
        self.reindex(record, old_reference)
        return 200, public(record)

    def get(self, customer: str, business_id: str) -> tuple[int, dict[str, Any]]:
        return 200, public(self._own(customer, business_id))

    def delete(self, customer: str, business_id: str) -> tuple[int, None]:
        """A hard delete that frees the externalReference [INF]."""
        record = self._own(customer, business_id)
        del self.consumers[business_id]
        if record["externalReference"] is not None:
            self.by_reference.pop(record["externalReference"], None)
        return 204, None

    def search(self, body: Any) -> tuple[int, dict[str, Any]]:
        """Exact filters joined by AND (e-mail without case), a Spring page in creation order."""
        if not isinstance(body, dict):
            raise ApiError(400, "Request body must be a JSON object")
        page = integer(body, "page", 0) or 0
        size = integer(body, "size", DEFAULT_PAGE_SIZE)
        if page < 0:
            raise ApiError(400, "page: must be greater than or equal to 0")
        if size is None or not 1 <= size <= MAX_PAGE_SIZE:
            raise ApiError(400, f"size: must be between 1 and {MAX_PAGE_SIZE}")
        direction = body.get("sortDirection") or "ASC"
        if direction not in ("ASC", "DESC"):
            raise ApiError(400, "sortDirection: must be one of [ASC, DESC]")
        criteria = obj(obj(body.get("and"), "and").get("consumer"), "and.consumer")
        regular = obj(criteria.get("regular"), "and.consumer.regular")
        email = text(criteria, "consumerEmail", "and.consumer.")
        reference = text(regular, "externalReference", "and.consumer.regular.")
        # `consumers` keeps creation order (records are never re-inserted), so no filter needs no sort,
        # and a reference is an index lookup: a page costs its size, not the project's.
        if reference is not None:
            held = self.by_reference.get(reference)
            candidates: list[dict[str, Any]] = [self.consumers[held]] if held is not None else []
        else:
            candidates = list(self.consumers.values())
        matches = candidates
        if email is not None:
            wanted = email.casefold()
            matches = [record for record in candidates if (record["email"] or "").casefold() == wanted]
        if direction == "DESC":
            matches = matches[::-1]
        content = [public(r) for r in matches[page * size : (page + 1) * size]]
        total = len(matches)
        pages = (total + size - 1) // size
        sort = {"sorted": True, "unsorted": False, "empty": False}
        return 200, {
            "content": content,
            "pageable": {"pageNumber": page, "pageSize": size, "offset": page * size, "sort": sort},
            "totalElements": total,
            "totalPages": pages,
            "last": page >= pages - 1,
            "first": page == 0,
            "size": size,
            "number": page,
            "numberOfElements": len(content),
            "sort": sort,
            "empty": not content,
        }

    # behind the client's back

    def drift(self, business_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        record = self.record(business_id)
        old_reference, old_mediums = record["externalReference"], record["mediums"]
        for name in fields:
            if name in ("businessId", "revision") or name.startswith("_"):
                raise ValueError(f"{name} cannot drift")
        record.update(copy.deepcopy(dict(fields)))
        if "mediums" in fields:
            record["mediums"] = self.merge_mediums(old_mediums, record["mediums"])
        self.touch(record)
        self.reindex(record, old_reference)
        return public(record)

    # plumbing

    def record(self, business_id: str) -> dict[str, Any]:
        if business_id not in self.consumers:
            raise ApiError(404, f"Consumer {business_id} not found")
        return self.consumers[business_id]

    def _own(self, customer: str, business_id: str) -> dict[str, Any]:
        """The consumer, if it belongs to this customer (404 otherwise, like an unknown one)."""
        self._check_customer(customer)
        record = self.record(business_id)
        if record["customerBusinessId"] != customer:
            raise ApiError(404, f"Consumer {business_id} not found")
        return record

    def _check_customer(self, customer: str) -> None:
        if customer not in self.tenant.customers:
            raise ApiError(404, f"Customer {customer} not found")

    def _fields(self, body: Any) -> dict[str, Any]:
        return consumer_fields(body, self.tenant.contract, self.tenant.products)

    @staticmethod
    def touch(record: dict[str, Any]) -> None:
        record["revision"] += 1
        record["modifiedAt"] = now_iso()

    def _medium_taken(self, candidate: str) -> bool:
        return candidate in self.medium_ids

    def merge_mediums(self, old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """New mediums keep the id and revision of the stored one they name or equal (type + value);
        a changed medium's revision is bumped."""
        by_id = {m["businessId"]: m for m in old}
        by_value = {(m["type"], m["value"]): m for m in old}
        merged = []
        for medium in new:
            previous = by_id.get(medium.get("businessId", "")) or by_value.get(
                (medium["type"], medium["value"])
            )
            result = {k: v for k, v in medium.items() if k not in ("businessId", "revision", "status")}
            result["status"] = "VALIDATED"
            if previous is None:
                result["businessId"] = _new_id("M", 7, self._medium_taken)
                self.medium_ids.add(result["businessId"])
                result["revision"] = 0
            else:
                result["businessId"] = previous["businessId"]
                keys = ("type", "value", "encoding", "licencePlateRegion")
                same = all(previous.get(k) == result.get(k) for k in keys)
                result["revision"] = previous["revision"] + (0 if same else 1)
            merged.append(result)
        return merged

    def reindex(self, record: dict[str, Any], old_reference: str | None) -> None:
        if old_reference is not None and self.by_reference.get(old_reference) == record["businessId"]:
            del self.by_reference[old_reference]
        if record["externalReference"] is not None:
            self.by_reference[record["externalReference"]] = record["businessId"]
