"""Every integer is a 64-bit one and every text is storable (no NUL, no lone surrogate), whatever carries it:
a path or query parameter, a body field, a nested model of any base class, a free-form JSON value. Each is
a 422 naming the parameter or field, on SQLite and PostgreSQL alike (the fuzzer found each as a 500)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel, ValidationError

from tests.conftest import openapi_document
from tests.factories import center_body, create_subscription, create_visitor, visitor_body
from visitorhub.core.schemas import INT64_MAX, INT64_MIN, ApiModel, QueryModel, not_null

HUGE = 36014936076353826816
NEGATIVE_HUGE = -10553472298634581327078227968


def error(response: Any, status: int = 422) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()["errors"][0]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("method", "url", "field"),
    [
        ("GET", f"/integration/subscriptions/{HUGE}", "subscriptionId"),
        ("DELETE", f"/integration/subscriptions/{HUGE}", "subscriptionId"),
        ("GET", "/integration/subscriptions/-244903958941742162560155648/deliveries", "subscriptionId"),
        ("GET", "/centers?offset=14934326982688531499974656", "offset"),
        ("GET", f"/changes?after={HUGE}", "after"),
        ("DELETE", f"/keys/{HUGE}", "keyId"),
    ],
)
def test_an_integer_beyond_int64_in_the_path_or_query_is_422_naming_it(
    client: TestClient, method: str, url: str, field: str
) -> None:
    found = error(client.request(method, url))
    assert found["field"] == field
    assert str(INT64_MAX) in found["message"] or str(INT64_MIN) in found["message"]


def test_int64_limits_themselves_are_accepted(client: TestClient) -> None:
    assert client.get(f"/integration/subscriptions/{INT64_MAX}").status_code == 404
    assert client.get("/centers", params={"offset": INT64_MAX}).status_code == 200


def test_an_integer_beyond_int64_in_a_body_is_422_naming_the_field(client: TestClient) -> None:
    optins = [
        {"optinChannel": "sms", "optinType": "commercial", "isActive": True, "contextId": NEGATIVE_HUGE}
    ]
    found = error(client.post("/visitors", json=visitor_body(optins=optins)))
    assert found["field"] == "optins[0].contextId"
    found = error(client.post("/centers", json=center_body(centerCode=HUGE)))
    assert found["field"] == "centerCode"


def test_nul_in_a_body_field_is_422_and_nothing_is_stored(client: TestClient) -> None:
    found = error(client.post("/visitors", json=visitor_body(addressCity="Zürich\u0000")))
    assert found["field"] == "addressCity"
    assert found["code"] == "invalid_text"
    assert "NUL" in found["message"]
    assert client.get("/visitors", params={"limit": 500}).json()["data"] == []


def test_nul_in_an_update_is_422(client: TestClient) -> None:
    visitor = create_visitor(client)
    found = error(client.patch(f"/visitors/{visitor['visitorId']}", json={"addressCity": "Zürich\u0000"}))
    assert found["field"] == "addressCity"


def test_a_lone_surrogate_is_422(client: TestClient) -> None:
    body = '{"model": [{"lastName": "Z\\udc00rich"}]}'  # valid JSON, not storable text
    response = client.post(
        "/integration/visitors-import", content=body, headers={"Content-Type": "application/json"}
    )
    found = error(response)
    assert found["field"] == "model[0].lastName"
    assert "surrogate" in found["message"]


def test_nul_in_a_free_form_json_value_is_422(client: TestClient) -> None:
    response = client.post("/integration/visitors-import", json={"model": [{"city": {"name": "a\u0000b"}}]})
    found = error(response)
    assert found["field"] == "model[0].city"
    response = client.post("/integration/visitors-import", json={"model": [{"ci\u0000ty": "x"}]})
    found = error(response)
    assert found["field"] == "model[0]"
    assert "key" in found["message"]


def test_nul_in_a_nested_model_of_another_base_is_422(client: TestClient) -> None:
    """A subscription's auth is a plain BaseModel union inside an ApiModel: checked all the same."""
    body = {
        "name": "nul-in-auth",
        "stream": "visitors",
        "url": "http://127.0.0.1:9/hook",
        "auth": {"type": "basic", "username": "u", "password": "p\u0000"},
    }
    found = error(client.post("/integration/subscriptions", json=body))
    assert found["field"].startswith("auth")
    assert "password" in found["message"]


def test_nul_in_a_plain_model_body_and_in_query_and_path_is_422(client: TestClient) -> None:
    assert error(client.post("/keys", json={"name": "a\u0000", "scope": "read"}))["field"] == "name"
    assert error(client.get("/centers", params={"sort": "pcCode\u0000"}))["field"] == "sort"
    assert error(client.get("/centers/FR%00-1"))["field"] == "pcCode"


def test_a_number_past_a_32_bit_column_is_422_naming_the_field(client: TestClient, database_url: str) -> None:
    """The backstop for a column narrower than int64 that no rule bounds (PostgreSQL's integer); SQLite
    stores any 64-bit integer."""
    visitor = create_visitor(client)
    response = client.patch(f"/visitors/{visitor['visitorId']}", json={"birthYear": 2**40})
    if not database_url.startswith("postgresql"):
        assert response.status_code in (200, 422), response.text
        return
    found = error(response)
    assert found["field"] == "birthYear"


def test_a_stored_subscription_is_not_touched_by_an_out_of_range_id(
    client: TestClient, receiver: Any
) -> None:
    sub = create_subscription(client, f"{receiver.url}/hook")
    error(client.patch(f"/integration/subscriptions/{HUGE}", json={"enabled": False}))
    assert client.get(f"/integration/subscriptions/{sub['subscriptionId']}").json()["data"]["enabled"]


# The rule on models of any family -------------------------------------------------------------------------


class _Plain(BaseModel):
    label: str
    count: int


class _Declared(ApiModel):
    """As a new family would declare it: nothing about int64 or NUL."""

    amount: int
    ratio: int | None = None
    tags: list[str] = []
    extra: dict[str, Any] = {}
    inner: _Plain | None = None
    nickname: str = not_null(max_length=20)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"amount": 2**63}, ("amount",)),
        ({"amount": 1, "ratio": -(2**63) - 1}, ("ratio",)),
        ({"amount": 1, "tags": ["ok", "n\u0000"]}, ("tags", 1)),
        ({"amount": 1, "extra": {"k": ["\u0000"]}}, ("extra", "k")),
        ({"amount": 1, "inner": {"label": "x\u0000", "count": 1}}, ("inner",)),
        ({"amount": 1, "inner": {"label": "x", "count": 2**64}}, ("inner",)),
        ({"amount": 1, "nickname": "\u0000"}, ("nickname",)),
    ],
)
def test_every_api_model_is_hardened_without_asking(data: dict[str, Any], field: tuple[Any, ...]) -> None:
    with pytest.raises(ValidationError) as caught:
        _Declared.model_validate(data)
    assert [err["loc"] for err in caught.value.errors()] == [field]


def test_query_models_are_hardened() -> None:
    class Query(QueryModel):
        after: int = 0

    with pytest.raises(ValidationError):
        Query.model_validate({"after": str(2**63)})
    assert Query.model_validate({"after": str(2**63 - 1)}).after == 2**63 - 1


# What the schema says -------------------------------------------------------------------------------------


def _spec() -> dict[str, Any]:
    return openapi_document()


def _parameter(path: str, method: str, name: str) -> dict[str, Any]:
    params = _spec()["paths"][path][method]["parameters"]
    return next(p for p in params if p["name"] == name)  # type: ignore[no-any-return]


def test_the_schema_documents_the_int64_range() -> None:
    subscription_id = _parameter("/integration/subscriptions/{subscriptionId}", "get", "subscriptionId")
    assert subscription_id["schema"]["maximum"] == INT64_MAX
    assert subscription_id["schema"]["minimum"] == INT64_MIN
    assert _parameter("/centers", "get", "offset")["schema"]["maximum"] == INT64_MAX
    context_id = _spec()["components"]["schemas"]["OptinCreate"]["properties"]["contextId"]
    assert {"minimum": INT64_MIN, "maximum": INT64_MAX, "type": "integer", "format": "int64"} in context_id[
        "anyOf"
    ]
    bounded = next(choice for choice in context_id["anyOf"] if choice["type"] == "integer")
    assert type(bounded["maximum"]) is int  # not 2**63 as a float
    birth_day = _spec()["components"]["schemas"]["VisitorCreate"]["properties"]["birthDay"]
    assert {"maximum": 31, "minimum": 1, "type": "integer"} in birth_day["anyOf"]


def test_a_field_that_may_not_be_null_claims_no_null_default() -> None:
    from visitorhub.domains.visitors.schemas import VisitorUpdate

    update = VisitorUpdate.model_json_schema()["properties"]
    assert "default" not in update["lastName"]
    assert update["lastName"]["type"] == "string"
    assert update["addressCity"]["default"] is None  # nullable: null is a real default
    assert "default" not in _Declared.model_json_schema()["properties"]["nickname"]
    assert "default" not in _spec()["components"]["schemas"]["VisitorUpdate"]["properties"]["lastName"]


def test_creates_link_to_the_operations_their_id_serves() -> None:
    links = _spec()["paths"]["/visitors"]["post"]["responses"]["201"]["links"]
    assert links["getVisitor"] == {
        "operationId": "getVisitor",
        "parameters": {"visitorId": "$response.body#/data/visitorId"},
    }
    assert links["createVehicle"]["parameters"] == {"visitorId": "$response.body#/data/visitorId"}
    deliveries = _spec()["paths"]["/integration/subscriptions/{subscriptionId}/deliveries"]["get"]
    assert deliveries["responses"]["200"]["links"]["getDelivery"]["parameters"] == {
        "deliveryId": "$response.body#/data/0/deliveryId"
    }
    assert "links" not in _spec()["paths"]["/keys"]["post"]["responses"]["201"]
