"""The entervo connector: visitors and their vehicles as regular consumers with licence-plate mediums,
through the Consumer API client, for the generic sync engine (connectors/base.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import partial
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, Field, field_validator

from visitorhub.core.schemas import ApiModel
from visitorhub.integration.connectors.base import (
    MappingFailure,
    RemoteFailure,
    RemoteFatal,
    RemoteMissing,
    RemoteRecord,
    StaleRevision,
)
from visitorhub.integration.connectors.entervo.client import (
    KINDS,
    MAX_PAGE_SIZE,
    AuthError,
    EntervoClient,
    NotFoundRemote,
    RemoteError,
    RevisionConflict,
    TargetRefused,
)
from visitorhub.integration.connectors.entervo.mapping import (
    ContractSettings,
    MappingError,
    consumer_body,
    content_hash,
    remote_view,
)

T = TypeVar("T")


class EntervoSettings(ApiModel):
    """How to reach the Consumer API and what to send (shared/docs/external-systems.md §1)."""

    base_url: str = Field(
        min_length=1,
        max_length=2000,
        description="The API host's root, e.g. https://pm.preprod.parking.scheidt-bachmann.net "
        "(the client adds /customers-contracts/v2/{project}/...)",
    )
    auth_url: str | None = Field(
        None,
        max_length=2000,
        description="The identity host's root (the client adds /auth/realms/{project}/...); default baseUrl",
    )
    project: str = Field(min_length=1, max_length=200, description="The project (tenant, Keycloak realm)")
    client_id: str = Field(min_length=1, max_length=200, description="OAuth client id, e.g. B2C_{project}")
    client_secret: str = Field(
        min_length=1, max_length=1000, repr=False, description="OAuth client secret: sealed, never returned"
    )
    customer_business_id: str = Field(
        min_length=1, max_length=100, description="The pre-configured customer the consumers belong to"
    )
    contract_business_id: str = Field(
        min_length=1, max_length=100, description="The pre-configured contract every consumer gets"
    )
    product_ids: list[str] = Field(
        default_factory=list, max_length=100, description="Product business ids of the contract"
    )
    delete_missing: bool = Field(
        False,
        description="A full sync also deletes the customer's consumers that carry no visitor of ours",
    )
    concurrency: int = Field(4, ge=1, le=16, description="Calls in flight at once")
    rate_limit: float | None = Field(
        None, gt=0, le=1000, description="At most this many requests per second (none: no ceiling)"
    )
    timeout_seconds: float = Field(10.0, gt=0, le=120, description="Seconds to wait for an answer")
    max_attempts: int = Field(
        5, ge=1, le=10, description="Attempts per call on 429, 5xx, timeouts and connection errors"
    )
    backoff_seconds: float = Field(
        0.5, gt=0, le=60, description="First retry wait (doubled each attempt, jittered, at most 30 s)"
    )
    max_retry_after_seconds: float = Field(
        60.0, ge=0, le=3600, description="Longest Retry-After honoured (longer asks are capped)"
    )

    @field_validator("product_ids")
    @classmethod
    def _products(cls, products: list[str]) -> list[str]:
        for product in products:
            if not product.strip():
                raise ValueError("a product id may not be blank")
        return products


def _translate(kind: str, call: Callable[[], T]) -> T:
    """Run a client call; its errors as the engine's classes."""
    try:
        return call()
    except (AuthError, TargetRefused) as exc:
        raise RemoteFatal(str(exc), status=exc.status) from None
    except RevisionConflict as exc:
        raise StaleRevision(str(exc), status=exc.status) from None
    except NotFoundRemote as exc:
        if kind == "create":  # the customer itself is unknown: no create can pass
            raise RemoteFatal(str(exc), status=exc.status) from None
        raise RemoteMissing(str(exc), status=exc.status) from None
    except RemoteError as exc:
        raise RemoteFailure(str(exc), status=exc.status, retriable=exc.retriable) from None


class EntervoConnector:
    """Regular consumers of one customer; `externalReference` = the visitor id."""

    kind: ClassVar[str] = "entervo"
    settings_model: ClassVar[type[BaseModel]] = EntervoSettings
    secret_fields: ClassVar[frozenset[str]] = frozenset({"clientSecret"})
    url_fields: ClassVar[frozenset[str]] = frozenset({"baseUrl", "authUrl"})
    identity_fields: ClassVar[frozenset[str]] = frozenset({"baseUrl", "project", "customerBusinessId"})
    mapping_fields: ClassVar[frozenset[str]] = frozenset({"contractBusinessId", "productIds"})
    call_kinds: ClassVar[tuple[str, ...]] = KINDS

    def __init__(self, settings: EntervoSettings, client: EntervoClient) -> None:
        self.settings = settings
        self.client = client
        self.contract = ContractSettings(
            settings.customer_business_id, settings.contract_business_id, tuple(settings.product_ids)
        )

    @classmethod
    def open(cls, settings: Any, *, allow_private: bool) -> EntervoConnector:
        s: EntervoSettings = settings
        client = EntervoClient(
            s.base_url,
            s.project,
            s.client_id,
            s.client_secret,
            s.customer_business_id,
            auth_url=s.auth_url,
            allow_private=allow_private,
            timeout=s.timeout_seconds,
            max_attempts=s.max_attempts,
            backoff_initial=s.backoff_seconds,
            max_retry_after=s.max_retry_after_seconds,
            rate_limit=s.rate_limit,
        )
        return cls(s, client)

    @property
    def concurrency(self) -> int:
        return self.settings.concurrency

    def body(self, visitor: Mapping[str, Any], vehicles: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        try:
            return consumer_body(visitor, vehicles, self.contract)
        except MappingError as exc:
            raise MappingFailure(str(exc)) from None

    def content_hash(self, body: Mapping[str, Any]) -> str:
        return content_hash(body)

    def record(self, consumer: Mapping[str, Any]) -> RemoteRecord:
        business_id = consumer.get("businessId")
        if not business_id:
            raise RemoteFailure("the consumer in the answer has no businessId")
        revision = consumer.get("revision")
        customer = consumer.get("customerBusinessId")
        reference = consumer.get("externalReference")
        return RemoteRecord(
            reference=str(reference) if reference is not None else None,
            business_id=str(business_id),
            revision=revision if isinstance(revision, int) else None,
            content_hash=content_hash(remote_view(consumer)),
            owned=customer is None or customer == self.settings.customer_business_id,
        )

    def list_all(self) -> Iterator[list[RemoteRecord]]:
        """Every consumer of the project, oldest first, MAX_PAGE_SIZE a page."""
        number = 0
        while True:
            page = _translate("search", partial(self.client.search, page=number, size=MAX_PAGE_SIZE))
            yield [self.record(consumer) for consumer in page.content]
            if page.last or not page.content:
                return
            number += 1

    def find(self, reference: str) -> RemoteRecord | None:
        found = _translate("search", lambda: self.client.find(reference))
        return self.record(found) if found is not None else None

    def create(self, body: Mapping[str, Any]) -> RemoteRecord:
        return self.record(_translate("create", lambda: self.client.create(body)).consumer)

    def update(self, business_id: str, body: Mapping[str, Any], revision: int | None) -> RemoteRecord:
        # The API needs a revision; an unknown one (never the case for a mirrored consumer) is a stale one.
        return self.record(_translate("update", lambda: self.client.update(business_id, body, revision or 0)))

    def get(self, business_id: str) -> RemoteRecord:
        return self.record(_translate("get", lambda: self.client.get(business_id)))

    def delete(self, business_id: str) -> bool:
        return _translate("delete", lambda: self.client.delete(business_id))

    def calls(self) -> dict[str, int]:
        return self.client.calls()

    def call_outcomes(self) -> dict[str, dict[str, int]]:
        return self.client.counters.outcomes()

    def close(self) -> None:
        self.client.close()
