"""Articles (catalogue seq 127-130): translated titles and contents per locale, and the publish-date
filters that take a date or an instant."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient


def article_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "genericName": "Christmas",
        "mainImageUrl": "https://cdn.example.com/c.jpg",
        "status": "draft",
        "publishDate": "2023-09-15T10:00:00Z",
    }
    body.update(overrides)
    return body


def create_article(client: TestClient, **overrides: Any) -> dict[str, Any]:
    response = client.post("/articles", json=article_body(**overrides))
    assert response.status_code == 201, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


def test_titles_and_contents_per_locale(client: TestClient) -> None:
    article = create_article(
        client,
        title=[{"localeCode": "fr-FR", "value": "Noël"}, {"localeCode": "en_gb", "value": "Christmas"}],
        content=[{"localeCode": "fr-FR", "value": "Ouvert"}],
    )
    assert [(t["localeCode"], t["value"]) for t in article["title"]] == [
        ("fr-FR", "Noël"),
        ("en-GB", "Christmas"),
    ]
    assert set(article["title"][0]) == {"localeCode", "value", "creationDate", "updateDate"}
    assert client.get(f"/articles/{article['articleId']}").json()["data"] == article
    bare = create_article(client)
    assert (bare["title"], bare["content"]) == ([], [])


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"title": [{"localeCode": "klingon", "value": "x"}]}, "title[0].localeCode"),
        ({"content": [{"localeCode": "fr-FR", "value": ""}]}, "content[0].value"),
        ({"title": [{"localeCode": "fr-FR", "value": "a"}, {"localeCode": "FR-fr", "value": "b"}]}, "title"),
        ({"status": "live"}, "status"),
        ({"title": None}, "title"),
    ],
)
def test_refused(client: TestClient, override: dict[str, Any], field: str) -> None:
    response = client.post("/articles", json=article_body(**override))
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field


def test_update_replaces_a_translated_field_and_keeps_unchanged_locales(client: TestClient) -> None:
    article = create_article(client, title=[{"localeCode": "fr-FR", "value": "Noël"}])
    url = f"/articles/{article['articleId']}"
    response = client.patch(
        url,
        json={
            "status": "published",
            "title": [
                {"localeCode": "fr-FR", "value": "Noël"},
                {"localeCode": "de-DE", "value": "Weihnachten"},
            ],
        },
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["status"] == "published"
    assert data["title"][0] == article["title"][0]
    assert data["title"][1]["value"] == "Weihnachten"
    assert (
        client.patch(url, json={"content": [{"localeCode": "fr-FR", "value": "Ouvert"}]}).json()["data"][
            "title"
        ]
        == data["title"]
    )


def test_publish_date_filters_take_days_or_instants(client: TestClient) -> None:
    sept = create_article(client, publishDate="2023-09-01T00:00:00Z", status="published")
    late_sept = create_article(client, publishDate="2023-09-30T23:30:00Z", status="published")
    october = create_article(client, publishDate="2023-10-01T08:00:00Z", status="archived")

    def ids(**params: Any) -> list[int]:
        response = client.get("/articles", params={"sort": "publishDate", "limit": 500, **params})
        assert response.status_code == 200, response.text
        return [item["articleId"] for item in response.json()["data"]]

    mine = {sept["articleId"], late_sept["articleId"], october["articleId"]}
    assert [i for i in ids(publishDateSince="2023-09-01", publishDateUntil="2023-09-30") if i in mine] == [
        sept["articleId"],
        late_sept["articleId"],
    ]
    assert [i for i in ids(publishDateUntil="2023-10-01") if i in mine] == [
        sept["articleId"],
        late_sept["articleId"],
        october["articleId"],
    ]
    assert [i for i in ids(publishDateSince="2023-09-30T23:00:00Z") if i in mine] == [
        late_sept["articleId"],
        october["articleId"],
    ]
    assert [i for i in ids(status="archived") if i in mine] == [october["articleId"]]
    bad = client.get("/articles", params={"publishDateSince": "September"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "publishDateSince"
