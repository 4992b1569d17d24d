"""Every error comes as {"errors": [{code, type, field, message}]}, with the right status."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import bearer
from tests.factories import center_body, visitor_body

ITEM_KEYS = {"code", "type", "field", "message"}


def _errors(response: Any, status: int) -> list[dict[str, Any]]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"errors"}, body
    assert isinstance(body["errors"], list)
    assert body["errors"]
    for item in body["errors"]:
        assert set(item) == ITEM_KEYS, item
        assert isinstance(item["code"], str)
        assert item["code"]
        assert isinstance(item["type"], str)
        assert item["type"]
        assert isinstance(item["message"], str)
        assert item["message"]
        assert item["field"] is None or isinstance(item["field"], str)
    return body["errors"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("payload", ['{"pcCode": "FR-1",', "not json at all", "{'single': 'quotes'}"])
def test_malformed_json_is_400(client: TestClient, payload: str) -> None:
    response = client.post("/centers", content=payload, headers={"Content-Type": "application/json"})
    errors = _errors(response, 400)
    assert errors[0]["code"] == "malformed_json"
    assert errors[0]["type"] == "invalid_request"
    assert errors[0]["field"] is None


def test_unknown_route_is_404(client: TestClient, anon: TestClient) -> None:
    for c in (client, anon):
        errors = _errors(c.get("/no/such/route"), 404)
        assert errors[0]["type"] == "not_found"
        assert errors[0]["code"] == "not_found"


def test_wrong_method_is_405(client: TestClient) -> None:
    response = client.put("/centers", json=center_body())
    errors = _errors(response, 405)
    assert errors[0]["code"] == "method_not_allowed"
    assert "allow" in {k.lower() for k in response.headers}
    _errors(client.delete("/health"), 405)


def test_validation_names_the_field_in_camel_case(client: TestClient) -> None:
    body = center_body(isWestfield="sometimes")
    del body["pcCode"]
    errors = _errors(client.post("/centers", json=body), 422)
    by_field = {e["field"]: e for e in errors}
    assert set(by_field) == {"pcCode", "isWestfield"}
    assert all(e["type"] == "validation_error" for e in errors)
    assert by_field["pcCode"]["code"] == "missing"
    assert "pcCode" in by_field["pcCode"]["message"]


def test_validation_names_nested_fields(client: TestClient) -> None:
    body = visitor_body(
        optins=[
            {"optinChannel": "sms", "optinType": "commercial", "isActive": True},
            {"optinChannel": "sms", "isActive": True},
        ]
    )
    errors = _errors(client.post("/visitors", json=body), 422)
    assert [e["field"] for e in errors] == ["optins[1].optinType"]

    body = visitor_body(optins=[{"optinChannel": "pigeon", "optinType": "commercial", "isActive": True}])
    errors = _errors(client.post("/visitors", json=body), 422)
    assert [e["field"] for e in errors] == ["optins[0].optinChannel"]


def test_validation_of_query_and_path(client: TestClient) -> None:
    errors = _errors(client.get("/centers", params={"limit": "many"}), 422)
    assert errors[0]["field"] == "limit"
    errors = _errors(client.get("/visitors/not-a-uuid"), 422)
    assert errors[0]["field"] == "visitorId"


def test_unknown_query_parameter_is_400(client: TestClient) -> None:
    errors = _errors(client.get("/centers", params={"colour": "red"}), 400)
    assert errors[0]["code"] == "unknown_parameter"
    assert errors[0]["field"] == "colour"


def test_body_must_be_an_object(client: TestClient) -> None:
    _errors(client.post("/centers", json=[center_body()]), 422)
    assert _errors(client.post("/centers"), 400)[0]["code"] == "body_required"


def test_auth_errors_use_the_envelope(anon: TestClient, reader: TestClient) -> None:
    response = anon.get("/centers")
    errors = _errors(response, 401)
    assert errors[0]["type"] == "authentication_error"
    assert response.headers.get("www-authenticate", "").lower().startswith("bearer")
    errors = _errors(reader.post("/centers", json=center_body()), 403)
    assert errors[0]["type"] == "permission_error"


def test_conflict_and_not_found_use_the_envelope(client: TestClient) -> None:
    body = center_body()
    assert client.post("/centers", json=body).status_code == 201
    errors = _errors(client.post("/centers", json=body), 409)
    assert errors[0]["type"] == "conflict"
    errors = _errors(client.get("/centers/NOPE-1"), 404)
    assert errors[0]["type"] == "not_found"
    assert errors[0]["field"] == "pcCode"


def test_unexpected_error_is_500_without_internals(app: FastAPI, keys: dict[str, str]) -> None:
    @app.get("/boom-for-test")
    def boom() -> None:
        raise RuntimeError("secret-detail")

    with TestClient(app, raise_server_exceptions=False, headers=bearer(keys["admin"])) as client:
        response = client.get("/boom-for-test")
    errors = _errors(response, 500)
    assert errors[0]["type"] == "server_error"
    assert errors[0]["code"] == "internal_error"
    assert errors[0]["field"] is None
    assert "secret-detail" not in response.text
    assert "RuntimeError" not in response.text
    assert "Traceback" not in response.text
