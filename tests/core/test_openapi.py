"""/openapi.json: every operation has a unique camelCase operationId and one tag; every catalogue operation
it serves carries the catalogue's method, path and summary; the docs pages are served."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import openapi_document
from visitorhub.core.catalogue import SEQ_EXTENSION, catalogue

CAMEL_CASE = re.compile(r"^[a-z][a-zA-Z0-9]*$")


def _spec() -> dict[str, Any]:
    return openapi_document()


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, methods in _spec()["paths"].items()
        for method, operation in methods.items()
    ]


def test_operation_ids_are_unique_camel_case_names() -> None:
    ids = [operation["operationId"] for _method, _path, operation in _operations()]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert [i for i in ids if not CAMEL_CASE.match(i)] == []
    expected = {
        ("GET", "/visitors/{visitorId}"): "getVisitor",
        ("GET", "/visitors/{visitorId}/vehicles"): "listVehicles",
        ("POST", "/visitors/{visitorId}/centers"): "createVisitorCenter",
        ("DELETE", "/keys/{keyId}"): "revokeApiKey",
        ("POST", "/integration/deliveries/{deliveryId}/replay"): "replayDelivery",
    }
    found = {(method, path): operation["operationId"] for method, path, operation in _operations()}
    assert {key: found[key] for key in expected} == expected


def test_every_operation_has_one_tag() -> None:
    assert [(m, p) for m, p, operation in _operations() if len(operation.get("tags", [])) != 1] == []


def test_catalogue_operations_carry_their_method_path_and_summary() -> None:
    served = {}
    for method, path, operation in _operations():
        seq = operation.get(SEQ_EXTENSION)
        if seq is not None:
            expected = catalogue()[seq]
            assert (method, path) == (expected.method, expected.path), seq
            if expected.summary is not None:
                assert operation["summary"] == expected.summary, seq
            served[seq] = operation
    # Every catalogue (method, path) that is served is marked with its sequence number.
    by_route = {(op.method, op.path): seq for seq, op in catalogue().items()}
    unmarked = [
        (m, p) for m, p, operation in _operations() if (m, p) in by_route and SEQ_EXTENSION not in operation
    ]
    assert unmarked == []
    assert len(served) >= 29


def test_swagger_ui_is_served(anon: TestClient) -> None:
    response = anon.get("/docs")
    assert response.status_code == 200
    assert "swagger" in response.text.lower()


ASSET = re.compile(r"""(?:src|href|spec-url)=["']([^"']+)["']|url: ?'([^']+)'""")


def test_the_docs_pages_work_offline(anon: TestClient) -> None:
    """/docs and /redoc load nothing from another host: every asset they reference is served here."""
    for page in ("/docs", "/redoc"):
        response = anon.get(page)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assets = [a or b for a, b in ASSET.findall(response.text)]
        assert len(assets) >= 2, response.text
        for asset in assets:
            assert asset.startswith("/"), f"{page} loads {asset} from elsewhere"
            served = anon.get(asset)
            assert served.status_code == 200, f"{page}: {asset} -> {served.status_code}"
            assert served.content
        assert "http://" not in response.text
        assert "https://" not in response.text
    assert "SwaggerUIBundle" in anon.get("/docs-assets/swagger-ui-bundle.js").text
    assert "Redoc" in anon.get("/docs-assets/redoc.standalone.js").text
