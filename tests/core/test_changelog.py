"""The change log: one record per create/update/delete, in the writer's transaction; GET /changes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from tests.factories import center_body, changes, create_center, create_vehicle, create_visitor, vehicle_body
from visitorhub.core import changelog
from visitorhub.core.db import make_session_factory, unit_of_work
from visitorhub.domains.centers.resources import centers
from visitorhub.models import Center, ChangeLogEntry, Vehicle


def _count(session: Session, model: Any) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_create_update_delete_are_recorded(client: TestClient) -> None:
    start = datetime.now(UTC) - timedelta(seconds=1)
    visitor = create_visitor(client)
    vehicle = create_vehicle(client, visitor["visitorId"])
    url = f"/visitors/{visitor['visitorId']}/vehicles/{vehicle['vehicleId']}"
    assert client.patch(url, json={"color": "red"}).status_code == 200
    assert client.delete(url).status_code == 204
    end = datetime.now(UTC) + timedelta(seconds=1)

    log = [c for c in changes(client) if c["entity"] != "Optin"]  # registration also logs its opt-ins
    assert [(c["entity"], c["operation"]) for c in log] == [
        ("Visitor", "create"),
        ("Vehicle", "create"),
        ("Vehicle", "update"),
        ("Vehicle", "delete"),
    ]
    assert log[0]["entityId"] == visitor["visitorId"]
    assert {c["entityId"] for c in log[1:]} == {str(vehicle["vehicleId"])}
    seqs = [c["seq"] for c in log]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == len(seqs)
    for c in log:
        assert set(c) == {"seq", "entity", "entityId", "operation", "occurredAt"}
        occurred = datetime.fromisoformat(c["occurredAt"])
        assert occurred.utcoffset() == timedelta(0)
        assert start <= occurred <= end
    occurred_at = [datetime.fromisoformat(c["occurredAt"]) for c in log]
    assert occurred_at == sorted(occurred_at)


def test_record_holds_the_representation(client: TestClient, session: Session) -> None:
    center = create_center(client)
    client.patch(f"/centers/{center['pcCode']}", json={"label": "After"})
    rows = list(
        session.scalars(
            select(ChangeLogEntry).where(ChangeLogEntry.entity == "Center").order_by(ChangeLogEntry.seq)
        )
    )
    assert [r.operation for r in rows] == ["create", "update"]
    assert rows[0].data == changelog.compact(center)  # the representation, null fields left out
    assert rows[1].data is not None
    assert rows[1].data["label"] == "After"


def test_no_op_update_writes_no_record(client: TestClient) -> None:
    center = create_center(client, isActive=True)
    before = changes(client)
    response = client.patch(f"/centers/{center['pcCode']}", json={"label": center["label"], "isActive": True})
    assert response.status_code == 200
    assert response.json()["data"]["updateDate"] == center["updateDate"]
    assert changes(client) == before


def test_failed_write_writes_no_record(client: TestClient) -> None:
    center = create_center(client)
    before = changes(client)
    assert client.post("/centers", json=center_body(pcCode=center["pcCode"])).status_code == 409
    assert client.patch(f"/centers/{center['pcCode']}", json={"country": "ZZ"}).status_code == 422
    assert client.patch(f"/centers/{center['pcCode']}", json={"label": None}).status_code == 422
    assert changes(client) == before


# GET /changes -------------------------------------------------------------------------------------


def test_after_and_limit(client: TestClient) -> None:
    created = [create_center(client) for _ in range(5)]
    log = changes(client)
    assert [c["entityId"] for c in log] == [c["pcCode"] for c in created]
    seqs = [c["seq"] for c in log]

    page = client.get("/changes", params={"limit": 2})
    assert page.status_code == 200
    assert [c["seq"] for c in page.json()["data"]] == seqs[:2]

    after = client.get("/changes", params={"after": seqs[1], "limit": 2}).json()["data"]
    assert [c["seq"] for c in after] == seqs[2:4]
    assert client.get("/changes", params={"after": seqs[-1]}).json()["data"] == []


def test_next_link_walks_every_change(client: TestClient) -> None:
    for _ in range(5):
        create_center(client)
    expected = [c["seq"] for c in changes(client)]

    seen: list[int] = []
    url: str | None = "/changes?limit=2"
    pages = 0
    while url:
        response = client.get(url)
        assert response.status_code == 200
        body = response.json()
        seen += [c["seq"] for c in body["data"]]
        assert body["metadata"]["_links"]["self"]
        url = body["metadata"]["_links"].get("next")
        pages += 1
        assert pages < 10
    assert seen == expected
    assert pages == 3


def test_no_next_link_on_last_page(client: TestClient) -> None:
    create_center(client)
    body = client.get("/changes", params={"limit": 5}).json()
    assert len(body["data"]) == 1
    assert "next" not in body["metadata"]["_links"]


@pytest.mark.parametrize("entity", ["Visitor", "visitors"])
def test_entity_filter(client: TestClient, entity: str) -> None:
    visitor = create_visitor(client)
    create_center(client)
    create_vehicle(client, visitor["visitorId"])
    log = changes(client, entity=entity)
    assert [(c["entity"], c["entityId"]) for c in log] == [("Visitor", visitor["visitorId"])]


def test_entity_filter_other_spellings(client: TestClient) -> None:
    visitor = create_visitor(client)
    create_vehicle(client, visitor["visitorId"])
    create_center(client)
    client.put(f"/visitors/{visitor['visitorId']}/centers", json={"pcCode": "FR-SC-1"})
    assert {c["entity"] for c in changes(client, entity="vehicles")} == {"Vehicle"}
    assert {c["entity"] for c in changes(client, entity="Vehicle")} == {"Vehicle"}
    assert {c["entity"] for c in changes(client, entity="centers")} == {"Center"}
    assert {c["entity"] for c in changes(client, entity="visitor-centers")} == {"VisitorCenter"}
    assert {c["entity"] for c in changes(client, entity="VisitorCenter")} == {"VisitorCenter"}


@pytest.mark.parametrize("entity", ["Spaceship", "visitor", "VISITOR", ""])
def test_unknown_entity_is_400(client: TestClient, entity: str) -> None:
    response = client.get("/changes", params={"entity": entity})
    assert response.status_code == 400, response.text
    error = response.json()["errors"][0]
    assert error["field"] == "entity"


@pytest.mark.parametrize(("param", "value"), [("after", -1), ("limit", 0), ("limit", 501), ("after", "x")])
def test_bad_paging_is_422(client: TestClient, param: str, value: Any) -> None:
    response = client.get("/changes", params={param: value})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == param


def test_unknown_parameter_is_400(client: TestClient) -> None:
    assert client.get("/changes", params={"since": 1}).status_code == 400


# A transaction that fails leaves nothing behind -----------------------------------------------------


class CommitRefused(Exception):
    pass


@pytest.fixture
def failing_commits(app: FastAPI) -> Iterator[None]:
    """Every commit of the app's write sessions raises, for this test only."""
    target = app.state.sessions

    def refuse(session: Session) -> None:
        raise CommitRefused("commit refused by test")

    event.listen(target, "before_commit", refuse)
    try:
        yield
    finally:
        event.remove(target, "before_commit", refuse)
    assert not event.contains(target, "before_commit", refuse)


def test_failed_commit_answers_500_and_writes_nothing(
    client: TestClient, app: FastAPI, session: Session, failing_commits: None
) -> None:
    centers_before = _count(session, Center)
    log_before = _count(session, ChangeLogEntry)
    body = center_body()
    response = client.post("/centers", json=body)
    assert response.status_code == 500, response.text
    assert response.json()["errors"][0]["type"] == "server_error"
    assert "commit refused" not in response.text

    # Reads use the read-only factory, which still commits.
    assert client.get(f"/centers/{body['pcCode']}").status_code == 404
    assert client.get("/changes").json()["data"] == []
    assert _count(session, Center) == centers_before
    assert _count(session, ChangeLogEntry) == log_before


def test_failed_commit_of_update_and_delete_changes_nothing(
    client: TestClient, app: FastAPI, session: Session
) -> None:
    visitor = create_visitor(client)
    vehicle = create_vehicle(client, visitor["visitorId"])
    url = f"/visitors/{visitor['visitorId']}/vehicles/{vehicle['vehicleId']}"
    before = changes(client)

    def refuse(session: Session) -> None:
        raise CommitRefused("commit refused by test")

    event.listen(app.state.sessions, "before_commit", refuse)
    try:
        patch = client.patch(url, json={"color": "purple"})
        delete = client.delete(url)
        create = client.post(f"/visitors/{visitor['visitorId']}/vehicles", json=vehicle_body())
    finally:
        event.remove(app.state.sessions, "before_commit", refuse)

    assert (patch.status_code, delete.status_code, create.status_code) == (500, 500, 500)
    assert client.get(url).json()["data"] == vehicle
    assert changes(client) == before
    assert _count(session, Vehicle) == 1
    # And the app works again once commits succeed.
    assert client.patch(url, json={"color": "purple"}).status_code == 200


def test_unit_of_work_rolls_back_on_error(connection: Connection, session: Session) -> None:
    factory = make_session_factory(connection)
    log_before = _count(session, ChangeLogEntry)
    body = {"pc_code": "UOW-1", "label": "Rolled back", "country": "FR", "is_westfield": False}

    def write_then_fail() -> None:
        with unit_of_work(factory) as uow:
            centers.service.create(uow, body)
            uow.flush()
            assert uow.get(Center, "UOW-1") is not None
            assert _count(uow, ChangeLogEntry) == log_before + 1
            raise RuntimeError("abort")

    with pytest.raises(RuntimeError, match="abort"):
        write_then_fail()

    with unit_of_work(factory) as check:
        assert check.get(Center, "UOW-1") is None
        assert _count(check, ChangeLogEntry) == log_before

    with unit_of_work(factory) as uow:
        centers.service.create(uow, body)
    with unit_of_work(factory) as check:
        assert check.get(Center, "UOW-1") is not None
        log = changelog.read_after(check, 0, 10, "Center")
        assert [(e.entity_id, e.operation) for e in log] == [("UOW-1", "create")]


def test_append_many_and_read_after(session: Session) -> None:
    changelog.append(session, "Center", "A", "create", {"x": 1})
    changelog.append_many(
        session,
        [
            {"entity": "Center", "entity_id": "B", "operation": "create", "data": None},
            {"entity": "Vehicle", "entity_id": 7, "operation": "delete", "data": None},
        ],
    )
    changelog.append_many(session, [])
    session.flush()
    rows = changelog.read_after(session, 0, 10)
    assert [(r.entity, r.entity_id, r.operation) for r in rows] == [
        ("Center", "A", "create"),
        ("Center", "B", "create"),
        ("Vehicle", "7", "delete"),
    ]
    assert [r.seq for r in changelog.read_after(session, rows[0].seq, 10, "Center")] == [rows[1].seq]
    assert len(changelog.read_after(session, 0, 2)) == 2
