"""Every implemented catalogue operation is in /openapi.json with its method, path and summary."""

from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

CATALOGUE = Path(__file__).parents[2] / "docs" / "spec" / "visitor-api-catalogue.yaml"
IMPLEMENTED_FAMILIES = {"visitors", "external-ids", "vehicles", "centers", "visitor-centers"}


def _operations() -> list[dict[str, Any]]:
    catalogue = yaml.safe_load(CATALOGUE.read_text())
    return [op for op in catalogue["operations"] if op["resource"] in IMPLEMENTED_FAMILIES]


def test_the_implemented_families_have_29_operations() -> None:
    assert len(_operations()) == 29


@pytest.mark.parametrize("op", _operations(), ids=lambda op: f"{op['method']} {op['path']}")
def test_operation_is_documented(anon: TestClient, op: dict[str, Any]) -> None:
    spec = anon.get("/openapi.json").json()
    operation = spec["paths"].get(op["path"], {}).get(op["method"].lower())
    assert operation is not None, f"{op['method']} {op['path']} missing from /openapi.json"
    assert operation["summary"] == op["summary"]


def test_swagger_ui_is_served(anon: TestClient) -> None:
    response = anon.get("/docs")
    assert response.status_code == 200
    assert "swagger" in response.text.lower()
