"""Services (catalogue seq 1-22): a service's own rules, its stores and segments, the theme and target
catalogues and the links that give them to a service."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories import changes


def service_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "pcCode": "FR-SC-123",
        "name": "La Bonne Excuse",
        "category": "lounge",
        "useRate": "free",
        "daysOfUse": [5, 1],
        "colorCode": "#00aaFF",
    }
    body.update(overrides)
    return body


def create_service(client: TestClient, **overrides: Any) -> dict[str, Any]:
    response = client.post("/services", json=service_body(**overrides))
    assert response.status_code == 201, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def create_theme(client: TestClient, value: str = "Christmas", **overrides: Any) -> dict[str, Any]:
    response = client.post("/service-themes", json={"value": value, "category": "event", **overrides})
    assert response.status_code == 201, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def create_target(client: TestClient, value: str = "Families") -> dict[str, Any]:
    response = client.post("/service-targets", json={"value": value})
    assert response.status_code == 201, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def _error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()["errors"][0]  # type: ignore[no-any-return]


class TestService:
    def test_create_shows_the_seed_fields_with_empty_links(self, client: TestClient) -> None:
        service = create_service(client)
        assert service["daysOfUse"] == [1, 5]
        assert service["isPremium"] is False
        assert service["undeletable"] is False
        assert (service["stores"], service["targets"], service["themes"], service["segments"]) == (
            [],
            [],
            [],
            [],
        )
        assert service["checkinCount"] == 0
        assert client.get(f"/services/{service['serviceId']}").json()["data"] == service

    @pytest.mark.parametrize(
        ("override", "field"),
        [
            ({"colorCode": "white"}, "colorCode"),
            ({"daysOfUse": [1, 1]}, "daysOfUse"),
            ({"daysOfUse": [7]}, "daysOfUse[0]"),
            ({"startDate": "2026-02-01T00:00:00Z", "endDate": "2026-01-01T00:00:00Z"}, "endDate"),
            ({"pcCode": "NO-SUCH-CENTRE"}, "pcCode"),
        ],
    )
    def test_create_refuses(self, client: TestClient, override: dict[str, Any], field: str) -> None:
        error = _error(client.post("/services", json=service_body(**override)), 422)
        assert error["field"] == field

    def test_update_checks_the_dates_against_the_stored_ones(self, client: TestClient) -> None:
        service = create_service(client, startDate="2026-03-01T00:00:00Z")
        url = f"/services/{service['serviceId']}"
        error = _error(client.patch(url, json={"endDate": "2026-02-01T00:00:00Z"}), 422)
        assert error["field"] == "endDate"
        response = client.patch(url, json={"endDate": "2026-04-01T00:00:00Z", "isPremium": True})
        assert response.status_code == 200, response.text
        assert response.json()["data"]["isPremium"] is True
        assert _error(client.patch(url, json={"name": None}), 422)["field"] == "name"

    def test_list_filters_by_centre_and_end_date(self, client: TestClient) -> None:
        early = create_service(client, pcCode="FR-SC-901", endDate="2026-01-10T00:00:00Z")
        late = create_service(client, pcCode="FR-SC-901", endDate="2026-06-10T00:00:00Z")
        create_service(client, pcCode="FR-SC-900", endDate="2026-06-10T00:00:00Z")

        def ids(**params: Any) -> list[int]:
            response = client.get("/services", params={"pcCode": "FR-SC-901", "sort": "endDate", **params})
            assert response.status_code == 200, response.text
            return [item["serviceId"] for item in response.json()["data"]]

        assert ids() == [early["serviceId"], late["serviceId"]]
        assert ids(endDateSince="2026-02-01T00:00:00Z") == [late["serviceId"]]
        assert ids(endDateUntil="2026-02-01T00:00:00Z") == [early["serviceId"]]


@pytest.mark.parametrize(
    ("kind", "key", "name"), [("stores", "storeId", "storeName"), ("segments", "segmentId", "segmentName")]
)
class TestStoresAndSegments:
    def test_added_listed_embedded_and_deleted_by_their_own_id(
        self, client: TestClient, kind: str, key: str, name: str
    ) -> None:
        service = create_service(client)
        url = f"/services/{service['serviceId']}/{kind}"
        first = client.post(url, json={key: 69044, name: "Bershka"})
        assert first.status_code == 201, first.text
        assert client.post(url, json={key: 12, name: "Zara"}).status_code == 201
        assert first.json()["data"]["serviceId"] == service["serviceId"]
        listed = client.get(url, params={"sort": f"-{key}"}).json()["data"]
        assert [item[key] for item in listed] == [69044, 12]
        embedded = client.get(f"/services/{service['serviceId']}").json()["data"][kind]
        assert [item[key] for item in embedded] == [69044, 12]

        assert client.delete(f"{url}/69044").status_code == 204
        assert [item[key] for item in client.get(url).json()["data"]] == [12]
        assert _error(client.delete(f"{url}/69044"), 404)["field"] == key

    def test_one_link_per_id_and_service(self, client: TestClient, kind: str, key: str, name: str) -> None:
        service = create_service(client)
        url = f"/services/{service['serviceId']}/{kind}"
        assert client.post(url, json={key: 7, name: "A"}).status_code == 201
        assert _error(client.post(url, json={key: 7, name: "B"}), 409)["field"] == key
        other = create_service(client)
        assert (
            client.post(f"/services/{other['serviceId']}/{kind}", json={key: 7, name: "A"}).status_code == 201
        )

    def test_unknown_service_is_404(self, client: TestClient, kind: str, key: str, name: str) -> None:
        assert (
            _error(client.post(f"/services/999999/{kind}", json={key: 1, name: "A"}), 404)["field"]
            == "serviceId"
        )


class TestThemes:
    def test_catalogue_theme_given_to_a_service_is_embedded(self, client: TestClient) -> None:
        theme = create_theme(client)
        service = create_service(client)
        url = f"/services/{service['serviceId']}/themes"
        response = client.post(url, json={"serviceThemeId": theme["serviceThemeId"]})
        assert response.status_code == 201, response.text
        link = response.json()["data"]
        assert link["serviceTheme"] == theme
        assert set(link) == {
            "serviceServiceThemeId",
            "serviceId",
            "serviceThemeId",
            "creationDate",
            "updateDate",
            "serviceTheme",
        }
        assert client.get(url).json()["data"] == [link]
        assert client.get(f"/services/{service['serviceId']}").json()["data"]["themes"] == [theme]

        # Deleting the link keeps the theme in the catalogue.
        assert client.delete(f"{url}/{theme['serviceThemeId']}").status_code == 204
        assert client.get(url).json()["data"] == []
        catalogue = client.get("/service-themes", params={"limit": 500}).json()["data"]
        assert theme["serviceThemeId"] in [item["serviceThemeId"] for item in catalogue]

    def test_unknown_deprecated_or_repeated_theme_is_refused(self, client: TestClient) -> None:
        theme = create_theme(client)
        service = create_service(client)
        url = f"/services/{service['serviceId']}/themes"
        assert _error(client.post(url, json={"serviceThemeId": 999999}), 422)["field"] == "serviceThemeId"
        assert client.post(url, json={"serviceThemeId": theme["serviceThemeId"]}).status_code == 201
        assert _error(client.post(url, json={"serviceThemeId": theme["serviceThemeId"]}), 409)["field"] == (
            "serviceThemeId"
        )
        old = create_theme(client, "Easter", deprecated=True)
        error = _error(client.post(url, json={"serviceThemeId": old["serviceThemeId"]}), 422)
        assert error["code"] == "deprecated"

    def test_catalogue_values_are_unique_per_category_whatever_the_case(self, client: TestClient) -> None:
        create_theme(client, "Sales")
        assert (
            _error(client.post("/service-themes", json={"value": "SALES", "category": "event"}), 409)["field"]
            == "value"
        )
        assert (
            client.post("/service-themes", json={"value": "Sales", "category": "service"}).status_code == 201
        )
        bad = client.post("/service-themes", json={"value": "X", "category": "party"})
        assert _error(bad, 422)["field"] == "category"

    def test_update_changes_the_embedded_theme(self, client: TestClient) -> None:
        theme = create_theme(client, "Black Friday")
        service = create_service(client)
        client.post(
            f"/services/{service['serviceId']}/themes", json={"serviceThemeId": theme["serviceThemeId"]}
        )
        response = client.patch(f"/service-themes/{theme['serviceThemeId']}", json={"deprecated": True})
        assert response.status_code == 200, response.text
        embedded = client.get(f"/services/{service['serviceId']}").json()["data"]["themes"][0]
        assert embedded["deprecated"] is True


class TestTargets:
    def test_catalogue_target_given_to_a_service_is_embedded(self, client: TestClient) -> None:
        target = create_target(client)
        service = create_service(client)
        url = f"/services/{service['serviceId']}/targets"
        response = client.post(url, json={"serviceTargetId": target["serviceTargetId"]})
        assert response.status_code == 201, response.text
        assert response.json()["data"]["serviceTarget"] == target
        assert client.get(f"/services/{service['serviceId']}").json()["data"]["targets"] == [target]
        assert _error(client.post(url, json={"serviceTargetId": 999999}), 422)["field"] == "serviceTargetId"

        renamed = client.patch(
            f"/service-targets/{target['serviceTargetId']}", json={"value": "Young families"}
        )
        assert renamed.status_code == 200, renamed.text
        assert client.get(url).json()["data"][0]["serviceTarget"]["value"] == "Young families"
        assert client.delete(f"{url}/{target['serviceTargetId']}").status_code == 204
        assert client.get(f"/services/{service['serviceId']}").json()["data"]["targets"] == []

    def test_each_link_write_is_a_change_record(self, client: TestClient) -> None:
        target = create_target(client, "Teens")
        service = create_service(client)
        url = f"/services/{service['serviceId']}/targets"
        client.post(url, json={"serviceTargetId": target["serviceTargetId"]})
        client.delete(f"{url}/{target['serviceTargetId']}")
        logged = [(c["entity"], c["operation"]) for c in changes(client) if c["entity"].startswith("Service")]
        assert logged == [
            ("ServiceTarget", "create"),
            ("Service", "create"),
            ("ServiceServiceTarget", "create"),
            ("ServiceServiceTarget", "delete"),
        ]
