"""Issue 15's catalogue operations (services, centre companies and operation sessions, legal texts,
challenges, articles) are in /openapi.json with the catalogue's method, path and summary."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import openapi_document

CATALOGUE = Path(__file__).parents[2] / "docs" / "spec" / "visitor-api-catalogue.yaml"
SEQS = (
    *range(1, 23),  # services, stores, segments, themes, targets
    *range(57, 61),  # centre operation sessions
    *range(96, 101),  # centre companies
    *range(106, 115),  # required consents, legal texts and their locales
    *range(121, 131),  # challenges, articles
    *range(135, 142),  # visitor challenges, rankings, challenge histories
)


@cache
def _operations() -> list[dict[str, Any]]:
    # libyaml's loader when there (as core.catalogue): the pure-Python one takes over a second for this file.
    catalogue = yaml.load(CATALOGUE.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return [op for op in catalogue["operations"] if op["seq"] in SEQS]


def test_57_operations() -> None:
    assert len(SEQS) == len(set(SEQS)) == len(_operations()) == 57


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return openapi_document()


@pytest.mark.parametrize("op", _operations(), ids=lambda op: f"{op['seq']} {op['method']} {op['path']}")
def test_operation_is_served_as_catalogued(spec: dict[str, Any], op: dict[str, Any]) -> None:
    operation = spec["paths"].get(op["path"], {}).get(op["method"].lower())
    assert operation is not None, f"{op['method']} {op['path']} missing from /openapi.json"
    assert operation["summary"] == op["summary"]
    assert operation.get("x-catalogue-seq") == op["seq"]
