"""A channel reads its template for every group it commits (templates.resolve_current keeps the validated
template while the stored text is the same): a template replaced or deleted, by this server or another
one, holds from the next payload on."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select, update

from tests.integration.channels.conftest import Hub, running_hub, visitor_template
from visitorhub.core.db import unit_of_work
from visitorhub.integration.templates import service as templates
from visitorhub.models import Visitor
from visitorhub.models.integration import IntegrationTemplate


def _record(n: int) -> dict[str, Any]:
    return {
        "id": f"r{n}",
        "email": f"tpl.{n}.{time.time_ns()}@example.com",
        "given": "Ann",
        "nick": "Annie",
        "last": "Lee",
    }


def _first_name(hub: Hub, email: str) -> str | None:
    with unit_of_work(hub.app.state.sessions) as session:
        return session.scalar(select(Visitor.first_name).where(Visitor.email == email))


def _send(hub: Hub, channel: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
    response = hub.send(channel["path"], [record])
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def test_a_template_replaced_by_another_server_holds_from_the_next_payload(hub: Hub) -> None:
    name = hub.template(visitor_template(first_name_from="given"))
    channel = hub.channel(template=name)
    first, second, third = _record(1), _record(2), _record(3)
    assert _send(hub, channel, first)["applied"] == 1
    assert _send(hub, channel, second)["applied"] == 1  # the template this server validated, again
    assert _first_name(hub, second["email"]) == "Ann"
    with running_hub(hub.database_url) as other:
        other.template(visitor_template(first_name_from="nick"), name=name)
    assert _send(hub, channel, third)["applied"] == 1
    assert _first_name(hub, third["email"]) == "Annie"


def test_a_deleted_template_quarantines_until_one_is_saved_again(hub: Hub) -> None:
    name = hub.template(visitor_template(first_name_from="given"))
    channel = hub.channel(template=name)
    assert _send(hub, channel, _record(4))["applied"] == 1
    assert hub.admin.delete(f"/integration/templates/{name}").status_code == 204
    held = _record(5)
    assert _send(hub, channel, held)["quarantined"] == 1
    (record,) = hub.records(channel, status="quarantined")
    assert record["error"].startswith("template: ")
    assert name in record["error"]
    hub.template(visitor_template(first_name_from="nick"), name=name)
    assert _send(hub, channel, _record(6))["applied"] == 1
    report = hub.admin.post(f"/integration/channels/{channel['channelId']}/reapply").json()["data"]
    assert (report["applied"], report["quarantined"]) == (1, 0)
    assert _first_name(hub, held["email"]) == "Annie"


def test_a_stored_template_that_no_longer_matches_the_entities_quarantines(hub: Hub) -> None:
    """As after an upgrade that renamed a field: the stored spec no longer validates (written here straight
    into the table, as no API would save it)."""
    name = hub.template(visitor_template(first_name_from="given"))
    channel = hub.channel(template=name)
    assert _send(hub, channel, _record(7))["applied"] == 1
    with unit_of_work(hub.app.state.sessions) as session:
        spec = session.scalar(select(IntegrationTemplate.spec).where(IntegrationTemplate.name == name))
        assert spec is not None
        spec["entities"][0]["fields"][1]["field"] = "nickname"
        session.execute(update(IntegrationTemplate).where(IntegrationTemplate.name == name).values(spec=spec))
    assert _send(hub, channel, _record(8))["quarantined"] == 1
    (record,) = hub.records(channel, status="quarantined")
    assert "no longer matches the entities" in record["error"]
    assert "nickname" in record["error"]


def test_the_validated_template_is_kept_while_its_text_is_unchanged(hub: Hub) -> None:
    name = hub.template(visitor_template(first_name_from="given"))
    with unit_of_work(hub.app.state.sessions) as session:
        kept = templates.resolve_current(session, name)
        assert templates.resolve_current(session, name) is kept
        assert kept == templates.resolve(session, name)
    hub.template(visitor_template(first_name_from="nick"), name=name)
    with unit_of_work(hub.app.state.sessions) as session:
        replaced = templates.resolve_current(session, name)
    assert replaced is not kept
    assert replaced.entities[0].fields[1].source == "nick"
    builtin = "visitors-import"
    with unit_of_work(hub.app.state.sessions) as session:
        assert templates.resolve_current(session, builtin) is templates.resolve(session, builtin)


def _import(hub: Hub, name: str, rows: list[dict[str, Any]]) -> dict[str, int]:
    response = hub.admin.post(f"/integration/{name}", json={"model": rows})
    assert response.status_code == 200, response.text
    return response.json()["data"]["summary"]["Visitor"]  # type: ignore[no-any-return]


def _content_hash(hub: Hub, email: str) -> int | None:
    with unit_of_work(hub.app.state.sessions) as session:
        return session.scalar(select(Visitor.content_hash).where(Visitor.email == email))


def test_a_channel_writes_no_content_hash_and_clears_an_imports(hub: Hub) -> None:
    """A channel finds repeats by its own hash per source id, so the records it writes hold no content hash;
    a record a file import wrote (holding the import's hash) and a channel then changed holds none either,
    so that importing the file again restores it instead of taking it for unchanged."""
    name = hub.template(visitor_template(first_name_from="given"))
    channel = hub.channel(template=name)
    pushed = _record(8)
    assert _send(hub, channel, pushed)["applied"] == 1
    assert _content_hash(hub, pushed["email"]) is None

    imported = _record(9)
    assert _import(hub, name, [imported])["inserted"] == 1
    assert _content_hash(hub, imported["email"]) is not None
    assert _import(hub, name, [imported])["unchanged"] == 1
    assert _send(hub, channel, {**imported, "given": "Bea"})["applied"] == 1
    assert _first_name(hub, imported["email"]) == "Bea"
    assert _content_hash(hub, imported["email"]) is None
    assert _import(hub, name, [imported])["updated"] == 1
    assert _first_name(hub, imported["email"]) == "Ann"
