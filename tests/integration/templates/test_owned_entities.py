"""Templates name the entities a visitor owns that make sense in a file: an import of visitors with their
interests and locales, and their export."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.domains.owned import ok
from visitorhub.integration.templates.entities import template_entities

IMPORT = {
    "direction": "in",
    "entities": [
        {
            "type": "Visitor",
            "key": ["email"],
            "defaults": {"countryCode": "FR", "acquisitionPcCode": "FR-SC-123", "gender": "u"},
            "fields": [
                {"source": "email", "field": "email"},
                {"source": "first", "field": "firstName"},
                {"source": "last", "field": "lastName"},
            ],
        },
        {
            "type": "Interest",
            "key": ["externalId"],
            "fields": [
                {"source": "topic", "field": "externalId"},
                {"source": "topic_label", "field": "label"},
            ],
        },
        {
            "type": "VisitorLocale",
            "key": ["localeCode"],
            "fields": [{"source": "lang", "field": "localeCode"}],
        },
    ],
}
EXPORT = {
    "direction": "out",
    "entities": [
        {"type": "Visitor", "fields": [{"source": "email", "field": "email"}]},
        {
            "type": "Interest",
            "fields": [
                {"source": "topic", "field": "externalId"},
                {"source": "topic_label", "field": "label"},
            ],
        },
    ],
}


def test_the_entities_that_make_sense_in_a_file_are_template_entities() -> None:
    names = set(template_entities())
    assert {"Optin", "VisitorLocale", "Interest", "Reward", "Checkin", "ParkingHistory"} <= names
    assert not {"CreditCard", "Device", "App", "SmartParkingVisit", "Bookmark"} & names


def test_import_and_export_interests_through_templates(client: TestClient) -> None:
    assert client.put("/integration/templates/crm-interests", json=IMPORT).status_code == 201
    assert client.put("/integration/templates/interests-out", json=EXPORT).status_code == 201
    rows: list[dict[str, Any]] = [
        {
            "email": "ann@example.com",
            "first": "Ann",
            "last": "Lee",
            "topic": "food",
            "topic_label": "Food",
            "lang": "fr_fr",
        },
        {
            "email": "bob@example.com",
            "first": "Bob",
            "last": "Ray",
            "topic": "kids",
            "topic_label": "Kids",
            "lang": "xx-XX",
        },
    ]
    report = ok(client.post("/integration/crm-interests", json={"model": rows}))
    assert report["failed"] == 1
    assert report["errors"][0]["index"] == 1
    assert report["errors"][0]["field"] == "lang"
    assert report["summary"]["Interest"]["inserted"] == 1
    assert report["summary"]["VisitorLocale"]["inserted"] == 1
    again = ok(client.post("/integration/crm-interests", json={"model": rows[:1]}))
    assert again["summary"]["Interest"] == {"inserted": 0, "updated": 0, "unchanged": 1}
    exported = ok(client.get("/integration/interests-out"))
    assert {"email": "ann@example.com", "topic": "food", "topic_label": "Food"} in exported
    assert all(row["email"] != "bob@example.com" for row in exported)
