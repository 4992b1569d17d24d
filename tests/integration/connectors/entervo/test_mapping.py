"""Visitor + vehicles → consumer body: plates, countries, deleted vehicles, contract, and the content hash."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from visitorhub.domains.enums import CountryCode
from visitorhub.integration.connectors.countries import ALPHA2_TO_ALPHA3
from visitorhub.integration.connectors.entervo.client import EntervoClient
from visitorhub.integration.connectors.entervo.mapping import (
    ContractSettings,
    MappingError,
    alpha3,
    consumer_body,
    content_hash,
    plate_region_code,
    plate_value,
)

SETTINGS = {
    "customerBusinessId": "C2024EmuLat0r",
    "contractBusinessId": "A2024XW3pYsa2f",
    "productIds": ["PP000053"],
}
VISITOR = {
    "visitorId": "0b7c6f0e-3c7e-4d36-9a51-4b1f0e1c2d3e",
    "firstName": "Anna",
    "lastName": "Muster",
    "email": "anna@example.de",
    "countryCode": "DE",
    "phone": "+49 89 1234",  # not part of a consumer
}


def vehicle(plate: str, country: str | None = "DE", deleted: str | None = None) -> dict[str, Any]:
    return {"licensePlate": plate, "licensePlateCountry": country, "deletionDate": deleted, "maker": "VW"}


@pytest.mark.parametrize(
    ("plate", "value", "code"),
    [
        ("M-M 5478", "MM5478", "M"),  # the documented MM5478 / M pair, written as on the car
        ("MM5478", "MM5478", "MM"),
        ("m-ab 123", "MAB123", "M"),
        ("BL123AB", "BL123AB", "BL"),  # Slovak: first two letters, as third-party callers send
        ("BL-123AB", "BL123AB", "BL"),
        ("LÖ AB 12", "LÖAB12", "LÖ"),  # German districts may carry umlauts
        ("AB-123-CD", "AB123CD", "AB"),
        ("B 1234", "B1234", "B"),
        ("B1234", "B1234", "B"),
        ("12-ABC-3", "12ABC3", "12"),
        (" ab.12.cd ", "AB12CD", "AB"),
    ],
)
def test_plates(plate: str, value: str, code: str) -> None:
    assert plate_value(plate) == value
    assert plate_region_code(plate) == code


def test_a_plate_without_characters_cannot_be_mapped() -> None:
    with pytest.raises(MappingError):
        plate_value(" - ")


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("DE", "DEU"),
        ("de", "DEU"),
        ("SK", "SVK"),
        ("GB", "GBR"),
        ("CH", "CHE"),
        ("AT", "AUT"),
        ("SVK", "SVK"),
    ],
)
def test_alpha3(code: str, expected: str) -> None:
    assert alpha3(code) == expected


@pytest.mark.parametrize("code", ["XX", "UK", "", "D"])
def test_unknown_countries_are_refused(code: str) -> None:
    with pytest.raises(MappingError):
        alpha3(code)


def test_every_visitor_api_country_has_an_alpha3() -> None:
    assert len(ALPHA2_TO_ALPHA3) == 249
    assert len(set(ALPHA2_TO_ALPHA3.values())) == 249
    assert {code.value for code in CountryCode} <= set(ALPHA2_TO_ALPHA3)
    assert all(len(a3) == 3 and a3.isupper() for a3 in ALPHA2_TO_ALPHA3.values())


def test_the_consumer_body() -> None:
    body = consumer_body(VISITOR, [vehicle("M-M 5478"), vehicle("BL-123AB", "SK")], SETTINGS)
    assert body == {
        "externalReference": "0b7c6f0e-3c7e-4d36-9a51-4b1f0e1c2d3e",
        "firstName": "Anna",
        "lastName": "Muster",
        "email": "anna@example.de",
        "mediums": [
            {
                "type": "LICENSEPLATE",
                "value": "MM5478",
                "encoding": "HEX",
                "licencePlateRegion": {"code": "M", "country": "DEU"},
            },
            {
                "type": "LICENSEPLATE",
                "value": "BL123AB",
                "encoding": "HEX",
                "licencePlateRegion": {"code": "BL", "country": "SVK"},
            },
        ],
        "contract": {"businessId": "A2024XW3pYsa2f", "products": ["PP000053"]},
    }


def test_deleted_vehicles_are_dropped_and_missing_countries_are_the_visitors() -> None:
    vehicles = [vehicle("M-AB 1"), vehicle("M-CD 2", deleted="2026-01-01T00:00:00Z"), vehicle("FR-1", None)]
    body = consumer_body({**VISITOR, "countryCode": "FR"}, vehicles, SETTINGS)
    assert [(m["value"], m["licencePlateRegion"]["country"]) for m in body["mediums"]] == [
        ("MAB1", "DEU"),
        ("FR1", "FRA"),
    ]


def test_no_vehicles_no_mediums_and_the_same_plate_twice_is_sent_once() -> None:
    assert consumer_body(VISITOR, [], SETTINGS)["mediums"] == []
    twice = consumer_body(VISITOR, [vehicle("M-M 5478"), vehicle("MM 5478")], SETTINGS)
    assert [m["value"] for m in twice["mediums"]] == ["MM5478"]
    other_country = consumer_body(VISITOR, [vehicle("MM 5478"), vehicle("MM 5478", "AT")], SETTINGS)
    assert len(other_country["mediums"]) == 2


def test_settings_as_a_dataclass_or_camel_case_dict() -> None:
    typed = ContractSettings("C2024EmuLat0r", "A2024XW3pYsa2f", ("PP000053", "PP000054"))
    as_dict = {**SETTINGS, "productIds": ["PP000053", "PP000054"]}
    assert consumer_body(VISITOR, [], typed) == consumer_body(VISITOR, [], as_dict)
    assert consumer_body(VISITOR, [], typed)["contract"]["products"] == ["PP000053", "PP000054"]


@pytest.mark.parametrize(
    ("visitor", "vehicles", "settings", "words"),
    [
        ({**VISITOR, "visitorId": None}, [], SETTINGS, "visitorId"),
        (VISITOR, [], {"customerBusinessId": "C1", "productIds": []}, "contractBusinessId"),
        (VISITOR, [], {**SETTINGS, "productIds": "PP000053"}, "productIds"),
        ({**VISITOR, "countryCode": None}, [vehicle("M-AB 1", None)], SETTINGS, "no country"),
        (VISITOR, [vehicle("M-AB 1", "ZZ")], SETTINGS, "ZZ"),
    ],
)
def test_what_cannot_be_mapped_says_why(
    visitor: dict[str, Any], vehicles: list[dict[str, Any]], settings: dict[str, Any], words: str
) -> None:
    with pytest.raises(MappingError, match=words):
        consumer_body(visitor, vehicles, settings)


class TestContentHash:
    def test_stable_across_key_and_vehicle_order(self) -> None:
        one = consumer_body(VISITOR, [vehicle("M-AB 1"), vehicle("BL-1", "SK")], SETTINGS)
        other = consumer_body(
            dict(reversed(VISITOR.items())), [vehicle("BL-1", "SK"), vehicle("M-AB 1")], SETTINGS
        )
        assert content_hash(one) == content_hash(other)
        assert content_hash(dict(reversed(one.items()))) == content_hash(one)
        assert len(content_hash(one)) == 64

    def test_the_canonical_form_is_fixed_so_stored_hashes_stay_valid(self) -> None:
        canonical = '{"a":null,"b":[1,"é"]}'.encode()
        assert content_hash({"b": [1, "é"], "a": None}) == hashlib.sha256(canonical).hexdigest()
        assert content_hash({"b": [1, "é"], "a": None}) == (
            "f8f17faab95c024891d173fa43442b0e52007736a1f36715ac721ab22deeefc5"
        )

    @pytest.mark.parametrize(
        ("visitor", "vehicles", "settings"),
        [
            ({**VISITOR, "firstName": "Anne"}, [vehicle("M-AB 1")], SETTINGS),
            ({**VISITOR, "email": None}, [vehicle("M-AB 1")], SETTINGS),
            (VISITOR, [vehicle("M-AB 2")], SETTINGS),
            (VISITOR, [vehicle("M-AB 1", "AT")], SETTINGS),
            (VISITOR, [vehicle("M-AB 1"), vehicle("M-AB 2")], SETTINGS),
            (VISITOR, [vehicle("M-AB 1")], {**SETTINGS, "productIds": ["PP000054"]}),
            (VISITOR, [vehicle("M-AB 1")], {**SETTINGS, "contractBusinessId": "A2024Other0000"}),
        ],
    )
    def test_sensitive_to_every_change(
        self, visitor: dict[str, Any], vehicles: list[dict[str, Any]], settings: dict[str, Any]
    ) -> None:
        base = content_hash(consumer_body(VISITOR, [vehicle("M-AB 1")], SETTINGS))
        assert content_hash(consumer_body(visitor, vehicles, settings)) != base

    def test_deleting_a_vehicle_changes_it_and_ignored_fields_do_not(self) -> None:
        base = content_hash(consumer_body(VISITOR, [vehicle("M-AB 1")], SETTINGS))
        deleted = [vehicle("M-AB 1", deleted="2026-01-01T00:00:00Z")]
        assert content_hash(consumer_body(VISITOR, deleted, SETTINGS)) != base
        noisy = [{**vehicle("M-AB 1"), "maker": "Audi", "color": "red"}]
        assert content_hash(consumer_body({**VISITOR, "phone": "+1"}, noisy, SETTINGS)) == base


def test_the_emulator_accepts_the_mapped_body(client: EntervoClient) -> None:
    body = consumer_body(VISITOR, [vehicle("M-M 5478"), vehicle("BL-123AB", "SK")], SETTINGS)
    stored = client.create(body).consumer
    assert stored["externalReference"] == VISITOR["visitorId"]
    assert [m["licencePlateRegion"] for m in stored["mediums"]] == [
        {"code": "M", "country": "DEU"},
        {"code": "BL", "country": "SVK"},
    ]
    assert not client.create(body).created
