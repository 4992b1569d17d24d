"""The connector framework's contract: what a remote system's connector provides to the sync engine.

A connector kind is a class (listed in `connectors.KINDS`) with a settings model and a few hooks on the
remote records it keeps in step with visitors: list them all (paged), find one by external reference,
create (an upsert by external reference), update at a revision, get, delete. `sync.py` owns everything
else: the mirror, planning, dry runs, retries of failed records, the report (meltano's record hooks,
dlt's declared settings; see shared/docs/sync-anchors.md).

Errors a hook raises say what the engine should do with the record, from the class alone:
`StaleRevision` (refetch and try once more), `RemoteMissing` (it is gone: re-create or forget),
`RemoteFailure` (the record fails; `retriable` when it may pass later), `RemoteFatal` (nothing will pass:
the run stops, e.g. credentials refused or the address is not allowed).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel


@dataclass(frozen=True)
class RemoteRecord:
    """A record as the remote system holds it, reduced to what the engine compares."""

    reference: str | None  # the external reference it carries (a visitor id for ours)
    business_id: str
    revision: int | None
    # content_hash of its projection on the fields a body sends: equal to the hash of a body that would
    # leave it unchanged.
    content_hash: str
    # It sits where this connector writes (e.g. under the connector's customer): only such records are
    # deleted for carrying no visitor of ours.
    owned: bool = True


class RemoteFailure(Exception):
    """A call that failed for this record; `retriable`: it may pass at a later sync (429, 5xx, network)."""

    def __init__(self, message: str, *, status: int | None = None, retriable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retriable = retriable


class StaleRevision(RemoteFailure):
    """An update met another revision than the one sent (someone changed the record meanwhile)."""


class RemoteMissing(RemoteFailure):
    """The record does not exist (any more) on the remote side."""


class RemoteFatal(RemoteFailure):
    """No record can pass (credentials refused, target address refused): the run stops."""


class MappingFailure(ValueError):
    """A visitor that cannot become a remote record (the message says which field and why)."""


class Connector(Protocol):
    """One connector kind. `open` makes an instance for one run from validated settings."""

    kind: ClassVar[str]
    # The settings as the API takes them (an ApiModel: camelCase JSON); validated on save.
    settings_model: ClassVar[type[BaseModel]]
    # Settings (API names) sealed at rest and never returned.
    secret_fields: ClassVar[frozenset[str]]
    # Settings holding URLs: checked against the private-target policy when saved (and on every send).
    url_fields: ClassVar[frozenset[str]]
    # Settings that name which remote data set is synced: changing one forgets the mirror.
    identity_fields: ClassVar[frozenset[str]]
    # Settings that change every body: changing one makes the next sync a full one.
    mapping_fields: ClassVar[frozenset[str]]
    # Call kinds counted in reports and metrics.
    call_kinds: ClassVar[tuple[str, ...]]

    @classmethod
    def open(cls, settings: Any, *, allow_private: bool) -> Connector: ...

    @property
    def concurrency(self) -> int:
        """How many calls the engine may have in flight at once."""
        ...

    def body(self, visitor: Mapping[str, Any], vehicles: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """The remote record for a visitor and its vehicles (API representations); MappingFailure when it
        cannot be made."""
        ...

    def content_hash(self, body: Mapping[str, Any]) -> str: ...

    def list_all(self) -> Iterator[list[RemoteRecord]]:
        """Every remote record, a page at a time."""
        ...

    def find(self, reference: str) -> RemoteRecord | None: ...

    def create(self, body: Mapping[str, Any]) -> RemoteRecord:
        """Create, or update in place the record that carries the body's reference (an upsert)."""
        ...

    def update(self, business_id: str, body: Mapping[str, Any], revision: int | None) -> RemoteRecord: ...

    def get(self, business_id: str) -> RemoteRecord: ...

    def delete(self, business_id: str) -> bool:
        """True when deleted, False when it was already gone."""
        ...

    def calls(self) -> dict[str, int]:
        """Requests sent so far per kind (retries included)."""
        ...

    def call_outcomes(self) -> dict[str, dict[str, int]]:
        """Requests so far per kind and outcome (ok, rate_limited, server_error, timeout...)."""
        ...

    def close(self) -> None: ...
