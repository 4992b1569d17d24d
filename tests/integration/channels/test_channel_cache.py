"""A process keeps the channels it read (endpoints.ChannelCache): a change of a channel, made by this
process or another one on the same database, holds from the next payload on."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.integration.channels.conftest import Hub, running_hub
from visitorhub.core.db import unit_of_work
from visitorhub.core.service import WriteContext
from visitorhub.integration.channels import service
from visitorhub.integration.channels.committer import GroupCommitter, _Pending
from visitorhub.integration.channels.endpoints import ChannelCache
from visitorhub.integration.channels.receiving import StaleChannel, parse_payload, receive


@pytest.fixture(scope="module")
def other(hub: Hub) -> Iterator[Hub]:
    """A second server on the hub's database (another process, as far as caches go)."""
    with running_hub(hub.database_url) as served:
        yield served


def patch(hub: Hub, channel: dict[str, Any], **changes: Any) -> None:
    response = hub.admin.patch(f"/integration/channels/{channel['channelId']}", json=changes)
    assert response.status_code == 200, response.text


def basic(username: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


@pytest.fixture(params=["this", "another"])
def receiver(request: pytest.FixtureRequest, hub: Hub) -> Hub:
    """The server that receives the payloads: the one whose API changed the channel, or another one."""
    if request.param == "this":
        return hub
    return request.getfixturevalue("other")  # type: ignore[no-any-return]


class TestChangesHoldFromTheNextPayload:
    def test_disabled(self, hub: Hub, receiver: Hub) -> None:
        channel = hub.channel()
        assert receiver.send(channel["path"], [{"id": 1}]).status_code == 200
        patch(hub, channel, enabled=False)
        assert receiver.send(channel["path"], [{"id": 2}]).status_code == 404
        assert [r["sourceId"] for r in hub.records(channel)] == ["1"]
        patch(hub, channel, enabled=True)
        assert receiver.send(channel["path"], [{"id": 3}]).status_code == 200

    def test_deleted(self, hub: Hub, receiver: Hub) -> None:
        channel = hub.channel()
        assert receiver.send(channel["path"], [{"id": 1}]).status_code == 200
        assert hub.admin.delete(f"/integration/channels/{channel['channelId']}").status_code == 204
        assert receiver.send(channel["path"], [{"id": 2}]).status_code == 404
        assert hub.stored(channel) == 0

    def test_moved_then_another_channel_takes_the_path(self, hub: Hub, receiver: Hub) -> None:
        first = hub.channel()
        assert receiver.send(first["path"], [{"id": 1}]).status_code == 200
        patch(hub, first, path=first["path"] + "/moved")
        assert receiver.send(first["path"], [{"id": 2}]).status_code == 404
        second = hub.channel(path=first["path"], idField="key")
        assert receiver.send(first["path"], [{"key": "k"}]).status_code == 200
        assert [r["sourceId"] for r in hub.records(second)] == ["k"]
        assert [r["sourceId"] for r in hub.records(first)] == ["1"]

    def test_new_credentials(self, hub: Hub, receiver: Hub) -> None:
        channel = hub.channel(auth={"type": "basic", "username": "s360", "password": "old"})
        assert receiver.send(channel["path"], [{"id": 1}], headers=basic("s360", "old")).status_code == 200
        patch(hub, channel, auth={"type": "basic", "username": "s360", "password": "new"})
        # Refused by what the receiver read before, accepted on a fresh read; the old one no longer works.
        assert receiver.send(channel["path"], [{"id": 2}], headers=basic("s360", "new")).status_code == 200
        assert receiver.send(channel["path"], [{"id": 3}], headers=basic("s360", "old")).status_code == 401
        assert sorted(r["sourceId"] for r in hub.records(channel)) == ["1", "2"]

    def test_new_id_field_and_max_records(self, hub: Hub, receiver: Hub) -> None:
        channel = hub.channel()
        assert receiver.send(channel["path"], [{"id": 1}]).status_code == 200
        patch(hub, channel, idField="ref", maxRecords=1)
        assert receiver.send(channel["path"], [{"ref": "r1"}]).status_code == 200
        assert receiver.send(channel["path"], [{"id": 2}]).status_code == 422
        assert receiver.send(channel["path"], [{"ref": "r2"}, {"ref": "r3"}]).status_code == 413
        assert sorted(r["sourceId"] for r in hub.records(channel)) == ["1", "r1"]

    def test_a_template_set_later_applies_the_next_records(self, hub: Hub, receiver: Hub) -> None:
        channel = hub.channel(idField="contactNumber")
        record = {"contactNumber": "n-1", "email": "cache.template@example.com", "name": "Ann"}
        assert receiver.send(channel["path"], [record]).json()["data"]["applied"] == 0
        template = hub.template(
            {
                "direction": "in",
                "entities": [
                    {
                        "type": "Visitor",
                        "key": ["email"],
                        "defaults": {"gender": "u", "countryCode": "FR", "acquisitionPcCode": "FR-SC-123"},
                        "fields": [
                            {"source": "email", "field": "email"},
                            {"source": "name", "field": "firstName"},
                            {"source": "name", "field": "lastName"},
                        ],
                    }
                ],
            }
        )
        patch(hub, channel, template=template)
        changed = {**record, "contactNumber": "n-2", "email": "cache.template2@example.com"}
        assert receiver.send(channel["path"], [changed]).json()["data"] == {
            "accepted": 1,
            "duplicates": 0,
            "applied": 1,
            "quarantined": 0,
        }


def test_a_kept_channel_found_changed_at_commit_is_read_again(hub: Hub) -> None:
    """The version check of the storing transaction: the payload is checked again and stored once."""
    channel = hub.channel()
    assert hub.send(channel["path"], [{"id": 1}]).status_code == 200
    cache = hub.app.state.channel_cache
    kept = cache.get(channel["path"])
    assert kept is not None
    # As if read before a change: another update date (PostgreSQL gives a datetime, SQLite the stored text).
    older = (
        kept.version - timedelta(seconds=1)
        if isinstance(kept.version, datetime)
        else "2001-01-01 00:00:00.000000"
    )
    cache.put(replace(kept, version=older, id_field="other"))
    response = hub.send(channel["path"], [{"id": 2}])
    assert response.json()["data"] == {"accepted": 1, "duplicates": 0, "applied": 0, "quarantined": 0}
    assert cache.get(channel["path"]) == kept
    assert [r["sourceId"] for r in hub.records(channel)] == ["1", "2"]
    assert hub.read(channel)["payloadsReceived"] == 2


class TestTheStoringTransactionChecksTheChannel:
    def _read(self, hub: Hub, channel: dict[str, Any]) -> service.InboundChannel:
        with unit_of_work(hub.app.state.read_sessions) as session:
            return service.find_inbound(session, channel["path"], hub.app.state.settings)

    def test_a_payload_checked_against_an_older_version_is_not_stored(self, hub: Hub) -> None:
        channel = hub.channel()
        read = self._read(hub, channel)
        patch(hub, channel, idField="ref")
        records = parse_payload(json.dumps([{"id": "x"}]).encode(), read)
        with pytest.raises(StaleChannel), unit_of_work(hub.app.state.sessions) as session:
            receive(session, read, [records], WriteContext(actor="test"))
        with pytest.raises(StaleChannel):
            GroupCommitter(hub.app.state.sessions).submit(read, records)
        assert hub.stored(channel) == 0
        assert hub.read(channel)["payloadsReceived"] == 0
        fresh = self._read(hub, channel)
        assert fresh.version != read.version
        outcome = GroupCommitter(hub.app.state.sessions).submit(
            fresh, parse_payload(b'[{"ref": "y"}]', fresh)
        )
        assert outcome.accepted == 1

    def test_payloads_read_at_two_versions_in_one_group(self, hub: Hub) -> None:
        """The group fails on the older one, then each payload is stored alone: the newer one is."""
        channel = hub.channel()
        old = self._read(hub, channel)
        patch(hub, channel, maxRecords=10)
        new = self._read(hub, channel)
        writer = GroupCommitter(hub.app.state.sessions)
        stale = _Pending(old, parse_payload(b'[{"id": "old"}]', old))
        writer._enqueue(stale)
        assert writer.submit(new, parse_payload(b'[{"id": "new"}]', new)).accepted == 1
        assert isinstance(stale.error, StaleChannel)
        assert [r["sourceId"] for r in hub.records(channel)] == ["new"]


def test_the_cache_is_bounded() -> None:
    cache = ChannelCache(size=2)
    channels = [
        service.InboundChannel(i, f"c{i}", f"p/{i}", None, "id", None, 10, i)  # type: ignore[arg-type]
        for i in range(3)
    ]
    for channel in channels:
        cache.put(channel)
    assert cache.get("p/2") is channels[2]
    assert cache.get("p/0") is None
    cache.drop(channels[1])  # another read of its path is kept
    assert cache.get("p/2") is channels[2]
    cache.drop(channels[2])
    assert cache.get("p/2") is None
