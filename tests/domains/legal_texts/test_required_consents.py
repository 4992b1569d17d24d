"""A visitor's required consents (catalogue seq 106): for each legal type that concerns the visitor's
centres (or the one they join), the latest released version, owed unless the visitor actively opted in to
that very version."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.domains.legal_texts.test_legal_texts import create_legal_text, iso
from tests.factories import create_center, create_visitor
from visitorhub.domains.visitors.resources import optins


def consents(client: TestClient, visitor_id: str, **params: Any) -> dict[int, bool]:
    response = client.get(f"/visitors/{visitor_id}/required-consents", params=params)
    assert response.status_code == 200, response.text
    return {item["legalTextId"]: item["requireConsent"] for item in response.json()["data"]}


def opt_in(session: Session, visitor_id: str, legal_text_id: int, active: bool = True) -> None:
    optins.service.create(
        session,
        {
            "visitor_id": uuid.UUID(visitor_id),
            "optin_channel": "email",
            "optin_type": "terms",
            "legal_text_id": legal_text_id,
            "is_active": active,
        },
    )
    session.commit()


def test_a_new_version_asks_for_consent_again(client: TestClient, session: Session) -> None:
    v1 = create_legal_text(client, "terms", releaseDate="2020-01-01T00:00:00Z")
    visitor = create_visitor(
        client,
        optins=[{"optinChannel": "email", "optinType": "terms", "isActive": True, "legalTextId": v1["id"]}],
    )
    assert consents(client, visitor["visitorId"]) == {v1["id"]: False}

    v2 = create_legal_text(client, "terms", releaseDate="2021-01-01T00:00:00Z")
    assert consents(client, visitor["visitorId"]) == {v2["id"]: True}
    opt_in(session, visitor["visitorId"], v2["id"])
    assert consents(client, visitor["visitorId"]) == {v2["id"]: False}

    # A version released in the future changes nothing until its releaseDate.
    create_legal_text(client, "terms", releaseDate=iso(timedelta(days=1)))
    assert consents(client, visitor["visitorId"]) == {v2["id"]: False}
    v4 = create_legal_text(client, "terms", releaseDate=iso(timedelta(seconds=-1)))
    assert consents(client, visitor["visitorId"]) == {v4["id"]: True}


def test_only_an_active_optin_counts_and_some_texts_ask_for_none(
    client: TestClient, session: Session
) -> None:
    terms = create_legal_text(client, "terms")
    info = create_legal_text(client, "commercial_email", requireConsent=False)
    visitor = create_visitor(client)
    opt_in(session, visitor["visitorId"], terms["id"], active=False)
    assert consents(client, visitor["visitorId"]) == {terms["id"]: True, info["id"]: False}


def test_centre_specific_texts_concern_the_visitor_centres_and_the_new_one(client: TestClient) -> None:
    terms = create_legal_text(client, "terms")
    us_privacy = create_legal_text(client, "privacy_us")
    eu_privacy = create_legal_text(client, "privacy_eu")
    parking = create_legal_text(client, "smartparking_us")
    loyalty = create_legal_text(client, "loyalty")
    paris = create_center(client, country="FR", hasLoyalty=True)
    la = create_center(client, country="US", parkingPartner="smartparking_us")
    ny = create_center(client, country="US")

    visitor = create_visitor(client, acquisitionPcCode=paris["pcCode"])
    assert consents(client, visitor["visitorId"]) == {
        terms["id"]: True,
        eu_privacy["id"]: True,
        loyalty["id"]: True,
    }

    joining = consents(client, visitor["visitorId"], newCenter=la["pcCode"])
    assert set(joining) == {terms["id"], eu_privacy["id"], loyalty["id"], us_privacy["id"], parking["id"]}

    # A visitor-centre counts as one of the visitor's centres.
    geneva = create_center(client, country="CH")  # concerns none of the centre-specific types
    other = create_visitor(client, acquisitionPcCode=geneva["pcCode"], countryCode="US")
    assert set(consents(client, other["visitorId"])) == {terms["id"]}
    link = client.post(
        f"/visitors/{other['visitorId']}/centers", json={"pcCode": ny["pcCode"], "isFavorite": False}
    )
    assert link.status_code == 201, link.text
    assert set(consents(client, other["visitorId"])) == {terms["id"], us_privacy["id"]}


def test_unknown_new_centre_or_visitor(client: TestClient) -> None:
    visitor = create_visitor(client)
    response = client.get(f"/visitors/{visitor['visitorId']}/required-consents", params={"newCenter": "NOPE"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "newCenter"
    missing = client.get(f"/visitors/{uuid.uuid4()}/required-consents")
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["field"] == "visitorId"
