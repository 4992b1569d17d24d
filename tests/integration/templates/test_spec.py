"""Template validation as a table: each invalid template names the exact element and says what is wrong."""

from __future__ import annotations

import json
from typing import Any

import pytest

from visitorhub.integration.templates.entities import validate_template
from visitorhub.integration.templates.loaders import load_template
from visitorhub.integration.templates.spec import Template, TemplateError

EMAIL = {"source": "Email", "field": "email"}


def visitor(**overrides: Any) -> dict[str, Any]:
    entity: dict[str, Any] = {"type": "Visitor", "key": ["email"], "fields": [dict(EMAIL)]}
    entity.update(overrides)
    return entity


def vehicle(**overrides: Any) -> dict[str, Any]:
    entity: dict[str, Any] = {
        "type": "Vehicle",
        "key": ["licensePlate"],
        "fields": [{"source": "Plate", "field": "licensePlate"}],
    }
    entity.update(overrides)
    return entity


def external_id(**overrides: Any) -> dict[str, Any]:
    entity: dict[str, Any] = {
        "type": "ExternalId",
        "key": "externalType, externalId",
        "fields": [{"source": "Type", "field": "externalType"}, {"source": "Id", "field": "externalId"}],
    }
    entity.update(overrides)
    return entity


def tin(*entities: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"name": "t", "direction": "in", "entities": list(entities), **top}


def tout(*entities: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"name": "t", "direction": "out", "entities": list(entities), **top}


def fields(*pairs: tuple[str, str], transforms: list[Any] | None = None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{"source": source, "field": field} for source, field in pairs]
    if transforms is not None:
        out[-1]["transforms"] = transforms
    return out


INVALID: list[tuple[str, dict[str, Any], str, str]] = [
    # (case, template, element, message fragment)
    (
        "unknown entity",
        tin({"type": "Customer"}),
        "entities[0].type",
        "unknown entity 'Customer'; known: Center, ",  # then every other entity, sorted
    ),
    (
        "unknown entity after a valid one",
        tin(visitor(), {"type": "Car", "insert": True, "update": False}),
        "entities[1].type",
        "unknown entity 'Car'",
    ),
    (
        "unknown field",
        tin(visitor(fields=fields(("Email", "email"), ("Nick", "nickname")))),
        "entities[0].fields[1].field",
        "'nickname' is not a writable field of Visitor",
    ),
    (
        "snake_case instead of the API field name",
        tin(visitor(fields=fields(("Email", "email"), ("Nom", "last_name")))),
        "entities[0].fields[1].field",
        "'last_name' is not a writable field of Visitor",
    ),
    (
        "server-set field on import",
        tin(visitor(fields=fields(("Email", "email"), ("Code", "barcode")))),
        "entities[0].fields[1].field",
        "'barcode' is not a writable field of Visitor",
    ),
    (
        "own id on import",
        tin(visitor(fields=fields(("Email", "email"), ("Id", "visitorId")))),
        "entities[0].fields[1].field",
        "'visitorId' is not a writable field of Visitor",
    ),
    (
        "timestamps on import",
        tin(visitor(), vehicle(fields=fields(("Plate", "licensePlate"), ("Changed", "updateDate")))),
        "entities[1].fields[1].field",
        "'updateDate' is not a writable field of Vehicle",
    ),
    (
        "unknown field on export",
        tout({"type": "Visitor", "fields": fields(("Nick", "nickname"))}),
        "entities[0].fields[0].field",
        "'nickname' is not a field of Visitor",
    ),
    (
        "default of the wrong type (text for a number)",
        tin(visitor(defaults={"birthYear": "nineteen"})),
        "entities[0].defaults.birthYear",
        "wrong default: Input should be a valid integer",
    ),
    (
        "default out of range",
        tin(visitor(defaults={"birthMonth": 13})),
        "entities[0].defaults.birthMonth",
        "wrong default: Input should be less than or equal to 12",
    ),
    (
        "default not in the enumeration",
        tin(visitor(defaults={"countryCode": "XX"})),
        "entities[0].defaults.countryCode",
        "wrong default: Input should be",
    ),
    (
        "default of the wrong type (number for a boolean)",
        tin(visitor(defaults={"emailVerified": 7})),
        "entities[0].defaults.emailVerified",
        "wrong default: Input should be a valid boolean",
    ),
    (
        "default of the wrong type (object for a text)",
        tin(visitor(defaults={"firstName": {"x": 1}})),
        "entities[0].defaults.firstName",
        "wrong default: Input should be a valid string",
    ),
    (
        "default parent id that is no id",
        tin(vehicle(defaults={"visitorId": "somebody"})),
        "entities[0].defaults.visitorId",
        "wrong default: Input should be a valid UUID",
    ),
    (
        "default for an unknown field",
        tin(visitor(defaults={"nickname": "x"})),
        "entities[0].defaults.nickname",
        "'nickname' is not a writable field of Visitor",
    ),
    (
        "default for a server-set field",
        tin(visitor(defaults={"barcode": "123"})),
        "entities[0].defaults.barcode",
        "'barcode' is not a writable field of Visitor",
    ),
    (
        "update without key",
        tin(visitor(key=[])),
        "entities[0].key",
        "Visitor allows updates, so it needs key fields to match existing records",
    ),
    (
        "update without key (default switches)",
        tin(visitor(), {"type": "Vehicle", "fields": fields(("Plate", "licensePlate"))}),
        "entities[1].key",
        "Vehicle allows updates, so it needs key fields",
    ),
    (
        "key field neither mapped nor defaulted",
        tin(visitor(key=["email", "phone"])),
        "entities[0].key",
        "key field 'phone' is neither mapped nor defaulted",
    ),
    (
        "key field that is not a field",
        tin(visitor(key=["mail"])),
        "entities[0].key",
        "'mail' is not a field of Visitor",
    ),
    (
        "unknown transform",
        tin(visitor(fields=fields(("Email", "email"), transforms=["trim", "reverse"]))),
        "entities[0].fields[0].transforms[1]",
        "unknown transform 'reverse'",
    ),
    (
        "date transform without format",
        tin(visitor(fields=fields(("Email", "email"), ("Seen", "lastVisitDate"), transforms=["date"]))),
        "entities[0].fields[1].transforms[0]",
        "invalid arguments for 'date': format: Field required",
    ),
    (
        "split with a text index",
        tin(visitor(fields=fields(("Email", "email"), transforms=[{"split": {"index": "last"}}]))),
        "entities[0].fields[0].transforms[0]",
        "invalid arguments for 'split': index: Input should be a valid integer",
    ),
    (
        "map with an unknown option",
        tin(visitor(fields=fields(("Email", "email"), transforms=[{"map": {"table": {}, "strict": True}}]))),
        "entities[0].fields[0].transforms[0]",
        "invalid arguments for 'map': strict: Extra inputs are not permitted",
    ),
    (
        "transform on export checked too",
        tout({"type": "Visitor", "fields": fields(("Seen", "lastVisitDate"), transforms=[{"date": {}}])}),
        "entities[0].fields[0].transforms[0]",
        "invalid arguments for 'date'",
    ),
    (
        "child without parent",
        tin(vehicle()),
        "entities[0].type",
        "Vehicle hangs from a Visitor: put a Visitor before it in the template or map its visitorId",
    ),
    (
        "child before its parent",
        tin(external_id(), visitor()),
        "entities[0].type",
        "ExternalId hangs from a Visitor",
    ),
    (
        "duplicate entity",
        tin(visitor(), vehicle(), visitor(key=["email"])),
        "entities[2].type",
        "entity 'Visitor' appears twice",
    ),
    (
        "export starting from a child",
        tout({"type": "Vehicle", "fields": fields(("Plate", "licensePlate"))}),
        "entities[0].type",
        "an export starts from a root entity; Vehicle is a child",
    ),
    (
        "export child of another root",
        tout({"type": "Center", "fields": fields(("Code", "pcCode"))}, {"type": "Vehicle"}),
        "entities[1].type",
        "Vehicle does not hang from Center",
    ),
    # Shape (pydantic) errors, named the same way.
    ("no entities", tin(), "entities", "List should have at least 1 item"),
    ("bad direction", {**tin(visitor()), "direction": "both"}, "direction", "Input should be 'in' or 'out'"),
    ("bad name", tin(visitor(), name="my template"), "name", "String should match pattern"),
    ("unknown top-level key", tin(visitor(), mode="fast"), "mode", "Extra inputs are not permitted"),
    (
        "unknown key in a field map",
        tin(visitor(fields=[{**EMAIL, "column": "x"}])),
        "entities[0].fields[0].column",
        "Extra inputs are not permitted",
    ),
    (
        "field map without source",
        tin(visitor(fields=[{"field": "email"}])),
        "entities[0].fields[0].source",
        "Field required",
    ),
    (
        "switch that is not a boolean",
        tin(visitor(insert="sometimes")),
        "entities[0].insert",
        "Input should be a valid boolean",
    ),
]


@pytest.mark.parametrize(("case", "raw", "element", "fragment"), INVALID, ids=[c[0] for c in INVALID])
def test_invalid_template_names_the_element(
    case: str, raw: dict[str, Any], element: str, fragment: str
) -> None:
    with pytest.raises(TemplateError) as caught:
        load_template(json.dumps(raw), "json")
    assert caught.value.element == element
    assert fragment in caught.value.message
    assert str(caught.value) == f"{element}: {caught.value.message}"


VALID: list[tuple[str, dict[str, Any]]] = [
    ("minimal import", tin(visitor())),
    ("insert-only needs no key", tin(visitor(key=[], update=False))),
    ("neither insert nor update (match only)", tin(visitor(insert=False, update=False))),
    (
        "key as a comma list",
        tin(visitor(key="email, lastName", fields=fields(("E", "email"), ("N", "lastName")))),
    ),
    ("key given by a default", tin(visitor(key=["email", "countryCode"], defaults={"countryCode": "FR"}))),
    (
        "defaults of the right types (text coerced like a CSV cell)",
        tin(
            visitor(defaults={"countryCode": "FR", "gender": "u", "birthYear": "1990", "emailVerified": True})
        ),
    ),
    (
        "visitor with its vehicle, external id and centre",
        tin(
            visitor(),
            vehicle(),
            external_id(),
            {
                "type": "VisitorCenter",
                "key": ["pcCode"],
                "defaults": {"pcCode": "FR-SC-123", "isFavorite": True},
            },
        ),
    ),
    (
        "child linked by a mapped parent id",
        tin(vehicle(fields=fields(("Owner", "visitorId"), ("Plate", "licensePlate")))),
    ),
    (
        "child linked by a default parent id",
        tin(vehicle(defaults={"visitorId": "5f0c8a2e-8a8e-4a59-9d6b-3f1f7c1e2a10"})),
    ),
    (
        "a root other than Visitor",
        tin({"type": "Center", "key": ["pcCode"], "fields": fields(("Code", "pcCode"))}),
    ),
    (
        "every transform",
        tin(
            visitor(
                fields=[
                    {"source": "contact.email", "field": "email", "transforms": ["trim", "lower"]},
                    {"source": "cc", "field": "countryCode", "transforms": ["upper"]},
                    {
                        "source": "seen",
                        "field": "lastVisitDate",
                        "transforms": [{"date": {"format": "%d/%m/%Y"}}],
                    },
                    {
                        "source": "sex",
                        "field": "gender",
                        "transforms": [{"map": {"table": {"H": "m"}, "default": "u"}}],
                    },
                    {
                        "source": "first",
                        "field": "firstName",
                        "transforms": [{"concat": {"with": ["middle"]}}],
                    },
                    {
                        "source": "full",
                        "field": "lastName",
                        "transforms": [{"name": "split", "args": {"index": -1}}],
                    },
                ]
            )
        ),
    ),
    (
        "export with children and server-set fields",
        tout(
            {
                "type": "Visitor",
                "fields": fields(("id", "visitorId"), ("code", "barcode"), ("at", "creationDate")),
            },
            {"type": "Vehicle", "fields": fields(("car.plate", "licensePlate"), ("car.id", "vehicleId"))},
            {"type": "ExternalId"},
            {"type": "VisitorCenter", "fields": fields(("fav", "favoriteDate"))},
        ),
    ),
    (
        "export ignores import switches",
        tout({"type": "Visitor", "update": True, "fields": fields(("e", "email"))}),
    ),
]


@pytest.mark.parametrize(("case", "raw"), VALID, ids=[c[0] for c in VALID])
def test_valid_template(case: str, raw: dict[str, Any]) -> None:
    template = load_template(json.dumps(raw), "json")
    assert template.name == "t"
    assert [e.type for e in template.entities] == [e["type"] for e in raw["entities"]]
    assert template.builtin is False


def test_validate_template_returns_the_template() -> None:
    template = Template.model_validate(tin(visitor()))
    assert validate_template(template) is template


def test_source_of_gives_the_outside_name() -> None:
    template = load_template(
        json.dumps(tin(visitor(fields=fields(("E-mail", "email"), ("Nom", "lastName"))))), "json"
    )
    assert template.source_of(0, "lastName") == "Nom"
    assert template.source_of(0, "phone") == "phone"
