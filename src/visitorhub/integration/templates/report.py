"""The report of an import: what the API answers, the CLI prints and `--report` writes."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from visitorhub.core.schemas import ApiModel

_COUNTERS = {"insert": "inserted", "update": "updated", "unchanged": "unchanged"}


class ImportRowError(BaseModel):
    index: int = Field(description="The row's 0-based position in the input")
    field: str | None = Field(description="The outside name (column) at fault, when one is")
    message: str


class ImportOperation(BaseModel):
    index: int
    entity: str
    operation: str = Field(description="insert, update, unchanged or failed")
    key: dict[str, Any] | None
    id: Any


class ImportReport(ApiModel):
    simulate: bool
    stop_on_error: bool
    stopped: bool = False
    processed: int = 0
    failed: int = 0
    summary: dict[str, dict[str, int]] = Field(
        default_factory=dict, description="entity -> {inserted, updated, unchanged}"
    )
    errors: list[ImportRowError] = Field(default_factory=list)
    operations: list[ImportOperation] = Field(
        default_factory=list, description="With verbose: one per entity a row touched, in row order"
    )

    def count(self, entity: str, operation: str, times: int = 1) -> None:
        counts = self.summary.setdefault(entity, {"inserted": 0, "updated": 0, "unchanged": 0})
        counts[_COUNTERS[operation]] += times

    def error(self, index: int, entity: str, field: str | None, message: str, verbose: bool) -> None:
        self.failed += 1
        # model_construct: a report may hold a line per row of a large file; its values are ours already.
        self.errors.append(ImportRowError.model_construct(index=index, field=field, message=message))
        if verbose:
            self.operate(index, entity, "failed", None, None)

    def operate(self, index: int, entity: str, operation: str, key: dict[str, Any] | None, id_: Any) -> None:
        self.operations.append(
            ImportOperation.model_construct(index=index, entity=entity, operation=operation, key=key, id=id_)
        )
