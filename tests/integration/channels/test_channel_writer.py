"""The committer's writer thread (GroupCommitter.submit_async): requests on any event loop get their own
outcome, in one group when they come together, and a failure refuses only its own payload."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.exc import SQLAlchemyError

from tests.integration.channels.conftest import Hub
from tests.integration.channels.test_durability import failures  # noqa: F401 (a fixture)
from visitorhub.core.db import unit_of_work
from visitorhub.integration.channels import service
from visitorhub.integration.channels.committer import GroupCommitter
from visitorhub.integration.channels.receiving import parse_payload


def _read(hub: Hub, path: str) -> service.InboundChannel:
    with unit_of_work(hub.app.state.read_sessions) as session:
        return service.find_inbound(session, path, hub.app.state.settings)


def test_payloads_submitted_together_from_two_event_loops(hub: Hub) -> None:
    channel = _read(hub, hub.channel()["path"])
    writer = GroupCommitter(hub.app.state.sessions)

    async def send(ids: list[str]) -> list[tuple[int, int]]:
        payloads = [parse_payload(f'[{{"id": "{i}"}}, {{"id": "shared"}}]'.encode(), channel) for i in ids]
        outcomes = await asyncio.gather(*(writer.submit_async(channel, p) for p in payloads))
        return [(outcome.accepted, outcome.duplicates) for outcome in outcomes]

    # Each payload counted as if it came alone after the one before it: "shared" once, then duplicates.
    assert asyncio.run(send(["a", "b", "c"])) == [(2, 0), (2, 1), (2, 1)]
    assert asyncio.run(send(["a"])) == [(2, 2)]  # another loop (the first one is closed): same writer
    assert writer._writer is not None
    assert writer._writer.is_alive()


def test_a_failing_payload_refuses_only_itself(hub: Hub, failures: bool) -> None:  # noqa: F811
    channel = _read(hub, hub.channel()["path"])
    writer = GroupCommitter(hub.app.state.sessions)

    async def send() -> list[object]:
        good = parse_payload(b'[{"id": "good-w1"}]', channel)
        bad = parse_payload(b'[{"id": "db-error-w2"}]', channel)
        return await asyncio.gather(
            writer.submit_async(channel, good), writer.submit_async(channel, bad), return_exceptions=True
        )

    good, bad = asyncio.run(send())
    assert isinstance(bad, SQLAlchemyError)
    assert not isinstance(good, BaseException)
    with pytest.raises(SQLAlchemyError):
        writer.submit(channel, parse_payload(b'[{"id": "db-error-w3"}]', channel))
    assert [r["sourceId"] for r in hub.records({"channelId": channel.id})] == ["good-w1"]
