"""The README's worked example: a visitorhub stream pushing visitors into a second visitorhub's channel,
both real: the stream run POSTs over loopback to the other app, served by uvicorn."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import new_database
from tests.factories import create_subscription, create_visitor
from tests.integration.channels.conftest import Hub, running_hub
from visitorhub.core.db import unit_of_work
from visitorhub.integration.streams.auth import new_secret
from visitorhub.models import ExternalId, Visitor

# The template of the README's example: a stream record's `data` is the visitor's API representation, its
# `entityId` the visitor's id at the source, kept here as a `partner` external id.
HUB_VISITORS: dict[str, Any] = {
    "direction": "in",
    "description": "Visitors pushed by another visitorhub's `visitors` stream",
    "entities": [
        {
            "type": "Visitor",
            "key": ["email"],
            "fields": [
                {"source": "data.email", "field": "email"},
                {"source": "data.firstName", "field": "firstName"},
                {"source": "data.lastName", "field": "lastName"},
                {"source": "data.gender", "field": "gender"},
                {"source": "data.countryCode", "field": "countryCode"},
                {"source": "data.acquisitionPcCode", "field": "acquisitionPcCode"},
                {"source": "data.phone", "field": "phone"},
            ],
        },
        {
            "type": "ExternalId",
            "key": ["externalType", "externalId"],
            "defaults": {"externalType": "partner"},
            "fields": [{"source": "entityId", "field": "externalId"}],
        },
    ],
}


@pytest.fixture
def central(tmp_path: Path) -> Iterator[Hub]:
    """The receiving visitorhub, on a database of its own."""
    with new_database(tmp_path) as url, running_hub(url) as hub:
        yield hub


def _run(client: TestClient, subscription_id: int) -> dict[str, Any]:
    response = client.post(f"/integration/subscriptions/{subscription_id}/run")
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def _mirrored(hub: Hub) -> dict[str, tuple[str, str]]:
    """Source visitor id -> (e-mail, first name) of the visitors the receiving hub holds."""
    with unit_of_work(hub.app.state.sessions) as session:
        rows = session.execute(
            select(ExternalId.external_id, Visitor.email, Visitor.first_name)
            .join(Visitor, Visitor.visitor_id == ExternalId.visitor_id)
            .where(ExternalId.external_type == "partner")
        )
        return {external_id: (email, first) for external_id, email, first in rows}


def test_a_stream_delivers_visitors_into_another_hubs_channel(
    committed_api: TestClient, central: Hub
) -> None:
    secret = new_secret()
    template = central.template(HUB_VISITORS, name="hub-visitors")
    channel = central.channel(
        name="venue-a-visitors",
        path="visitorhub/visitors/venue-a",
        idField="entityId",
        template=template,
        auth={"type": "hmac", "secret": secret},
    )
    visitors = [create_visitor(committed_api) for _ in range(3)]
    subscription = create_subscription(
        committed_api,
        f"{central.base}/inbound/visitorhub/visitors/venue-a",
        auth={"type": "hmac", "secret": secret},
        startDate="2020-01-01",
        maxPerPayload=2,
    )
    report = _run(committed_api, subscription["subscriptionId"])
    assert (report["outcome"], report["recordsDelivered"], len(report["payloads"])) == ("ok", 3, 2)
    assert _mirrored(central) == {v["visitorId"]: (v["email"], v["firstName"]) for v in visitors}

    # A change at the source is a new content for the same entityId: applied again, not duplicated.
    changed = committed_api.patch(f"/visitors/{visitors[0]['visitorId']}", json={"firstName": "Renamed"})
    assert changed.status_code == 200, changed.text
    report = _run(committed_api, subscription["subscriptionId"])
    assert report["recordsDelivered"] == 1
    assert _mirrored(central)[visitors[0]["visitorId"]] == (visitors[0]["email"], "Renamed")

    # A payload sent again (a lost 200, a replay) is all duplicates: nothing stored or applied twice.
    first_delivery = report["payloads"][0]["deliveryId"]
    replay = committed_api.post(f"/integration/deliveries/{first_delivery}/replay")
    assert replay.json()["data"]["outcome"] == "delivered"
    read = central.read(channel)
    assert (read["payloadsReceived"], read["recordsReceived"], read["duplicates"]) == (4, 5, 1)
    assert read["recordsApplied"] == 4
    assert central.stored(channel) == 3
    assert len(_mirrored(central)) == 3
