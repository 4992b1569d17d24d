"""Request hygiene, app-wide: body limits (413 before the body is read whole), unknown and repeated query
parameters (400), the JSON Content-Type (415), empty, malformed and non-UTF-8 bodies (400), HEAD, a
trailing slash, short enum errors, and every error of a body at once."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Connection

from tests.asgi_servers import serving
from tests.conftest import bearer
from tests.factories import center_body, visitor_body
from visitorhub.app import create_app
from visitorhub.config import Settings

JSON = {"Content-Type": "application/json"}


def error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()["errors"][0]  # type: ignore[no-any-return]


# Body size -------------------------------------------------------------------------------------------------

SMALL = 4096


@pytest.fixture
def small_limits(settings: Settings, connection: Connection, keys: dict[str, str]) -> Iterator[TestClient]:
    """An admin client of an app whose body limit is 4 KiB (16 KiB for the template import)."""
    limited = settings.model_copy(update={"max_body_bytes": SMALL, "max_import_body_bytes": 4 * SMALL})
    app = create_app(limited, bind=connection)
    with TestClient(app, raise_server_exceptions=False, headers=bearer(keys["admin"])) as client:
        yield client


def _padded_visitor(size: int) -> dict[str, Any]:
    return visitor_body(optins=[{"optinChannel": "sms", "optinType": "commercial", "isActive": True}] * size)


def test_a_body_over_the_limit_is_413(small_limits: TestClient) -> None:
    found = error(small_limits.post("/visitors", json=_padded_visitor(200)), 413)
    assert found["code"] == "payload_too_large"
    assert str(SMALL) in found["message"]
    assert small_limits.get("/visitors").json()["data"] == []


def test_a_streamed_body_over_the_limit_is_413(small_limits: TestClient) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
        for n in range(100):
            yield b'{"lastName": "' if n == 0 else b"x" * 1024

    response = small_limits.post("/visitors", content=chunks(), headers=JSON)
    assert error(response, 413)["code"] == "payload_too_large"


def test_the_template_import_takes_a_larger_body(small_limits: TestClient) -> None:
    rows = [{"email": f"row{n}@example.com", "firstName": "A" * 40} for n in range(60)]
    body = {"simulate": True, "model": rows}
    assert SMALL < len(str(body)) < 4 * SMALL
    response = small_limits.post("/integration/visitors-import", json=body)
    assert response.status_code == 200, response.text
    error(small_limits.post("/visitors", json={"model": rows}), 413)
    error(small_limits.post("/integration/visitors-import", json={"model": rows * 5}), 413)


def test_the_413_comes_before_the_body_is_sent(
    database_url: str, connection: Connection, keys: dict[str, str]
) -> None:
    """On a real socket: headers announcing 50 MB and a few bytes of body are answered at once."""
    app = create_app(Settings(database_url=database_url), bind=connection)
    with serving(app) as server:
        host, port = server.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(
                b"POST /visitors HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + f"Authorization: Bearer {keys['admin']}\r\n".encode()
                + b'Content-Length: 50000000\r\n\r\n{"lastName": '
            )
            started = time.monotonic()
            answer = b""
            while b'"payload_too_large"' not in answer and time.monotonic() - started < 5:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert b'"payload_too_large"' in answer
        assert time.monotonic() - started < 5


# Query parameters ------------------------------------------------------------------------------------------


def test_an_unknown_query_parameter_on_a_write_is_400_and_changes_nothing(client: TestClient) -> None:
    found = error(client.post("/visitors", params={"dryRun": "true"}, json=visitor_body()), 400)
    assert found["code"] == "unknown_parameter"
    assert found["field"] == "dryRun"
    assert client.get("/visitors").json()["data"] == []
    found = error(client.get("/visitors", params={"colour": "red"}), 400)
    assert "countryCode" in found["message"]  # it says what the operation takes


def test_a_repeated_scalar_parameter_is_400(client: TestClient) -> None:
    found = error(client.get("/visitors?countryCode=FR&countryCode=GB"), 400)
    assert found["code"] == "repeated_parameter"
    assert found["field"] == "countryCode"
    assert client.get("/visitors?countryCode=FR").status_code == 200


# JSON bodies -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_a_json_body_without_the_json_content_type_is_415(
    client: TestClient, content_type: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post("/centers", content=b'{"pcCode": "FR-1"}', headers=headers)
    found = error(response, 415)
    assert found["code"] == "unsupported_media_type"
    assert "application/json" in found["message"]


def test_json_variants_are_accepted(client: TestClient) -> None:
    for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        response = client.post("/centers", json=center_body(), headers={"Content-Type": content_type})
        assert response.status_code == 201, response.text


def test_the_template_put_keeps_its_own_media_types(client: TestClient) -> None:
    found = error(
        client.put("/integration/templates/mine", content=b"x", headers={"Content-Type": "text/csv"}), 415
    )
    assert "application/yaml" in found["message"]


def test_an_empty_body_is_400_body_required(client: TestClient) -> None:
    for headers in ({}, JSON):
        found = error(client.post("/centers", content=b"", headers=headers), 400)
        assert found["code"] == "body_required"


def test_malformed_json_is_400_with_line_and_column(client: TestClient) -> None:
    response = client.post("/centers", content=b'{"pcCode": "FR-1",\n  "centerCode": }', headers=JSON)
    found = error(response, 400)
    assert found["code"] == "malformed_json"
    assert "line 2, column 17" in found["message"]


def test_a_body_that_is_not_utf8_is_400_malformed_json(client: TestClient) -> None:
    response = client.post("/centers", content='{"name": "Zürich"}'.encode("latin-1"), headers=JSON)
    found = error(response, 400)
    assert found["code"] == "malformed_json"
    assert "UTF-8" in found["message"]
    assert "line 1, column 12" in found["message"]


# HEAD, trailing slash --------------------------------------------------------------------------------------


def test_head_answers_where_get_does(anon: TestClient, client: TestClient) -> None:
    response = anon.head("/health")
    assert response.status_code == 200
    assert response.content == b""
    assert client.head("/visitors").status_code == 200
    assert anon.head("/visitors").status_code == 401


def test_a_trailing_slash_is_the_same_route(client: TestClient) -> None:
    response = client.get("/visitors/", follow_redirects=False)
    assert response.status_code == 200
    assert response.json()["metadata"]["_links"]["self"].endswith("/visitors")
    created = client.post("/centers/", json=center_body())
    assert created.status_code == 201, created.text
    assert client.get(f"/centers/{created.json()['data']['pcCode']}/").status_code == 200


# Error messages --------------------------------------------------------------------------------------------


def test_an_enum_error_names_a_few_values_and_where_the_list_is(client: TestClient) -> None:
    found = error(client.post("/visitors", json=visitor_body(countryCode="XX")), 422)
    assert found["field"] == "countryCode"
    assert "'FR'" not in found["message"] or len(found["message"]) < 400
    assert "more" in found["message"]
    assert "/openapi.json" in found["message"]
    assert len(found["message"]) < 400
    found = error(client.post("/visitors", json=visitor_body(gender="x")), 422)  # a short enum: all values
    assert "'m'" in found["message"]


def test_a_subscription_reports_every_error_at_once(client: TestClient) -> None:
    body = {"name": "all-errors", "stream": "nope", "url": "ftp://x", "maxPerRun": 5, "maxPerPayload": 10}
    response = client.post("/integration/subscriptions", json=body)
    assert response.status_code == 422, response.text
    assert {e["field"] for e in response.json()["errors"]} == {"stream", "url", "maxPerPayload"}


def test_a_template_reports_every_error_at_once(client: TestClient) -> None:
    template = {"direction": "sideways", "entities": [{"fields": "none"}]}
    response = client.put("/integration/templates/broken", json=template)
    assert response.status_code == 400, response.text
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"direction", "entities[0].type", "entities[0].fields"} <= fields
    assert all(e["code"] == "invalid_template" for e in response.json()["errors"])
