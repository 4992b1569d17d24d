"""The Consumer API through EntervoClient against the emulator: upsert, update, search, get, delete."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.integration.connectors.conftest import CUSTOMER, OTHER, PROJECT
from tests.integration.connectors.entervo.conftest import consumer
from visitorhub.integration.connectors.entervo.client import (
    EntervoClient,
    NotFoundRemote,
    RemoteError,
    RevisionConflict,
)
from visitorhub.integration.connectors.entervo.emulator import Emulator


class TestCreate:
    def test_a_new_external_reference_creates_at_revision_0(self, client: EntervoClient) -> None:
        result = client.create(consumer())
        assert result.created
        stored = result.consumer
        assert stored["businessId"].startswith("N")
        assert len(stored["businessId"]) == 13
        assert stored["revision"] == 0
        assert stored["externalReference"] == "EMP12345"
        assert stored["mediums"][0]["value"] == "MM5478"
        assert stored["mediums"][0]["licencePlateRegion"] == {"code": "M", "country": "DEU"}
        assert stored["contract"] == {"businessId": "A2024XW3pYsa2f", "products": ["PP000053"]}

    def test_the_same_external_reference_updates_in_place(
        self, client: EntervoClient, emulator: Emulator
    ) -> None:
        first = client.create(consumer()).consumer
        second = client.create(consumer(firstName="Changed", mediums=[]))
        assert not second.created
        assert second.consumer["businessId"] == first["businessId"]
        assert second.consumer["revision"] == 1
        assert second.consumer["firstName"] == "Changed"
        assert second.consumer["mediums"] == []
        assert len(emulator.consumers(PROJECT)) == 1

    @pytest.mark.parametrize(
        ("change", "words"),
        [
            ({"mediums": [{"type": "RFID", "value": "1234"}]}, "type"),
            ({"mediums": [{"type": "LICENSEPLATE", "value": " "}]}, "value"),
            ({"mediums": [{"type": "LICENSEPLATE", "value": "MM5478", "encoding": "ASCII"}]}, "encoding"),
            (
                {
                    "mediums": [
                        {"type": "LICENSEPLATE", "value": "X1", "licencePlateRegion": {"country": "DE"}}
                    ]
                },
                "alpha-3",
            ),
            ({"email": "not-an-address"}, "email"),
            ({"firstName": 42}, "firstName"),
            ({"contract": {"products": ["PP000053"]}}, "contract.businessId"),
        ],
    )
    def test_invalid_bodies_are_400_with_a_message_and_not_retried(
        self, client: EntervoClient, emulator: Emulator, change: dict[str, object], words: str
    ) -> None:
        with pytest.raises(RemoteError) as caught:
            client.create(consumer(**change))
        assert caught.value.status == 400
        assert words in caught.value.message
        assert not caught.value.retriable
        assert emulator.calls()["create"] == 1
        assert emulator.consumers(PROJECT) == []

    def test_an_unknown_customer_is_404(self, make_client: Callable[..., EntervoClient]) -> None:
        client = make_client(customer_business_id="C2024N0tThere")
        with pytest.raises(NotFoundRemote, match="C2024N0tThere"):
            client.create(consumer())

    def test_unknown_fields_are_tolerated_both_ways(self, client: EntervoClient) -> None:
        stored = client.create(consumer(somethingNew={"x": 1})).consumer
        assert "somethingNew" not in stored
        assert "createdAt" in stored  # an extra answer field the client passes through


class TestUpdate:
    def test_the_current_revision_updates_and_bumps_it(self, client: EntervoClient) -> None:
        created = client.create(consumer()).consumer
        body = consumer(
            lastName="Other", mediums=[*created["mediums"], {"type": "LICENSEPLATE", "value": "B1"}]
        )
        updated = client.update(created["businessId"], body, created["revision"])
        assert updated["revision"] == 1
        assert updated["lastName"] == "Other"
        assert updated["mediums"][0]["businessId"] == created["mediums"][0]["businessId"]
        assert updated["mediums"][1]["businessId"] != created["mediums"][0]["businessId"]
        assert client.get(created["businessId"]) == updated

    def test_a_stale_revision_is_a_conflict_and_changes_nothing(
        self, client: EntervoClient, emulator: Emulator
    ) -> None:
        created = client.create(consumer()).consumer
        assert emulator.bump_revision(PROJECT, created["businessId"]) == 1
        with pytest.raises(RevisionConflict) as caught:
            client.update(created["businessId"], consumer(firstName="Mine"), 0)
        assert caught.value.status == 409
        assert "revision" in caught.value.message
        assert client.get(created["businessId"])["firstName"] == "First"
        assert emulator.calls()["update"] == 1

    def test_remote_drift_shows_and_fences_the_old_revision(
        self, client: EntervoClient, emulator: Emulator
    ) -> None:
        created = client.create(consumer()).consumer
        emulator.drift(PROJECT, created["businessId"], firstName="Edited in PM UI")
        seen = client.get(created["businessId"])
        assert (seen["firstName"], seen["revision"]) == ("Edited in PM UI", 1)
        with pytest.raises(RevisionConflict):
            client.update(created["businessId"], consumer(), 0)
        assert client.update(created["businessId"], consumer(), 1)["firstName"] == "First"

    def test_an_unknown_consumer_is_not_found(self, client: EntervoClient) -> None:
        with pytest.raises(NotFoundRemote) as caught:
            client.update("N2026NoSuch00", consumer(), 0)
        assert caught.value.status == 404

    def test_taking_another_consumers_reference_is_a_conflict(self, client: EntervoClient) -> None:
        client.create(consumer("EMP1"))
        second = client.create(consumer("EMP2")).consumer
        with pytest.raises(RevisionConflict, match="externalReference EMP1"):
            client.update(second["businessId"], consumer("EMP1"), second["revision"])

    def test_a_missing_revision_is_400(self, http: httpx.Client, client: EntervoClient, url: str) -> None:
        created = client.create(consumer()).consumer
        token = client._current_token()
        path = f"/customers-contracts/v2/{PROJECT}/customers/{CUSTOMER}/consumers/regular/aggregates"
        answer = http.put(
            f"{url}{path}/{created['businessId']}",
            json=consumer(),
            headers={"Authorization": f"Bearer {token}"},
        )
        assert answer.status_code == 400
        assert answer.json()["message"] == "revision: must not be null"


class TestSearch:
    def test_250_consumers_come_in_3_pages_of_at_most_100(
        self, client: EntervoClient, emulator: Emulator
    ) -> None:
        for i in range(250):
            emulator.create(PROJECT, CUSTOMER, consumer(f"EMP{i:04}", email=f"e{i}@mail.de"))
        pages = [client.search(page=n) for n in range(3)]
        assert [len(p.content) for p in pages] == [100, 100, 50]
        assert {(p.total_elements, p.total_pages) for p in pages} == {(250, 3)}
        assert [p.number for p in pages] == [0, 1, 2]
        assert [p.last for p in pages] == [False, False, True]
        assert pages[0].content[0]["externalReference"] == "EMP0000"  # oldest first
        emulator.reset_calls()
        everyone = [c["externalReference"] for c in client.iter_all()]
        assert everyone == [f"EMP{i:04}" for i in range(250)]
        assert emulator.calls()["search"] == 3

    def test_iter_all_on_an_empty_project_makes_one_call(
        self, client: EntervoClient, emulator: Emulator
    ) -> None:
        assert list(client.iter_all()) == []
        assert emulator.calls()["search"] == 1

    def test_filters_by_reference_and_or_email(self, client: EntervoClient) -> None:
        client.create(consumer("EMP1", email="Anna@Mail.de"))
        client.create(consumer("EMP2", email="bob@mail.de"))
        client.create(consumer("EMP3", email="bob@mail.de"))

        def refs(**criteria: str) -> list[str]:
            return sorted(c["externalReference"] for c in client.search(**criteria).content)

        assert refs(external_reference="EMP2") == ["EMP2"]
        assert refs(external_reference="emp2") == []  # references are exact
        assert refs(email="anna@mail.de") == ["EMP1"]  # e-mails are not case-sensitive
        assert refs(email="bob@mail.de") == ["EMP2", "EMP3"]
        assert refs(email="bob@mail.de", external_reference="EMP3") == ["EMP3"]
        assert refs(email="anna@mail.de", external_reference="EMP3") == []
        assert refs() == ["EMP1", "EMP2", "EMP3"]
        assert client.find("EMP3")["email"] == "bob@mail.de"  # type: ignore[index]
        assert client.find("EMP9") is None

    def test_newest_first_when_asked(self, client: EntervoClient) -> None:
        for reference in ("EMP1", "EMP2", "EMP3"):
            client.create(consumer(reference))
        newest = client.search(sort_direction="DESC", size=2)
        assert [c["externalReference"] for c in newest.content] == ["EMP3", "EMP2"]
        with pytest.raises(RemoteError, match="sortDirection"):
            client.search(sort_direction="SIDEWAYS")

    def test_page_size_is_at_most_100(
        self, http: httpx.Client, client: EntervoClient, emulator: Emulator, url: str
    ) -> None:
        with pytest.raises(ValueError, match="100"):
            client.search(size=101)
        assert emulator.calls()["search"] == 0
        token = client._current_token()
        answer = http.post(
            f"{url}/customers-contracts/v2/{PROJECT}/consumers",
            json={"page": 0, "size": 101},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert answer.status_code == 400
        assert "size" in answer.json()["message"]


class TestDeleteAndGet:
    def test_delete_removes_and_frees_the_reference(self, client: EntervoClient, emulator: Emulator) -> None:
        created = client.create(consumer()).consumer
        assert client.delete(created["businessId"]) is True
        with pytest.raises(NotFoundRemote):
            client.get(created["businessId"])
        assert client.search(external_reference="EMP12345").content == []
        assert client.delete(created["businessId"]) is False  # already gone: nothing to do
        again = client.create(consumer())
        assert again.created
        assert again.consumer["businessId"] != created["businessId"]
        assert emulator.calls()["delete"] == 2

    def test_get_answers_the_stored_aggregate(self, client: EntervoClient) -> None:
        created = client.create(consumer()).consumer
        assert client.get(created["businessId"]) == created


def test_projects_are_isolated(make_client: Callable[..., EntervoClient], emulator: Emulator) -> None:
    ours = make_client()
    theirs = make_client(
        project=OTHER.project,
        client_id=OTHER.client_id,
        client_secret=OTHER.client_secret,
        customer_business_id=OTHER.customers[0],
    )
    mine = ours.create(consumer("EMP1")).consumer
    other = theirs.create(consumer("EMP1", firstName="Other")).consumer
    assert theirs.create(consumer("EMP2")).created
    assert mine["businessId"] != other["businessId"]
    assert [c["firstName"] for c in ours.search(external_reference="EMP1").content] == ["First"]
    assert ours.search().total_elements == 1
    assert theirs.search().total_elements == 2
    with pytest.raises(NotFoundRemote):
        theirs.get(mine["businessId"])
    assert [c["businessId"] for c in emulator.consumers(PROJECT)] == [mine["businessId"]]
