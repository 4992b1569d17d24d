"""The contract every declared resource keeps, checked for each one from its declaration alone: a new family
is covered by declaring it; its own tests cover only its own rules.

List envelope and links, offset/limit bounds, sort and fields whitelists, unknown query parameters, 404s
for an unknown record or parent, 422 naming the field, 409 on a unique clash, change records (and none for
a no-op update), the catalogue's summary in the OpenAPI document."""

from __future__ import annotations

import enum
import itertools
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import openapi_document
from tests.factories import create_visitor, visitor_body
from visitorhub.core import changelog
from visitorhub.core.catalogue import catalogue
from visitorhub.core.listing import MAX_LIMIT
from visitorhub.core.resource import Resource
from visitorhub.domains import all_resources
from visitorhub.domains.visitors.resources import external_ids
from visitorhub.integration.templates.entities import partial_model, template_entities
from visitorhub.integration.templates.planning import _given_values

RESOURCES = list(all_resources().values())


def having(*actions: str, also: Any = None) -> list[Any]:
    """The resources that declare every one of `actions` (and pass `also`), as test parameters."""
    return [
        pytest.param(r, id=r.name)
        for r in RESOURCES
        if all(a in r.operations for a in actions) and (also is None or also(r))
    ]


# Making records --------------------------------------------------------------------------------------------


def _parent_params(client: TestClient, resource: Resource) -> dict[str, Any]:
    """Path parameters of a new parent record (and its own parents), made through the API."""
    parent = resource.parent_resource
    if parent is None:
        return {}
    if parent.name == "visitors":
        return {"visitorId": create_visitor(client)["visitorId"]}
    params, record = make(client, parent)
    return {**params, parent.key or "": record[parent.key or ""]}


def _path(template: str, params: dict[str, Any]) -> str:
    return template.format(**{name: str(value) for name, value in params.items()})


def make(client: TestClient, resource: Resource, **overrides: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A new record from the declaration's example, with fresh values in its unique free-text fields:
    (its parent's path parameters, its representation)."""
    assert resource.example is not None, f"{resource.name}: declare an example (a valid create body)"
    params = _parent_params(client, resource)
    body = {**example(client, resource), **overrides}
    response = client.post(_path(resource.collection_path, params), json=body)
    assert response.status_code == resource.create_status, response.text
    return params, response.json()["data"]


def item_url(resource: Resource, params: dict[str, Any], record: dict[str, Any]) -> str:
    return _path(resource.item_path, {**params, resource.key or "": record[resource.key or ""]})


def missing_key(resource: Resource) -> Any:
    """A well-formed key no record has."""
    kind = resource.key_type
    if kind is uuid.UUID:
        return uuid.uuid4()
    if kind is int:
        return 987_654_321
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return next(iter(kind)).value
    return "no-such-key"


def collection(client: TestClient, resource: Resource) -> tuple[str, dict[str, Any]]:
    params = _parent_params(client, resource)
    return _path(resource.collection_path, params), params


def error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()["errors"][0]  # type: ignore[no-any-return]


def changes_of(client: TestClient, resource: Resource, after: int) -> list[dict[str, Any]]:
    response = client.get("/changes", params={"after": after, "entity": resource.entity, "limit": 500})
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def last_seq(client: TestClient) -> int:
    data = client.get("/changes", params={"limit": 500}).json()["data"]
    seq = 0
    while data:
        seq = data[-1]["seq"]
        data = client.get("/changes", params={"after": seq, "limit": 500}).json()["data"]
    return seq


def entity_id(resource: Resource, record: dict[str, Any]) -> str | None:
    """The change log's id of a record, when its representation shows its primary key."""
    pk = resource.service.pk_attr
    names = [name for name, attr in resource.attributes.items() if attr == pk]
    return str(record[names[0]]) if names else None


# Lists -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("resource", having("list"))
def test_list_envelope_and_links(client: TestClient, resource: Resource) -> None:
    url, _params = collection(client, resource)
    if "create" in resource.operations:
        for _ in range(2):
            assert post_distinct(client, url, resource).status_code == resource.create_status
    response = client.get(url, params={"limit": 1})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"data", "metadata"}
    assert isinstance(body["data"], list)
    assert body["metadata"]["version"] == 1
    links = body["metadata"]["_links"]
    assert "limit=1" in links["self"]
    if "create" in resource.operations:
        assert len(body["data"]) == 1
        assert "next" in links
        following = client.get(links["next"]).json()
        assert following["data"]
        assert following["data"] != body["data"]
        assert "prev" in following["metadata"]["_links"]


def example(client: TestClient, resource: Resource) -> dict[str, Any]:
    """The declaration's example, with fresh values where a second record under the same parent would
    clash (a free-text field of each unique rule, else an integer one), and new records where it refers to
    one (references)."""
    body = dict(resource.example or {})
    assert resource.create is not None
    for name, target_name in resource.references.items():
        if name in body:
            target = all_resources()[target_name]
            body[name] = make(client, target)[1][target.key or ""]
    fields = {(info.alias or name): info for name, info in resource.create.model_fields.items()}
    schemas = resource.create.model_json_schema(by_alias=True).get("properties", {})
    for rule in resource.unique:
        if any(name in resource.references for name in rule.fields):
            continue  # a new referenced record made it fresh already
        for name in rule.fields:
            info = fields.get(name)
            patterned = info is not None and any(getattr(m, "pattern", None) for m in info.metadata)
            if info is not None and info.annotation in (str, str | None) and not patterned:
                body[name] = f"x{uuid.uuid4().hex[:8]}"
                break
        else:
            numbers = [name for name in rule.fields if name in fields and fields[name].annotation is int]
            if numbers:  # no free text in the rule (a service's storeId): a fresh number
                body[numbers[0]] = uuid.uuid4().int % 10**9
                continue
            for name in rule.fields:
                allowed = schemas.get(name, {}).get("enum")
                if allowed and len(allowed) > 2:  # a code from a list (a locale): the next one in the list
                    body[name] = allowed[next(_ENUM_TURN) % len(allowed)]
                    break
    return body


_ENUM_TURN = itertools.count()


def post_distinct(client: TestClient, url: str, resource: Resource) -> Any:
    """POST the example; when a rule of the family's own (not a declared unique rule) refuses it as a
    duplicate naming a field with a list of allowed values, the next allowed values until one is accepted."""
    body = example(client, resource)
    response = client.post(url, json=body)
    if response.status_code != 409:
        return response
    field = response.json()["errors"][0].get("field")
    assert resource.create is not None
    schema = resource.create.model_json_schema(by_alias=True)
    prop = schema.get("properties", {}).get(field, {})
    if "$ref" in prop:
        prop = schema["$defs"][prop["$ref"].rsplit("/", 1)[-1]]
    allowed = prop.get("enum")
    for value in allowed or []:
        if value != body.get(field):
            response = client.post(url, json={**body, field: value})
            if response.status_code != 409:
                return response
    return response


@pytest.mark.parametrize("resource", having("list"))
@pytest.mark.parametrize(("name", "value"), [("limit", 0), ("limit", MAX_LIMIT + 1), ("offset", -1)])
def test_list_bounds_are_422_naming_the_parameter(
    client: TestClient, resource: Resource, name: str, value: int
) -> None:
    url, _ = collection(client, resource)
    found = error(client.get(url, params={name: value}), 422)
    assert found["field"] == name
    assert found["type"] == "validation_error"


@pytest.mark.parametrize("resource", having("list"))
def test_every_declared_sort_field_sorts_both_ways(client: TestClient, resource: Resource) -> None:
    url, _ = collection(client, resource)
    for name in resource.sortable:
        for sort in (name, f"-{name}"):
            assert client.get(url, params={"sort": sort}).status_code == 200, sort


@pytest.mark.parametrize("resource", having("list"))
def test_an_unknown_sort_field_is_400_naming_sort(client: TestClient, resource: Resource) -> None:
    url, _ = collection(client, resource)
    found = error(client.get(url, params={"sort": "-notAField"}), 400)
    assert found["field"] == "sort"
    assert "notAField" in found["message"]


@pytest.mark.parametrize("resource", having("list"))
def test_fields_selects_known_fields_only(client: TestClient, resource: Resource) -> None:
    url, _ = collection(client, resource)
    first = next(iter(resource.attributes))
    if "create" in resource.operations:
        assert client.post(url, json=example(client, resource)).status_code == resource.create_status
        data = client.get(url, params={"fields": first}).json()["data"]
        assert data
        assert all(set(item) == {first} for item in data)
    found = error(client.get(url, params={"fields": f"{first},notAField"}), 400)
    assert found["field"] == "fields"
    assert "notAField" in found["message"]


@pytest.mark.parametrize("resource", having("list"))
def test_an_unknown_query_parameter_is_400(client: TestClient, resource: Resource) -> None:
    url, _ = collection(client, resource)
    found = error(client.get(url, params={"bogusParam": "1"}), 400)
    assert found["code"] == "unknown_parameter"
    assert found["field"] == "bogusParam"


@pytest.mark.parametrize("resource", having("list", also=lambda r: r.parent is not None))
def test_the_collection_of_an_unknown_parent_is_404(client: TestClient, resource: Resource) -> None:
    parent = resource.parent_resource
    assert parent is not None
    params = {parent.key or "": missing_key(parent)}
    grandparent = parent.parent_resource
    if grandparent is not None:
        params.update(_parent_params(client, parent))
    found = error(client.get(_path(resource.collection_path, params)), 404)
    assert found["field"] == parent.key


# Items -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("resource", having("get"))
def test_get_an_unknown_record_is_404_naming_the_key(client: TestClient, resource: Resource) -> None:
    params = _parent_params(client, resource)
    url = _path(resource.item_path, {**params, resource.key or "": missing_key(resource)})
    found = error(client.get(url), 404)
    assert found["field"] == resource.key


@pytest.mark.parametrize("resource", having("get", "create"))
def test_get_returns_the_record_and_its_fields(client: TestClient, resource: Resource) -> None:
    params, record = make(client, resource)
    url = item_url(resource, params, record)
    response = client.get(url)
    assert response.status_code == 200, response.text
    assert response.json() == {"data": record}
    assert set(record) == set(resource.attributes)
    first = next(iter(resource.attributes))
    assert client.get(url, params={"fields": first}).json() == {"data": {first: record[first]}}
    assert error(client.get(url, params={"fields": "notAField"}), 400)["field"] == "fields"
    assert error(client.get(url, params={"bogusParam": "1"}), 400)["code"] == "unknown_parameter"


@pytest.mark.parametrize("resource", having("update"))
def test_update_an_unknown_record_is_404(client: TestClient, resource: Resource) -> None:
    params = _parent_params(client, resource)
    url = _path(resource.item_path, {**params, resource.key or "": missing_key(resource)})
    assert resource.example_update is not None, f"{resource.name}: declare example_update"
    assert error(client.patch(url, json=resource.example_update), 404)["field"] == resource.key


@pytest.mark.parametrize("resource", having("delete"))
def test_delete_an_unknown_record_is_404(client: TestClient, resource: Resource) -> None:
    params = _parent_params(client, resource)
    url = _path(resource.item_path, {**params, resource.key or "": missing_key(resource)})
    assert error(client.delete(url), 404)["field"] == resource.key


# Writes ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("resource", having("create"))
def test_create_refuses_an_unknown_field_naming_it(client: TestClient, resource: Resource) -> None:
    url, _ = collection(client, resource)
    found = error(client.post(url, json={**(resource.example or {}), "noSuchField": 1}), 422)
    assert found["field"] == "noSuchField"


@pytest.mark.parametrize(
    "resource", having("create", also=lambda r: any(f.is_required() for f in r.create.model_fields.values()))
)
def test_create_names_a_missing_required_field(client: TestClient, resource: Resource) -> None:
    url, _ = collection(client, resource)
    assert resource.create is not None
    required = {
        (info.alias or name) for name, info in resource.create.model_fields.items() if info.is_required()
    }
    response = client.post(url, json={})
    assert response.status_code == 422, response.text
    named = {item["field"] for item in response.json()["errors"]}
    assert required <= named


@pytest.mark.parametrize("resource", having("create", also=lambda r: bool(r.unique)))
def test_a_unique_clash_is_409_naming_the_field(client: TestClient, resource: Resource) -> None:
    """The same body twice under the same parent: the first unique rule refuses the second."""
    body = example(client, resource)
    params, _record = make(client, resource, **body)
    seq = last_seq(client)
    found = error(client.post(_path(resource.collection_path, params), json=body), 409)
    rule = resource.unique[0]
    assert (found["field"], found["code"]) == (rule.field or rule.fields[-1], "duplicate")
    assert changes_of(client, resource, seq) == []


@pytest.mark.parametrize("resource", having("create"))
def test_create_writes_a_change_record(client: TestClient, resource: Resource) -> None:
    params = _parent_params(client, resource)  # the parent's own records (a visitor's optins) come first
    body = example(client, resource)
    seq = last_seq(client)
    response = client.post(_path(resource.collection_path, params), json=body)
    assert response.status_code == resource.create_status, response.text
    record = response.json()["data"]
    assert [c["operation"] for c in changes_of(client, resource, seq)] == ["create"]
    if entity_id(resource, record) is not None:
        assert changes_of(client, resource, seq)[0]["entityId"] == entity_id(resource, record)


@pytest.mark.parametrize("resource", having("create", "update"))
def test_update_writes_a_change_record_and_a_no_op_none(client: TestClient, resource: Resource) -> None:
    assert resource.example_update is not None, f"{resource.name}: declare example_update"
    params, record = make(client, resource)
    url = item_url(resource, params, record)
    seq = last_seq(client)
    response = client.patch(url, json=resource.example_update)
    assert response.status_code == 200, response.text
    updated = response.json()["data"]
    for name, value in resource.example_update.items():
        assert updated[name] == value, name
    stamp = "updateDate" if "updateDate" in record else "updatedAt"  # challenges keep the seed's name
    assert updated[stamp] >= record[stamp]
    if "get" in resource.operations:
        assert client.get(url).json()["data"] == updated
    seq2 = last_seq(client)
    assert [c["operation"] for c in changes_of(client, resource, seq)] == ["update"]
    again = client.patch(url, json=resource.example_update)
    assert again.status_code == 200, again.text
    assert again.json()["data"] == updated
    assert changes_of(client, resource, seq2) == []
    response = client.patch(url, json={"noSuchField": 1})
    assert response.status_code == 422, response.text
    assert "noSuchField" in [item["field"] for item in response.json()["errors"]]


@pytest.mark.parametrize("resource", having("create", "delete"))
def test_delete_writes_a_change_record(client: TestClient, resource: Resource) -> None:
    params, record = make(client, resource)
    url = item_url(resource, params, record)
    seq = last_seq(client)
    assert client.delete(url).status_code == 204
    assert [c["operation"] for c in changes_of(client, resource, seq)] == ["delete"]
    if resource.soft_delete:
        shown = client.get(_path(resource.collection_path, params), params={"includeDeleted": "true"})
        assert [item[resource.soft_delete] is not None for item in shown.json()["data"]] == [True]
        assert client.get(_path(resource.collection_path, params)).json()["data"] == []
    elif "get" in resource.operations:
        assert client.get(url).status_code == 404


@pytest.mark.parametrize("resource", having("create", "update", also=lambda r: bool(r.immutable)))
def test_an_immutable_field_is_accepted_unchanged_and_refused_changed(
    client: TestClient, resource: Resource
) -> None:
    params, record = make(client, resource)
    url = item_url(resource, params, record)
    for name in resource.immutable:
        assert client.patch(url, json={name: record[name]}).status_code == 200
        other = record[name] + 1 if isinstance(record[name], int) else f"{record[name]}x"
        seq = last_seq(client)
        found = error(client.patch(url, json={name: other, **(resource.example_update or {})}), 422)
        assert (found["field"], found["code"]) == (name, "immutable")
        assert changes_of(client, resource, seq) == []  # nothing of the body was applied


@pytest.mark.parametrize("resource", having("create", "update"))
def test_a_field_that_may_not_be_null_refuses_null(client: TestClient, resource: Resource) -> None:
    schema = resource.update_schema
    assert schema is not None
    names = [
        info.alias or name
        for name, info in schema.model_fields.items()
        if info.annotation is not None and type(None) not in getattr(info.annotation, "__args__", ())
    ]
    params, record = make(client, resource)
    for name in names:
        assert (
            error(client.patch(item_url(resource, params, record), json={name: None}), 422)["field"] == name
        )


@pytest.mark.parametrize("resource", having("create", "delete", "update", also=lambda r: bool(r.soft_delete)))
def test_a_soft_deleted_record_stays_and_comes_back(client: TestClient, resource: Resource) -> None:
    params, record = make(client, resource)
    url = item_url(resource, params, record)
    assert client.delete(url).status_code == 204
    seq = last_seq(client)
    assert client.delete(url).status_code == 204  # deleted already: nothing changes
    assert changes_of(client, resource, seq) == []
    restored = client.patch(url, json={resource.soft_delete: None})
    assert restored.status_code == 200, restored.text
    assert restored.json()["data"][resource.soft_delete] is None
    assert [c["operation"] for c in changes_of(client, resource, seq)] == ["update"]
    listed = client.get(_path(resource.collection_path, params)).json()["data"]
    assert [item[resource.key] for item in listed] == [record[resource.key]]


@pytest.mark.parametrize("resource", having("create", also=lambda r: r.parent == "visitors"))
def test_deleting_the_visitor_deletes_the_record_with_a_change_record(
    client: TestClient, session: Session, resource: Resource
) -> None:
    params, _record = make(client, resource)
    # Visitors are deleted by their analytics id (seq 41), which the API cannot create (seq 37's enum).
    analytics = f"a-{uuid.uuid4().hex[:8]}"
    values = {
        "visitor_id": uuid.UUID(params["visitorId"]),
        "external_type": "analytics",
        "external_id": analytics,
    }
    external_ids.service.create(session, values)
    session.commit()
    shown = client.get(_path(resource.collection_path, params), params={"limit": 500})
    owned = len(shown.json()["data"]) if "list" in resource.operations else 1
    seq = last_seq(client)
    response = client.post("/visitors/batch-delete", json=[{"analyticsId": analytics}])
    assert response.json()["data"] == {"success": [analytics], "failed": []}
    assert [c["operation"] for c in changes_of(client, resource, seq)] == ["delete"] * owned
    assert client.get(_path(resource.collection_path, params)).status_code == 404


# The OpenAPI document --------------------------------------------------------------------------------------


def _openapi() -> dict[str, Any]:
    return openapi_document()


def _declared_operations() -> list[Any]:
    methods = {"list": "GET", "get": "GET", "create": "POST", "update": "PATCH", "delete": "DELETE"}
    return [
        pytest.param(r, action, seq, methods[action], id=f"{r.name}-{action}")
        for r in RESOURCES
        for action, seq in r.operations.items()
        if isinstance(seq, int)
    ]


@pytest.mark.parametrize(("resource", "action", "seq", "method"), _declared_operations())
def test_openapi_has_the_catalogue_operation(resource: Resource, action: str, seq: int, method: str) -> None:
    expected = catalogue()[seq]
    assert (expected.method, expected.path) == (
        method,
        resource.item_path if action in ("get", "update", "delete") else resource.collection_path,
    )
    operation = _openapi()["paths"][expected.path][method.lower()]
    assert operation["summary"] == expected.summary
    assert operation["tags"] == [resource.tag_name]


@pytest.mark.parametrize("resource", having("create"))
def test_the_representation_is_the_read_models_validated_one(
    client: TestClient, session: Session, resource: Resource
) -> None:
    """CrudService.represent serialises stored values without validating them when it may: the result is
    the one validating them gives, for every declared resource."""
    make(client, resource)
    records = session.scalars(select(resource.model)).all()
    assert records
    for record in records:
        validated = resource.read.model_validate(record).model_dump(mode="json", by_alias=True)
        assert resource.service.represent(record) == validated


@pytest.mark.parametrize("resource", having("create"))
def test_the_stored_representation_is_the_compact_encoding_of_the_representation(
    client: TestClient, session: Session, resource: Resource, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CrudService.represent_stored (what batch writers put in the change log) writes the JSON text
    itself where represent may serialise without validating: byte for byte changelog.encode_data's text
    of the representation, for every declared resource."""
    make(client, resource)
    records = session.scalars(select(resource.model)).all()
    assert records
    expected = [changelog.encode_data(resource.service.represent(record)) for record in records]
    if resource.name in IMPORTED:  # their text is made without the representation's dict
        monkeypatch.setattr(resource.service, "represent", None)
    assert [resource.service.represent_stored(record) for record in records] == expected


@pytest.mark.parametrize("entity", sorted(template_entities()))
def test_a_rows_values_are_what_their_dump_gives(client: TestClient, entity: str) -> None:
    """An import takes a validated row's given values from the model instance where its dump would return
    them unchanged (planning._given_values): the same values, for every template entity."""
    resource = template_entities()[entity]
    model = partial_model(resource)
    body = example(client, resource) if resource.example is not None else visitor_body()
    validated = model.model_validate({k: v for k, v in body.items() if k != "optins"})  # no visitor column
    assert validated.__pydantic_fields_set__
    assert _given_values(model, validated) == validated.model_dump(exclude_unset=True)
    assert list(_given_values(model, validated)) == list(validated.model_dump(exclude_unset=True))


# The resources template imports and channels write most.
IMPORTED = ("visitors", "vehicles", "external-ids", "centers", "visitor-centers")


def test_the_common_entities_are_represented_without_validation() -> None:
    """The fast way is taken where imports and channels need it (the test above checks it is exact)."""
    resources = all_resources()
    for name in IMPORTED:
        assert resources[name].service.serialises_directly, name
