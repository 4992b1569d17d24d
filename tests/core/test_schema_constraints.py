"""The OpenAPI document says what the API enforces: a client (or a fuzzer) generating from the schema gets
answers, not 4xx for rules only the code knows. Each constraint in the schema, and the API holding to it."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories import create_visitor, visitor_body


@pytest.fixture
def spec(anon: TestClient) -> dict[str, Any]:
    return anon.get("/openapi.json").json()  # type: ignore[no-any-return]


def _schema(spec: dict[str, Any], name: str) -> dict[str, Any]:
    return spec["components"]["schemas"][name]  # type: ignore[no-any-return]


@pytest.mark.parametrize("model", ["SubscriptionCreate", "SubscriptionUpdate"])
def test_subscription_stream_url_and_header_name(
    spec: dict[str, Any], client: TestClient, model: str
) -> None:
    props = _schema(spec, model)["properties"]
    listed = [s["stream"] for s in client.get("/integration/streams").json()["data"]]
    assert sorted(props["stream"]["enum"]) == sorted(listed)
    url = props["url"]
    assert url["maxLength"] == 2000
    pattern = re.compile(url["pattern"])
    for good in ("https://receiver.example.com/hook?x=1", "HTTP://example.com", "https://a.example:8443"):
        assert pattern.match(good), good
    for bad in ("ftp://example.com", "https://user:pw@example.com/", "https://example.com/#frag", "x"):
        assert not pattern.match(bad), bad
        body = {"name": "s", "stream": "visitors", "url": bad}
        assert client.post("/integration/subscriptions", json=body).status_code == 422
    header = _schema(spec, "ApiKeyAuth")["properties"]["header"]
    assert re.compile(header["pattern"]).match("X-DatX-Key")
    assert not re.compile(header["pattern"]).match("bad header")


def test_template_put_body_is_described(spec: dict[str, Any], client: TestClient) -> None:
    content = spec["paths"]["/integration/templates/{name}"]["put"]["requestBody"]["content"]
    body = content["application/json"]["schema"]
    assert content["application/yaml"]["schema"] == body
    assert content["application/xml"]["schema"] == {"type": "string"}
    assert body["type"] == "object"
    assert "$ref" not in str(body)  # stands alone
    assert set(body["required"]) == {"direction", "entities"}  # the URL's name wins
    assert "builtin" not in body["properties"]
    entity = body["properties"]["entities"]["items"]
    assert entity["properties"]["fields"]["items"]["properties"]["source"]["maxLength"] == 200
    assert body["properties"]["entities"]["minItems"] == 1
    # A body as the schema describes it (no name) is saved.
    template = {
        "direction": "out",
        "entities": [{"type": "Center", "fields": [{"source": "code", "field": "pcCode"}]}],
    }
    assert client.put("/integration/templates/by-schema", json=template).status_code == 201


def test_visitor_batch_size_is_in_the_schema(spec: dict[str, Any], client: TestClient) -> None:
    body = spec["paths"]["/visitors/batch"]["patch"]["requestBody"]["content"]["application/json"]["schema"]
    assert (body["minItems"], body["maxItems"]) == (1, 500)
    assert client.patch("/visitors/batch", json=[]).status_code == 400
    visitor = create_visitor(client)
    many = [{"visitorId": visitor["visitorId"], "emailInvalid": True}] * 501
    assert client.patch("/visitors/batch", json=many).status_code == 400


@pytest.mark.parametrize("model", ["VisitorCreate", "VisitorUpdate"])
def test_birth_year_range(spec: dict[str, Any], client: TestClient, model: str) -> None:
    (bounded,) = [
        s for s in _schema(spec, model)["properties"]["birthYear"]["anyOf"] if s["type"] == "integer"
    ]
    this_year = date.today().year
    assert (bounded["minimum"], bounded["maximum"]) == (1900, this_year)
    if model == "VisitorCreate":
        for year, status in ((1899, 422), (this_year + 1, 422), (1900, 201), (this_year, 201)):
            response = client.post("/visitors", json=visitor_body(birthYear=year))
            assert response.status_code == status, (year, response.text)
            if status == 422:
                assert response.json()["errors"][0]["field"] == "birthYear"
