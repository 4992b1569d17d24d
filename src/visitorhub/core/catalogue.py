"""The Visitor API catalogue (`docs/spec/visitor-api-catalogue.yaml`): every operation's method, path and
summary by sequence number. Routes take their OpenAPI summary from it, so the two cannot drift."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

CATALOGUE_FILE = Path(__file__).resolve().parents[1] / "spec" / "visitor-api-catalogue.yaml"
SEQ_EXTENSION = "x-catalogue-seq"


@dataclass(frozen=True)
class CatalogueOperation:
    seq: int
    method: str
    path: str
    summary: str | None  # None: untitled in the seed (134, 142, 143)
    resource: str


@cache
def catalogue() -> dict[int, CatalogueOperation]:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    document = yaml.load(CATALOGUE_FILE.read_text(encoding="utf-8"), Loader=loader)
    return {
        op["seq"]: CatalogueOperation(op["seq"], op["method"], op["path"], op["summary"], op["resource"])
        for op in document["operations"]
    }


def documented(seq: int, summary: str | None = None) -> dict[str, Any]:
    """Route keyword arguments for catalogue operation `seq`: its summary (`summary` stands in where the
    seed gives none) and its sequence number as an OpenAPI extension."""
    op = catalogue()[seq]
    title = op.summary or summary
    assert title, f"catalogue operation {seq} has no summary: give one"
    return {"summary": title, "openapi_extra": {SEQ_EXTENSION: seq}}
