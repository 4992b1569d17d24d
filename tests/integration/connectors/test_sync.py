"""Syncs against the entervo emulator served over real HTTP: the mirror, full and incremental syncs,
idempotent writes (409, 404), dry runs, faults, one sync at a time, metrics."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, update
from sqlalchemy.orm import Session

from tests.conftest import bearer
from tests.factories import create_center, create_vehicle, create_visitor
from tests.integration.connectors.conftest import (
    CLIENT_ID,
    CONTRACT,
    CUSTOMER,
    PRODUCT,
    PROJECT,
    SECRET,
    Swappable,
    consumers_by_reference,
    create_connector,
    delete_visitor,
    seed_visitors,
    sync,
)
from visitorhub.app import create_app
from visitorhub.config import Settings
from visitorhub.core.db import make_session_factory, utcnow
from visitorhub.integration.connectors.entervo.client import EntervoClient
from visitorhub.integration.connectors.entervo.emulator import Emulator, create_emulator
from visitorhub.integration.connectors.sync import SyncOptions, sync_connector
from visitorhub.integration.streams.leases import new_owner
from visitorhub.models import Connector, ConnectorRun

WRITES = ("create", "update", "delete")


def _writes(emulator: Emulator) -> dict[str, int]:
    calls = emulator.calls()
    return {kind: calls[kind] for kind in WRITES}


def _connector(client: TestClient, connector_id: int) -> dict[str, Any]:
    return client.get(f"/integration/connectors/{connector_id}").json()["data"]  # type: ignore[no-any-return]


@pytest.fixture
def synced(client: TestClient, url: str, session: Session, emulator: Emulator) -> tuple[int, list[str]]:
    """Three visitors with a vehicle each, synced; the emulator's counters reset."""
    ids = seed_visitors(session, 3)
    connector_id = create_connector(client, url)["connectorId"]
    assert sync(client, connector_id)["created"] == 3
    emulator.reset_calls()
    return connector_id, ids


class TestFullSync:
    def test_the_first_sync_creates_a_consumer_per_visitor_with_a_vehicle(
        self, client: TestClient, url: str, emulator: Emulator
    ) -> None:
        two = create_visitor(client, firstName="Zoé", lastName="Durand", email="zoe@example.com")
        create_vehicle(client, two["visitorId"], licensePlate="AB-123-CD")
        create_vehicle(client, two["visitorId"], licensePlate="M-M 5478", licensePlateCountry="DE")
        gone = create_vehicle(client, two["visitorId"], licensePlate="ZZ-999-ZZ")
        client.delete(f"/visitors/{two['visitorId']}/vehicles/{gone['vehicleId']}")
        one = create_visitor(client)
        create_vehicle(client, one["visitorId"])
        create_visitor(client)  # no vehicle: not a consumer
        connector_id = create_connector(client, url)["connectorId"]
        report = sync(client, connector_id)
        assert report["full"] is True
        assert (report["created"], report["updated"], report["deleted"], report["failed"]) == (2, 0, 0, 0)
        assert report["calls"] == {"token": 1, "search": 1, "create": 2, "update": 0, "delete": 0, "get": 0}
        assert report["status"] == "ok"
        consumer = consumers_by_reference(emulator)[two["visitorId"]]
        assert (consumer["firstName"], consumer["lastName"], consumer["email"]) == (
            "Zoé",
            "Durand",
            "zoe@example.com",
        )
        assert consumer["customerBusinessId"] == CUSTOMER
        assert consumer["contract"] == {"businessId": CONTRACT, "products": [PRODUCT]}
        assert [(m["value"], m["licencePlateRegion"]) for m in consumer["mediums"]] == [
            ("MM5478", {"code": "M", "country": "DEU"}),
            ("AB123CD", {"code": "AB", "country": "FRA"}),
        ]
        data = _connector(client, connector_id)
        assert (data["records"], data["fullSyncPending"], data["lag"]) == (2, False, 0)

    def test_nothing_changed_costs_a_token_and_a_search_per_100_and_no_write(
        self, client: TestClient, url: str, session: Session, emulator: Emulator
    ) -> None:
        seed_visitors(session, 150)
        connector_id = create_connector(client, url)["connectorId"]
        assert sync(client, connector_id)["created"] == 150
        emulator.reset_calls()
        report = sync(client, connector_id, full=True)
        assert (report["unchanged"], report["created"], report["updated"], report["deleted"]) == (
            150,
            0,
            0,
            0,
        )
        assert sum(report["calls"].values()) <= 150 / 100 + 2
        assert report["calls"] == {"token": 1, "search": 2, "create": 0, "update": 0, "delete": 0, "get": 0}
        assert _writes(emulator) == {"create": 0, "update": 0, "delete": 0}

    def test_consumers_already_there_are_adopted_not_created(
        self, client: TestClient, url: str, session: Session, emulator: Emulator
    ) -> None:
        ids = seed_visitors(session, 2)
        first = create_connector(client, url)["connectorId"]
        sync(client, first)
        revisions = {ref: c["revision"] for ref, c in consumers_by_reference(emulator).items()}
        emulator.reset_calls()
        # A second connector to the same customer finds them by externalReference, identical.
        second = create_connector(client, url)["connectorId"]
        report = sync(client, second)
        assert (report["created"], report["unchanged"]) == (0, 2)
        assert _writes(emulator) == {"create": 0, "update": 0, "delete": 0}
        assert _connector(client, second)["records"] == 2
        assert {ref: c["revision"] for ref, c in consumers_by_reference(emulator).items()} == revisions
        # Adopted with their revision: a change is an update, not a create.
        client.patch(f"/visitors/{ids[0]}", json={"firstName": "Berta"})
        report = sync(client, second)
        assert (report["updated"], report["calls"]["update"], report["calls"]["create"]) == (1, 1, 0)

    def test_remote_drift_is_repaired_by_a_full_sync(
        self, client: TestClient, synced: tuple[int, list[str]], emulator: Emulator
    ) -> None:
        connector_id, ids = synced
        drifted = consumers_by_reference(emulator)[ids[0]]
        emulator.drift(PROJECT, drifted["businessId"], firstName="Mallory", mediums=[])
        assert sync(client, connector_id)["calls"]["update"] == 0  # nothing changed here
        report = sync(client, connector_id, full=True)
        assert (report["updated"], report["unchanged"]) == (1, 2)
        repaired = consumers_by_reference(emulator)[ids[0]]
        assert repaired["firstName"] == "Ann"
        assert [m["value"] for m in repaired["mediums"]] == [drifted["mediums"][0]["value"]]
        assert sync(client, connector_id, full=True)["updated"] == 0

    def test_a_consumer_deleted_behind_our_back_is_created_again(
        self, client: TestClient, url: str, synced: tuple[int, list[str]], emulator: Emulator
    ) -> None:
        connector_id, ids = synced
        removed = consumers_by_reference(emulator)[ids[1]]["businessId"]
        with EntervoClient(url, PROJECT, CLIENT_ID, SECRET, CUSTOMER, allow_private=True) as remote:
            assert remote.delete(removed)
        report = sync(client, connector_id, full=True)
        assert (report["created"], report["unchanged"]) == (1, 2)
        assert consumers_by_reference(emulator)[ids[1]]["businessId"] != removed

    def test_ours_that_no_longer_qualify_go_and_strays_only_with_delete_missing(
        self, client: TestClient, synced: tuple[int, list[str]], emulator: Emulator, session: Session
    ) -> None:
        connector_id, ids = synced
        stray = emulator.create(PROJECT, CUSTOMER, {"externalReference": "EMP12345", "lastName": "Stray"})
        unreferenced = emulator.create(PROJECT, CUSTOMER, {"lastName": "Nobody"})
        delete_visitor(session, ids[0])
        path = f"/integration/connectors/{connector_id}"
        # Filtered out behind the mirror's back: the incremental log does show it, but a full sync must too.
        report = sync(client, connector_id, full=True)
        assert (report["deleted"], report["unchanged"]) == (1, 2)
        remaining = {c["businessId"] for c in emulator.consumers(PROJECT)}
        assert {stray["businessId"], unreferenced["businessId"]} <= remaining
        client.patch(path, json={"settings": {"deleteMissing": True}})
        report = sync(client, connector_id, full=True)
        assert (report["deleted"], report["unchanged"]) == (2, 2)
        assert set(consumers_by_reference(emulator)) == set(ids[1:])

    @pytest.mark.usefixtures("emulator")
    def test_delete_missing_spares_other_customers(
        self, client: TestClient, url: str, session: Session, swappable: Swappable
    ) -> None:
        app = create_emulator(PROJECT, CLIENT_ID, SECRET, [CUSTOMER, "C2024Oth3rCst"])
        swappable.app = app
        emulator: Emulator = app.state.emulator
        theirs = emulator.create(PROJECT, "C2024Oth3rCst", {"externalReference": "EMP1", "lastName": "Kept"})
        seed_visitors(session, 1)
        connector_id = create_connector(client, url, settings={"deleteMissing": True})["connectorId"]
        report = sync(client, connector_id)
        assert (report["created"], report["deleted"]) == (1, 0)
        assert theirs["businessId"] in {c["businessId"] for c in emulator.consumers(PROJECT)}


class TestIncrementalSync:
    def test_only_visitors_whose_consumer_changed_are_sent(
        self, client: TestClient, synced: tuple[int, list[str]], emulator: Emulator
    ) -> None:
        connector_id, ids = synced
        vehicle = client.get(f"/visitors/{ids[0]}/vehicles").json()["data"][0]
        client.patch(f"/visitors/{ids[0]}/vehicles/{vehicle['vehicleId']}", json={"licensePlate": "NEW-1"})
        client.patch(f"/visitors/{ids[1]}", json={"phone": "+33 6 00 00 00 00"})  # not sent to the remote
        client.patch(f"/visitors/{ids[1]}/vehicles/{vehicle['vehicleId'] + 1}", json={"color": "red"})
        report = sync(client, connector_id)
        assert report["full"] is False
        assert (report["updated"], report["unchanged"], report["created"]) == (1, 1, 0)
        assert report["calls"] == {"token": 1, "search": 0, "create": 0, "update": 1, "delete": 0, "get": 0}
        assert [m["value"] for m in consumers_by_reference(emulator)[ids[0]]["mediums"]] == ["NEW1"]
        again = sync(client, connector_id)
        assert sum(again["calls"].values()) == 0
        assert again["cursorFrom"] == again["cursorTo"] == report["cursorTo"]

    def test_a_first_vehicle_creates_the_consumer_and_the_last_one_deleted_deletes_it(
        self, client: TestClient, synced: tuple[int, list[str]], emulator: Emulator
    ) -> None:
        connector_id, _ids = synced
        visitor = create_visitor(client)
        assert sync(client, connector_id)["calls"]["create"] == 0  # no vehicle yet: not a consumer
        first = create_vehicle(client, visitor["visitorId"])
        second = create_vehicle(client, visitor["visitorId"])
        assert sync(client, connector_id)["created"] == 1
        assert len(consumers_by_reference(emulator)[visitor["visitorId"]]["mediums"]) == 2
        client.delete(f"/visitors/{visitor['visitorId']}/vehicles/{first['vehicleId']}")
        assert sync(client, connector_id)["updated"] == 1
        assert len(consumers_by_reference(emulator)[visitor["visitorId"]]["mediums"]) == 1
        client.delete(f"/visitors/{visitor['visitorId']}/vehicles/{second['vehicleId']}")
        report = sync(client, connector_id)
        assert (report["deleted"], report["calls"]["delete"]) == (1, 1)
        assert visitor["visitorId"] not in consumers_by_reference(emulator)

    def test_a_visitor_deleted_here_is_deleted_there(
        self, client: TestClient, synced: tuple[int, list[str]], emulator: Emulator, session: Session
    ) -> None:
        connector_id, ids = synced
        delete_visitor(session, ids[2])
        report = sync(client, connector_id)
        assert (report["deleted"], report["calls"]["delete"], report["calls"]["search"]) == (1, 1, 0)
        assert set(consumers_by_reference(emulator)) == set(ids[:2])
        assert _connector(client, connector_id)["records"] == 2

    def test_the_filter_keeps_visitors_of_given_centres_holding_an_optin(
        self, client: TestClient, url: str, emulator: Emulator
    ) -> None:
        centre = create_center(client)["pcCode"]
        inside = create_visitor(client)  # with an active commercial opt-in (factories)
        outside = create_visitor(client, optins=[])
        for visitor in (inside, outside):
            create_vehicle(client, visitor["visitorId"])
            client.post(
                f"/visitors/{visitor['visitorId']}/centers", json={"pcCode": centre, "isFavorite": False}
            )
        elsewhere = create_visitor(client)
        create_vehicle(client, elsewhere["visitorId"])
        keep = {"centers": [centre], "optinType": "commercial"}
        connector_id = create_connector(client, url, filter=keep)["connectorId"]
        assert sync(client, connector_id)["created"] == 1
        assert set(consumers_by_reference(emulator)) == {inside["visitorId"]}
        # Linked to the centre later: a visitor-centre change brings it in.
        client.post(
            f"/visitors/{elsewhere['visitorId']}/centers", json={"pcCode": centre, "isFavorite": False}
        )
        assert sync(client, connector_id)["created"] == 1
        assert set(consumers_by_reference(emulator)) == {inside["visitorId"], elsewhere["visitorId"]}

    def test_a_409_on_update_refetches_and_retries_once_with_the_new_revision(
        self, client: TestClient, synced: tuple[int, list[str]], emulator: Emulator
    ) -> None:
        connector_id, ids = synced
        consumer = consumers_by_reference(emulator)[ids[0]]
        emulator.bump_revision(PROJECT, consumer["businessId"], by=3)
        client.patch(f"/visitors/{ids[0]}", json={"lastName": "Nguyen"})
        report = sync(client, connector_id)
        assert (report["updated"], report["failed"]) == (1, 0)
        assert (report["calls"]["update"], report["calls"]["get"]) == (2, 1)
        assert emulator.answers()["update"] == {409: 1, 200: 1}
        assert consumers_by_reference(emulator)[ids[0]]["lastName"] == "Nguyen"
        # The mirror holds the new revision: the next change goes through at once.
        client.patch(f"/visitors/{ids[0]}", json={"lastName": "Tran"})
        assert sync(client, connector_id)["calls"]["update"] == 1

    def test_a_409_when_the_remote_already_holds_the_change_writes_nothing_more(
        self, client: TestClient, synced: tuple[int, list[str]], emulator: Emulator
    ) -> None:
        """As after a crash between a PUT and the recording of its answer."""
        connector_id, ids = synced
        consumer = consumers_by_reference(emulator)[ids[0]]
        emulator.drift(PROJECT, consumer["businessId"], firstName="Berta")
        client.patch(f"/visitors/{ids[0]}", json={"firstName": "Berta"})
        report = sync(client, connector_id)
        assert (report["updated"], report["unchanged"], report["failed"]) == (0, 1, 0)
        assert (report["calls"]["update"], report["calls"]["get"]) == (1, 1)

    def test_a_404_on_update_creates_the_consumer_again(
        self, client: TestClient, url: str, synced: tuple[int, list[str]], emulator: Emulator
    ) -> None:
        connector_id, ids = synced
        removed = consumers_by_reference(emulator)[ids[0]]["businessId"]
        with EntervoClient(url, PROJECT, CLIENT_ID, SECRET, CUSTOMER, allow_private=True) as remote:
            remote.delete(removed)
        client.patch(f"/visitors/{ids[0]}", json={"firstName": "Berta"})
        report = sync(client, connector_id)
        assert (report["created"], report["calls"]["update"], report["calls"]["create"]) == (1, 1, 1)
        assert consumers_by_reference(emulator)[ids[0]]["firstName"] == "Berta"


class TestDryRun:
    def test_a_dry_run_lists_the_plan_and_writes_nothing(
        self, client: TestClient, synced: tuple[int, list[str]], emulator: Emulator, session: Session
    ) -> None:
        connector_id, ids = synced
        before = (consumers_by_reference(emulator), _connector(client, connector_id))
        client.patch(f"/visitors/{ids[0]}", json={"firstName": "Berta"})
        delete_visitor(session, ids[1])
        fresh = create_visitor(client)
        create_vehicle(client, fresh["visitorId"])
        report = sync(client, connector_id, dryRun=True)
        assert report["dryRun"] is True
        assert (report["created"], report["updated"], report["deleted"], report["unchanged"]) == (1, 1, 1, 0)
        planned = {(op["operation"], op["visitorId"]) for op in report["operations"]}
        assert planned == {("update", ids[0]), ("delete", ids[1]), ("create", fresh["visitorId"])}
        assert _writes(emulator) == {"create": 0, "update": 0, "delete": 0}
        after = _connector(client, connector_id)
        assert consumers_by_reference(emulator) == before[0]
        assert (after["cursor"], after["records"]) == (before[1]["cursor"], before[1]["records"])
        # The real sync then does exactly that.
        real = sync(client, connector_id)
        assert (real["created"], real["updated"], real["deleted"]) == (1, 1, 1)
        assert real["operations"] is None

    def test_a_dry_run_of_a_full_sync_reads_but_never_writes(
        self, client: TestClient, url: str, session: Session, emulator: Emulator
    ) -> None:
        seed_visitors(session, 2)
        connector_id = create_connector(client, url)["connectorId"]
        report = sync(client, connector_id, dryRun=True)
        assert (report["full"], report["created"]) == (True, 2)
        assert report["calls"]["search"] == 1
        assert _writes(emulator) == {"create": 0, "update": 0, "delete": 0}
        assert emulator.consumers(PROJECT) == []
        assert _connector(client, connector_id)["fullSyncPending"] is True


class TestFaults:
    @pytest.mark.parametrize("status", [429, 503])
    def test_a_storm_is_ridden_out(
        self, client: TestClient, url: str, session: Session, emulator: Emulator, status: int
    ) -> None:
        seed_visitors(session, 3)
        connector_id = create_connector(client, url, settings={"concurrency": 1})["connectorId"]
        emulator.fail_next(status, count=3, retry_after=0, kinds=["create"])
        report = sync(client, connector_id)
        assert (report["created"], report["failed"], report["status"]) == (3, 0, "ok")
        assert report["calls"]["create"] == 6
        assert len(emulator.consumers(PROJECT)) == 3

    def test_a_failed_record_is_reported_with_the_remote_message_and_retried_next_sync(
        self, client: TestClient, url: str, session: Session, emulator: Emulator
    ) -> None:
        ids = seed_visitors(session, 2)
        connector_id = create_connector(client, url, settings={"concurrency": 1})["connectorId"]
        emulator.fail_next(400, count=1, kinds=["create"])
        report = sync(client, connector_id)
        assert (report["created"], report["failed"], report["status"]) == (1, 1, "failed")
        (error,) = report["errors"]
        assert error["visitorId"] in ids
        assert "HTTP 400" in error["message"]
        assert "Emulated fault" in error["message"]
        assert _connector(client, connector_id)["failedRecords"] == 1
        again = sync(client, connector_id)
        assert (again["created"], again["failed"], again["calls"]["create"]) == (1, 0, 1)
        assert set(consumers_by_reference(emulator)) == set(ids)
        assert _connector(client, connector_id)["failedRecords"] == 0

    def test_an_outage_stops_the_sync_and_the_next_one_catches_up(
        self, client: TestClient, url: str, session: Session, emulator: Emulator
    ) -> None:
        seed_visitors(session, 14)
        connector_id = create_connector(client, url, settings={"concurrency": 1, "maxAttempts": 2})[
            "connectorId"
        ]
        sync(client, connector_id)
        seed_visitors(session, 14)
        emulator.fail_next(503, count=1000, retry_after=0, kinds=["create"])
        report = sync(client, connector_id)
        assert report["stoppedBecause"] == "remote_unavailable"
        assert (report["status"], report["failed"], report["created"]) == ("failed", 10, 0)
        assert report["calls"]["create"] == 20  # 10 records, 2 attempts each; the other 4 never tried
        emulator.clear_faults()
        catch_up = sync(client, connector_id)
        assert (catch_up["created"], catch_up["failed"]) == (14, 0)
        assert len(emulator.consumers(PROJECT)) == 28

    def test_refused_credentials_stop_the_sync_at_once(
        self, client: TestClient, url: str, session: Session, emulator: Emulator
    ) -> None:
        seed_visitors(session, 3)
        connector_id = create_connector(client, url, settings={"clientSecret": "wrong"})["connectorId"]
        report = sync(client, connector_id)
        assert (report["stoppedBecause"], report["status"]) == ("fatal", "failed")
        assert "invalid_client" in report["error"] or "Invalid client" in report["error"]
        assert report["calls"] == {"token": 1, "search": 0, "create": 0, "update": 0, "delete": 0, "get": 0}
        assert _connector(client, connector_id)["fullSyncPending"] is True

    def test_private_targets_are_refused_at_send_time(
        self, connection: Connection, client: TestClient, url: str, session: Session, database_url: str
    ) -> None:
        seed_visitors(session, 1)
        connector_id = create_connector(client, url)["connectorId"]
        strict = Settings(database_url=database_url, allow_private_targets=False)
        report = sync_connector(make_session_factory(connection), connector_id, strict, SyncOptions())
        assert report is not None
        assert report.stopped_because == "fatal"
        assert "loopback" in (report.error or "")
        assert sum(report.calls.values()) == 0

    def test_a_visitor_that_cannot_be_mapped_fails_without_a_call(
        self, client: TestClient, url: str, emulator: Emulator
    ) -> None:
        visitor = create_visitor(client)
        create_vehicle(client, visitor["visitorId"], licensePlate="--")
        connector_id = create_connector(client, url)["connectorId"]
        report = sync(client, connector_id)
        assert (report["failed"], report["calls"]["create"]) == (1, 0)
        assert report["errors"] == [
            {
                "visitorId": visitor["visitorId"],
                "message": "cannot be mapped: licence plate '--' has no characters",
            }
        ]
        assert _connector(client, connector_id)["failedRecords"] == 1

    def test_a_secret_the_keys_cannot_open_stops_the_sync_saying_why(
        self, connection: Connection, keys: dict[str, str], url: str, database_url: str
    ) -> None:
        sealing = Settings(database_url=database_url, allow_private_targets=True, secrets_key="k1")
        with TestClient(
            create_app(sealing, bind=connection), raise_server_exceptions=False, headers=bearer(keys["admin"])
        ) as sealed:
            connector_id = create_connector(sealed, url)["connectorId"]
        other = sealing.model_copy(update={"secrets_key": "k2"})
        report = sync_connector(make_session_factory(connection), connector_id, other, SyncOptions())
        assert report is not None
        assert (report.status, report.stopped_because) == ("failed", "error")
        assert "VISITORHUB_SECRETS_KEY" in (report.error or "")
        assert sum(report.calls.values()) == 0


class TestOneAtATime:
    def _lease(self, connection: Connection, connector_id: int, owner: str) -> None:
        connection.execute(
            update(Connector)
            .where(Connector.id == connector_id)
            .values(lease_owner=owner, lease_expires_at=utcnow() + timedelta(minutes=5))
        )

    def test_a_sync_while_another_holds_the_connector_is_a_409(
        self, client: TestClient, url: str, connection: Connection
    ) -> None:
        connector_id = create_connector(client, url)["connectorId"]
        self._lease(connection, connector_id, new_owner())
        response = client.post(f"/integration/connectors/{connector_id}/sync", json={})
        assert response.status_code == 409
        assert response.json()["errors"][0]["code"] == "sync_in_progress"
        assert sync(client, connector_id, dryRun=True)["status"] == "ok"  # a dry run holds nothing

    def test_the_lease_of_a_dead_process_is_taken_over_and_its_run_marked_interrupted(
        self, client: TestClient, url: str, connection: Connection, session: Session
    ) -> None:
        connector_id = create_connector(client, url)["connectorId"]
        session.add(
            ConnectorRun(
                connector_id=connector_id,
                trigger="cli",
                full=True,
                dry_run=False,
                status="running",
                calls={},
                errors=[],
                cursor_from=0,
            )
        )
        session.commit()
        host, namespace, _pid, _token = new_owner().split("/")
        self._lease(connection, connector_id, f"{host}/{namespace}/999999999/dead")
        assert sync(client, connector_id)["status"] == "ok"
        runs = client.get(f"/integration/connectors/{connector_id}/runs").json()["data"]
        assert [run["status"] for run in runs] == ["ok", "interrupted"]


def test_metrics_show_calls_records_and_lag(
    client: TestClient, synced: tuple[int, list[str]], emulator: Emulator
) -> None:
    connector_id, ids = synced
    name = _connector(client, connector_id)["name"]
    client.patch(f"/visitors/{ids[0]}", json={"firstName": "Berta"})
    text = client.get("/metrics").text
    assert f'visitorhub_connector_calls_total{{connector="{name}",kind="create",outcome="ok"}} 3.0' in text
    assert f'visitorhub_connector_records_total{{connector="{name}",outcome="created"}} 3.0' in text
    assert f'visitorhub_connector_lag_changes{{connector="{name}"}} 1.0' in text
    assert f'visitorhub_connector_failed_records{{connector="{name}"}} 0.0' in text
    sync(client, connector_id)
    text = client.get("/metrics").text
    assert f'visitorhub_connector_records_total{{connector="{name}",outcome="updated"}} 1.0' in text
    assert f'visitorhub_connector_lag_changes{{connector="{name}"}} 0.0' in text
