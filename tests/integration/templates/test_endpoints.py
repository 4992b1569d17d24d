"""/integration: template management, imports and exports, through real HTTP on a real database."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from tests.factories import changes, create_external_id, create_vehicle, create_visitor
from visitorhub.models import ChangeLogEntry, ExternalId, IntegrationTemplate, Vehicle, Visitor

SEED_XML = (
    '<In><Type Name="Visitor" ShouldInsert="true" ShouldUpdate="true" Key="email">'
    '<Default Field="countryCode" Value="FR"/><Default Field="gender" Value="u"/>'
    '<Default Field="acquisitionPcCode" Value="FR-SC-123"/></Type>'
    '<Property Name="Nom usage" Type="Visitor" Field="lastName"/>'
    '<Property Name="Prénom" Type="Visitor" Field="firstName"/>'
    '<Property Name="Email" Type="Visitor" Field="email" Transform="trim,lower"/></In>'
)


def crm_import(**visitor: Any) -> dict[str, Any]:
    """An import template with nested outside names (contact.email) and a vehicle per row."""
    return {
        "name": "ignored-the-url-wins",
        "direction": "in",
        "description": "CRM contacts",
        "entities": [
            {
                "type": "Visitor",
                "key": ["email"],
                "defaults": {"countryCode": "FR", "acquisitionPcCode": "FR-SC-123", "gender": "u"},
                "fields": [
                    {"source": "contact.email", "field": "email", "transforms": ["trim", "lower"]},
                    {"source": "first", "field": "firstName"},
                    {"source": "last", "field": "lastName"},
                ],
                **visitor,
            },
            {
                "type": "Vehicle",
                "key": ["licensePlate"],
                "fields": [
                    {"source": "car.plate", "field": "licensePlate", "transforms": ["upper"]},
                    {"source": "car.year", "field": "yearOfManufacture"},
                ],
            },
        ],
    }


def crm_export() -> dict[str, Any]:
    return {
        "direction": "out",
        "description": "CRM contacts out",
        "entities": [
            {
                "type": "Visitor",
                "fields": [
                    {"source": "contact.email", "field": "email"},
                    {"source": "name", "field": "lastName", "transforms": ["upper"]},
                ],
            },
            {"type": "Vehicle", "fields": [{"source": "car.plate", "field": "licensePlate"}]},
        ],
    }


def put(
    client: TestClient, name: str, body: dict[str, Any] | str, content_type: str = "application/json"
) -> Any:
    text = body if isinstance(body, str) else json.dumps(body)
    return client.put(
        f"/integration/templates/{name}", content=text.encode(), headers={"Content-Type": content_type}
    )


def visitor_row(n: int, **overrides: Any) -> dict[str, Any]:
    """A row for the built-in visitors-import template."""
    row: dict[str, Any] = {
        "email": f"row{n}@example.com",
        "first_name": "Ann",
        "last_name": f"Lee{n}",
        "gender": "female",
        "country_code": "fr",
        "center": "FR-SC-123",
    }
    row.update(overrides)
    return row


def run_import(
    client: TestClient, rows: list[dict[str, Any]], template: str = "visitors-import", **flags: Any
) -> Any:
    response = client.post(f"/integration/{template}", json={**flags, "model": rows})
    assert response.status_code == 200, response.text
    return response.json()["data"]


def count(session: Session, model: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def emails(session: Session) -> set[str]:
    return set(session.scalars(select(Visitor.email)))


# Template management --------------------------------------------------------------------------------


class TestListTemplates:
    def test_builtins_are_listed_read_only_with_their_entities(self, client: TestClient) -> None:
        response = client.get("/integration/templates")
        assert response.status_code == 200
        body = response.json()
        by_name = {item["name"]: item for item in body["data"]}
        assert by_name["visitors-import"]["builtin"] is True
        assert by_name["visitors-import"]["direction"] == "in"
        assert by_name["visitors-export"]["direction"] == "out"
        types = [entity["type"] for entity in by_name["visitors-import"]["entities"]]
        assert types == ["Visitor", "Vehicle", "ExternalId"]
        assert set(by_name["visitors-import"]) == {"name", "direction", "description", "builtin", "entities"}
        assert body["metadata"]["version"] == 1
        assert body["metadata"]["_links"]["self"].endswith("/integration/templates")

    def test_saved_templates_are_listed_with_builtin_false(self, client: TestClient) -> None:
        assert put(client, "crm-import", crm_import()).status_code == 201
        names = [item["name"] for item in client.get("/integration/templates").json()["data"]]
        assert names == sorted(names)
        saved = next(
            i for i in client.get("/integration/templates").json()["data"] if i["name"] == "crm-import"
        )
        assert saved["builtin"] is False
        assert saved["description"] == "CRM contacts"


class TestPutTemplate:
    def test_json_creates_then_replaces(self, client: TestClient) -> None:
        created = put(client, "crm-import", crm_import())
        assert created.status_code == 201, created.text
        data = created.json()["data"]
        assert data["name"] == "crm-import"  # the URL's name wins over the body's
        assert data["format"] == "json"
        assert data["builtin"] is False
        assert data["entities"][0]["key"] == ["email"]
        assert data["creationDate"] == data["updateDate"]

        replaced = put(client, "crm-import", {**crm_import(), "description": "v2"})
        assert replaced.status_code == 200, replaced.text
        assert replaced.json()["data"]["description"] == "v2"
        assert replaced.json()["data"]["creationDate"] == data["creationDate"]
        fetched = client.get("/integration/templates/crm-import").json()["data"]
        assert fetched["description"] == "v2"
        assert json.loads(fetched["source"])["description"] == "v2"

    @pytest.mark.parametrize("content_type", ["application/yaml", "text/yaml", "application/x-yaml"])
    def test_yaml(self, client: TestClient, content_type: str) -> None:
        response = put(client, "crm-yaml", yaml.safe_dump(crm_import()), f"{content_type}; charset=utf-8")
        assert response.status_code == 201, response.text
        data = response.json()["data"]
        assert data["format"] == "yaml"
        assert [f["source"] for f in data["entities"][0]["fields"]] == ["contact.email", "first", "last"]

    @pytest.mark.parametrize("content_type", ["application/xml", "text/xml"])
    def test_seed_xml_with_key_attribute(self, client: TestClient, content_type: str) -> None:
        response = put(client, "planning-import", SEED_XML, content_type)
        assert response.status_code == 201, response.text
        data = response.json()["data"]
        assert data["format"] == "xml"
        assert data["direction"] == "in"
        visitor = data["entities"][0]
        assert visitor["type"] == "Visitor"
        assert visitor["key"] == ["email"]
        assert visitor["insert"] is True
        assert visitor["update"] is True
        assert visitor["defaults"] == {"countryCode": "FR", "gender": "u", "acquisitionPcCode": "FR-SC-123"}
        assert [(f["source"], f["field"]) for f in visitor["fields"]] == [
            ("Nom usage", "lastName"),
            ("Prénom", "firstName"),
            ("Email", "email"),
        ]
        # The text comes back as it was sent, so its author can edit the XML they wrote.
        assert client.get("/integration/templates/planning-import").json()["data"]["source"] == SEED_XML

    def test_xml_out_template(self, client: TestClient) -> None:
        xml = (
            '<Out><Type Name="Visitor"/><Property Name="Email" Type="Visitor" Field="email"/>'
            '<Property Name="Plaque" Type="Vehicle" Field="licensePlate"/></Out>'
        )
        response = put(client, "planning-export", xml, "application/xml")
        assert response.status_code == 201, response.text
        assert response.json()["data"]["direction"] == "out"
        assert [e["type"] for e in response.json()["data"]["entities"]] == ["Visitor", "Vehicle"]

    def test_xml_with_entities_is_refused(self, client: TestClient) -> None:
        xml = '<!DOCTYPE In [<!ENTITY x "boom">]><In><Type Name="Visitor" Key="email"/></In>'
        response = put(client, "evil", xml, "application/xml")
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == "xml"
        assert client.get("/integration/templates/evil").status_code == 404

    @pytest.mark.parametrize("content_type", ["text/plain", "application/octet-stream", ""])
    def test_other_content_types_are_415(self, client: TestClient, content_type: str) -> None:
        response = put(client, "crm-import", crm_import(), content_type)
        assert response.status_code == 415
        error = response.json()["errors"][0]
        assert error["code"] == "unsupported_media_type"
        assert "application/yaml" in error["message"]

    @pytest.mark.parametrize(
        ("case", "change", "element", "fragment"),
        [
            ("unknown entity", {"type": "Customer"}, "entities[0].type", "unknown entity 'Customer'"),
            (
                "unknown field",
                {"fields": [{"source": "Nom", "field": "surname"}]},
                "entities[0].fields[0].field",
                "'surname' is not a writable field of Visitor",
            ),
            (
                "wrong-type default",
                {"defaults": {"birthYear": "nineteen-ninety"}},
                "entities[0].defaults.birthYear",
                "wrong default",
            ),
            ("update without key", {"key": []}, "entities[0].key", "needs key fields"),
            (
                "unknown transform",
                {"fields": [{"source": "mail", "field": "email", "transforms": ["rot13"]}]},
                "entities[0].fields[0].transforms[0]",
                "unknown transform 'rot13'",
            ),
        ],
    )
    def test_validation_errors_name_the_element(
        self, client: TestClient, case: str, change: dict[str, Any], element: str, fragment: str
    ) -> None:
        response = put(client, "broken", crm_import(**change))
        assert response.status_code == 400, response.text
        (error,) = response.json()["errors"]
        assert error["code"] == "invalid_template"
        assert error["field"] == element
        assert error["message"].startswith(f"{element}: ")
        assert fragment in error["message"]
        assert client.get("/integration/templates/broken").status_code == 404  # nothing saved

    def test_xml_validation_error_names_the_element(self, client: TestClient) -> None:
        response = put(client, "broken", SEED_XML.replace('Field="lastName"', 'Field="nomUsage"'), "text/xml")
        assert response.status_code == 400
        error = response.json()["errors"][0]
        assert error["field"] == "entities[0].fields[0].field"
        assert "'nomUsage' is not a writable field of Visitor" in error["message"]

    def test_malformed_text_is_400(self, client: TestClient) -> None:
        response = put(client, "broken", '{"direction": "in", ', "application/json")
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == "template"
        assert "not valid JSON" in response.json()["errors"][0]["message"]

    def test_invalid_name_is_400(self, client: TestClient) -> None:
        response = put(client, "-bad name", crm_import())
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == "name"

    def test_reserved_name_is_400(self, client: TestClient) -> None:
        response = put(client, "templates", crm_export())
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == "name"

    def test_builtin_cannot_be_replaced(self, client: TestClient) -> None:
        response = put(client, "visitors-import", crm_import())
        assert response.status_code == 409
        assert "built in" in response.json()["errors"][0]["message"]
        builtin = client.get("/integration/templates/visitors-import").json()["data"]
        assert builtin["builtin"] is True
        assert builtin["description"].startswith("Visitors with their vehicle")


class TestGetTemplate:
    def test_builtin(self, client: TestClient) -> None:
        response = client.get("/integration/templates/visitors-export")
        assert response.status_code == 200
        data = response.json()["data"]
        assert data["builtin"] is True
        assert data["format"] == "yaml"
        assert yaml.safe_load(data["source"])["name"] == "visitors-export"
        assert data["creationDate"] is None

    def test_unknown_is_404_naming_it(self, client: TestClient) -> None:
        response = client.get("/integration/templates/nope")
        assert response.status_code == 404
        error = response.json()["errors"][0]
        assert error["field"] == "name"
        assert "'nope'" in error["message"]


class TestDeleteTemplate:
    def test_delete(self, client: TestClient) -> None:
        put(client, "crm-import", crm_import())
        assert client.delete("/integration/templates/crm-import").status_code == 204
        assert client.get("/integration/templates/crm-import").status_code == 404
        assert client.delete("/integration/templates/crm-import").status_code == 404

    def test_builtin_cannot_be_deleted(self, client: TestClient) -> None:
        response = client.delete("/integration/templates/visitors-export")
        assert response.status_code == 409
        assert client.get("/integration/templates/visitors-export").status_code == 200


class TestScopes:
    def test_write_can_import_but_not_manage_templates(self, client: TestClient, writer: TestClient) -> None:
        put(client, "crm-import", crm_import())
        assert writer.get("/integration/templates").status_code == 403
        assert writer.get("/integration/templates/crm-import").status_code == 403
        assert put(writer, "mine", crm_import()).status_code == 403
        assert writer.delete("/integration/templates/crm-import").status_code == 403
        assert (
            writer.post("/integration/visitors-import", json={"model": [visitor_row(1)]}).status_code == 200
        )

    def test_read_can_export_but_not_import(self, reader: TestClient) -> None:
        assert reader.get("/integration/visitors-export").status_code == 200
        response = reader.post("/integration/visitors-import", json={"model": [visitor_row(1)]})
        assert response.status_code == 403
        assert reader.get("/integration/templates").status_code == 403

    def test_no_key_is_401(self, anon: TestClient) -> None:
        assert anon.get("/integration/templates").status_code == 401
        assert anon.get("/integration/visitors-export").status_code == 401
        assert anon.post("/integration/visitors-import", json={"model": []}).status_code == 401


# Imports --------------------------------------------------------------------------------------------


class TestImport:
    def test_inserts_through_a_builtin_template(
        self, client: TestClient, writer: TestClient, session: Session
    ) -> None:
        rows = [visitor_row(1, license_plate="AB-123-CD", vehicle_year="2019"), visitor_row(2)]
        report = run_import(writer, rows)
        assert report == {
            "simulate": False,
            "stopOnError": False,
            "stopped": False,
            "processed": 2,
            "failed": 0,
            "summary": {
                "Visitor": {"inserted": 2, "updated": 0, "unchanged": 0},
                "Vehicle": {"inserted": 1, "updated": 0, "unchanged": 0},
            },
            "errors": [],
            "operations": [],
        }
        visitor = session.scalars(select(Visitor).where(Visitor.email == "row1@example.com")).one()
        assert (visitor.gender, visitor.country_code) == ("f", "FR")
        vehicle = session.scalars(select(Vehicle)).one()
        assert (vehicle.visitor_id, vehicle.license_plate, vehicle.year_of_manufacture) == (
            visitor.visitor_id,
            "AB-123-CD",
            2019,
        )
        assert len(changes(client, entity="Visitor")) == 2
        assert len(changes(client, entity="Vehicle")) == 1

    def test_through_a_saved_template_with_nested_names(self, client: TestClient, session: Session) -> None:
        assert put(client, "crm-import", crm_import()).status_code == 201
        rows = [
            {
                "contact": {"email": " Zoe@Example.com "},
                "first": "Zoe",
                "last": "Kim",
                "car": {"plate": "ab-1"},
            }
        ]
        report = run_import(client, rows, "crm-import")
        assert report["failed"] == 0, report
        visitor = session.scalars(select(Visitor)).one()
        assert (visitor.email, visitor.gender, visitor.acquisition_pc_code) == (
            "zoe@example.com",
            "u",
            "FR-SC-123",
        )
        assert session.scalars(select(Vehicle.license_plate)).one() == "AB-1"

    def test_through_the_seed_xml_template(self, client: TestClient, session: Session) -> None:
        put(client, "planning-import", SEED_XML, "application/xml")
        rows = [{"Nom usage": "Martin", "Prénom": "Léa", "Email": "LEA@example.com"}]
        report = run_import(client, rows, "planning-import")
        assert report["summary"] == {"Visitor": {"inserted": 1, "updated": 0, "unchanged": 0}}
        visitor = session.scalars(select(Visitor)).one()
        assert (visitor.last_name, visitor.first_name, visitor.country_code) == ("Martin", "Léa", "FR")

    def test_model_may_be_a_single_object(self, writer: TestClient, session: Session) -> None:
        response = writer.post("/integration/visitors-import", json={"model": visitor_row(1)})
        assert response.status_code == 200
        assert response.json()["data"]["processed"] == 1
        assert emails(session) == {"row1@example.com"}

    def test_simulate_writes_nothing(self, client: TestClient, session: Session) -> None:
        existing = create_visitor(client, email="row1@example.com", firstName="Old")
        before = len(changes(client))
        rows = [visitor_row(1, first_name="New"), visitor_row(2, license_plate="SIM-1")]
        report = run_import(client, rows, simulate=True, verbose=True)
        assert report["simulate"] is True
        assert report["summary"] == {
            "Visitor": {"inserted": 1, "updated": 1, "unchanged": 0},
            "Vehicle": {"inserted": 1, "updated": 0, "unchanged": 0},
        }
        assert [op["operation"] for op in report["operations"]] == ["update", "insert", "insert"]
        assert len(changes(client)) == before  # not even change records
        assert emails(session) == {"row1@example.com"}
        assert count(session, Vehicle) == 0
        assert client.get(f"/visitors/{existing['visitorId']}").json()["data"]["firstName"] == "Old"
        # ... and the real run does what the simulation said.
        real = run_import(client, rows)
        assert real["summary"] == report["summary"]

    def test_verbose_lists_one_operation_per_entity(self, writer: TestClient, session: Session) -> None:
        rows = [
            visitor_row(1, license_plate="V-1", external_id_type="crm_id", external_id="C-1"),
            visitor_row(2, gender="x"),
        ]
        report = run_import(writer, rows, verbose=True)
        visitor_id = str(session.scalars(select(Visitor.visitor_id)).one())
        vehicle_id = session.scalars(select(Vehicle.vehicle_id)).one()
        ops = report["operations"]
        assert ops[0] == {
            "index": 0,
            "entity": "Visitor",
            "operation": "insert",
            "key": {"email": "row1@example.com"},
            "id": visitor_id,
        }
        assert ops[1] == {
            "index": 0,
            "entity": "Vehicle",
            "operation": "insert",
            "key": {"licensePlate": "V-1"},
            "id": vehicle_id,
        }
        assert ops[2]["entity"] == "ExternalId"
        assert ops[2]["key"] == {"externalType": "crm_id", "externalId": "C-1"}
        assert ops[3] == {"index": 1, "entity": "Visitor", "operation": "failed", "key": None, "id": None}
        assert len(ops) == 4

    def test_without_verbose_no_operations(self, writer: TestClient) -> None:
        assert run_import(writer, [visitor_row(1)])["operations"] == []

    def test_a_failing_row_is_reported_and_the_others_applied(
        self, writer: TestClient, session: Session
    ) -> None:
        rows = [visitor_row(0), visitor_row(1, gender="x"), visitor_row(2)]
        report = run_import(writer, rows)
        assert (report["processed"], report["failed"], report["stopped"]) == (3, 1, False)
        assert report["errors"] == [
            {
                "index": 1,
                "field": "gender",
                "message": "gender: 'x' is not one of m, f, u, male, female, unknown",
            }
        ]
        assert emails(session) == {"row0@example.com", "row2@example.com"}

    def test_stop_on_error_applies_nothing_after_the_failing_row(
        self, writer: TestClient, session: Session
    ) -> None:
        rows = [visitor_row(0), visitor_row(1, gender="x"), visitor_row(2), visitor_row(3)]
        report = run_import(writer, rows, stopOnError=True)
        assert report["stopOnError"] is True
        assert report["stopped"] is True
        assert (report["processed"], report["failed"]) == (2, 1)
        assert [e["index"] for e in report["errors"]] == [1]
        assert emails(session) == {"row0@example.com"}

    def test_a_row_is_all_or_nothing_when_its_vehicle_is_invalid(
        self, writer: TestClient, session: Session
    ) -> None:
        rows = [visitor_row(1, license_plate="OK-1", vehicle_year="last year"), visitor_row(2)]
        report = run_import(writer, rows)
        assert report["failed"] == 1
        error = report["errors"][0]
        assert (error["index"], error["field"]) == (0, "vehicle_year")
        assert "last year" in error["message"]
        assert emails(session) == {"row2@example.com"}
        assert count(session, Vehicle) == 0

    def test_a_row_is_all_or_nothing_when_a_service_rule_fails(
        self, client: TestClient, session: Session
    ) -> None:
        """The visitor is planned first; its external id then conflicts with another visitor's: neither stays."""
        other = create_visitor(client)
        create_external_id(
            client, other["visitorId"], externalType="designa", externalId="D-1", pcCode="FR-SC-123"
        )
        before = len(changes(client))
        row = visitor_row(1, external_id_type="designa", external_id="D-1", external_id_center="FR-SC-123")
        report = run_import(client, [row, visitor_row(2)])
        assert report["failed"] == 1
        assert report["errors"][0]["index"] == 0
        assert report["errors"][0]["field"] == "external_id"
        assert "already belongs to another visitor" in report["errors"][0]["message"]
        assert emails(session) == {other["email"], "row2@example.com"}
        assert count(session, ExternalId) == 1
        assert len(changes(client)) == before + 1  # row 2's visitor only

    def test_reimporting_identical_data_changes_nothing(self, client: TestClient, session: Session) -> None:
        rows = [
            visitor_row(1, license_plate="AA-1", external_id_type="crm_id", external_id="C-1"),
            visitor_row(2, phone="+33600000000"),
        ]
        first = run_import(client, rows)
        assert first["failed"] == 0, first
        before = len(changes(client))
        again = run_import(client, rows, verbose=True)
        assert again["summary"] == {
            "Visitor": {"inserted": 0, "updated": 0, "unchanged": 2},
            "Vehicle": {"inserted": 0, "updated": 0, "unchanged": 1},
            "ExternalId": {"inserted": 0, "updated": 0, "unchanged": 1},
        }
        assert {op["operation"] for op in again["operations"]} == {"unchanged"}
        assert len(changes(client)) == before

    def test_a_changed_value_updates_the_matched_record(self, client: TestClient, session: Session) -> None:
        run_import(client, [visitor_row(1)])
        before = len(changes(client))
        report = run_import(client, [visitor_row(1, email=" ROW1@example.com ", first_name="Anne")])
        assert report["summary"]["Visitor"] == {"inserted": 0, "updated": 1, "unchanged": 0}
        assert session.scalars(select(Visitor.first_name)).one() == "Anne"
        assert len(changes(client)) == before + 1

    def test_errors_name_the_row_and_the_outside_field(self, writer: TestClient) -> None:
        rows = [visitor_row(0, last_name=""), visitor_row(1, email="not-an-email"), visitor_row(2)]
        report = run_import(writer, rows)
        errors = {e["index"]: e for e in report["errors"]}
        assert errors[0]["field"] == "last_name"
        assert "required to create a Visitor" in errors[0]["message"]
        assert errors[1]["field"] == "email"
        assert errors[1]["message"].startswith("email: ")
        assert 2 not in errors

    def test_out_template_is_400(self, writer: TestClient) -> None:
        response = writer.post("/integration/visitors-export", json={"model": [visitor_row(1)]})
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == "template"

    def test_unknown_template_is_404(self, writer: TestClient) -> None:
        response = writer.post("/integration/nope", json={"model": []})
        assert response.status_code == 404
        assert response.json()["errors"][0]["field"] == "template"

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({}, "model"),
            ({"model": [1, 2]}, "model[0]"),
            ({"model": [], "simulate": "maybe"}, "simulate"),
            ({"model": [], "dryRun": True}, "dryRun"),
        ],
    )
    def test_bad_bodies_use_the_error_envelope(
        self, writer: TestClient, body: dict[str, Any], field: str
    ) -> None:
        response = writer.post("/integration/visitors-import", json=body)
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == field

    def test_malformed_json_is_400(self, writer: TestClient) -> None:
        response = writer.post(
            "/integration/visitors-import",
            content=b'{"model": [',
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code == 400
        assert response.json()["errors"][0]["code"] == "malformed_json"


# Exports --------------------------------------------------------------------------------------------


def age(session: Session, model: Any, when: datetime, *where: Any) -> None:
    """Move records' update dates into the past, as if they had been written then."""
    session.execute(update(model).where(*where).values(update_date=when, creation_date=when))
    session.commit()


class TestExport:
    def test_all_rows_without_since(self, client: TestClient, reader: TestClient) -> None:
        one = create_visitor(client, email="one@example.com")
        create_vehicle(client, one["visitorId"], licensePlate="P-1")
        create_vehicle(client, one["visitorId"], licensePlate="P-2")
        create_visitor(client, email="two@example.com")
        response = reader.get("/integration/visitors-export")
        assert response.status_code == 200
        body = response.json()
        pairs = sorted((row["email"], row["license_plate"] or "") for row in body["data"])
        assert pairs == [("one@example.com", "P-1"), ("one@example.com", "P-2"), ("two@example.com", "")]
        assert "next" not in body["metadata"]["_links"]
        assert body["metadata"]["version"] == 1
        row = next(r for r in body["data"] if r["email"] == "two@example.com")
        assert row["visitor_id"] == next(
            v["visitorId"] for v in client.get("/visitors").json()["data"] if v["email"] == "two@example.com"
        )

    def test_nested_outside_names(self, client: TestClient, reader: TestClient) -> None:
        assert put(client, "crm-export", crm_export()).status_code == 201
        visitor = create_visitor(client, email="n@example.com", lastName="Smith")
        create_vehicle(client, visitor["visitorId"], licensePlate="N-1")
        data = reader.get("/integration/crm-export").json()["data"]
        assert data == [{"contact": {"email": "n@example.com"}, "name": "SMITH", "car": {"plate": "N-1"}}]

    @pytest.mark.parametrize(
        "since", ["20210101000000", "2021-01-01T00:00:00Z", "2021-01-01T01:00:00+01:00", "2021-01-01"]
    )
    def test_since_keeps_rows_changed_after_it(
        self, client: TestClient, reader: TestClient, session: Session, since: str
    ) -> None:
        old = create_visitor(client, email="old@example.com")
        touched = create_visitor(client, email="touched@example.com")
        create_vehicle(client, touched["visitorId"], licensePlate="T-1")
        create_visitor(client, email="new@example.com")
        long_ago = datetime(2020, 6, 1, tzinfo=UTC)
        age(session, Visitor, long_ago, Visitor.email.in_(["old@example.com", "touched@example.com"]))
        age(session, Vehicle, long_ago)
        response = reader.get("/integration/visitors-export", params={"since": since})
        assert response.status_code == 200, response.text
        assert {r["email"] for r in response.json()["data"]} == {"new@example.com"}

        # A row counts as changed when any entity feeding it changed: here the vehicle only.
        session.execute(update(Vehicle).values(update_date=datetime(2022, 1, 1, tzinfo=UTC)))
        session.commit()
        exported = reader.get("/integration/visitors-export", params={"since": since}).json()["data"]
        assert {r["email"] for r in exported} == {"new@example.com", "touched@example.com"}
        assert old["email"] not in {r["email"] for r in exported}

    def test_a_deleted_child_counts_as_a_change(
        self, client: TestClient, reader: TestClient, session: Session
    ) -> None:
        kept = create_visitor(client, email="kept@example.com")
        create_external_id(client, kept["visitorId"], externalId="crm-kept")
        lost = create_visitor(client, email="lost@example.com")
        create_external_id(client, lost["visitorId"], externalId="crm-lost")
        long_ago = datetime(2020, 6, 1, tzinfo=UTC)
        age(session, Visitor, long_ago)
        age(session, ExternalId, long_ago)
        since = {"since": "20210101000000"}
        assert reader.get("/integration/visitors-export", params=since).json()["data"] == []

        deleted = client.delete(f"/visitors/{lost['visitorId']}/external-ids/designa")
        assert deleted.status_code == 204, deleted.text
        exported = reader.get("/integration/visitors-export", params=since).json()["data"]
        assert [(r["email"], r["external_id"]) for r in exported] == [("lost@example.com", None)]

        # Paged: the row appears once, on the page its visitor's id falls on.
        emails: list[str] = []
        url: str | None = "/integration/visitors-export?limit=1&since=20210101000000"
        while url:
            body = reader.get(url).json()
            emails += [r["email"] for r in body["data"]]
            url = body["metadata"]["_links"].get("next")
        assert emails == ["lost@example.com"]

        # A deletion before `since` is no change after it.
        session.execute(update(ChangeLogEntry).values(occurred_at=long_ago))
        session.commit()
        assert reader.get("/integration/visitors-export", params=since).json()["data"] == []

    def test_cursor_pages_through_everything_once(self, client: TestClient, reader: TestClient) -> None:
        expected = {create_visitor(client)["email"] for _ in range(7)}
        seen: list[str] = []
        url: str | None = "/integration/visitors-export?limit=3&since=20000101000000"
        pages = 0
        while url:
            response = reader.get(url)
            assert response.status_code == 200, response.text
            body = response.json()
            seen += [row["email"] for row in body["data"]]
            assert len(body["data"]) <= 3
            url = body["metadata"]["_links"].get("next")
            if url:
                assert "cursor=" in url
                assert "since=20000101000000" in url
            pages += 1
        assert pages == 3
        assert sorted(seen) == sorted(expected)

    def test_in_template_is_400(self, reader: TestClient) -> None:
        response = reader.get("/integration/visitors-import")
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == "template"

    def test_unknown_template_is_404(self, reader: TestClient) -> None:
        assert reader.get("/integration/nope").status_code == 404

    @pytest.mark.parametrize("since", ["yesterday", "2021-13-01", "202101010000"])
    def test_invalid_since_is_400_naming_it(self, reader: TestClient, since: str) -> None:
        response = reader.get("/integration/visitors-export", params={"since": since})
        assert response.status_code == 400
        error = response.json()["errors"][0]
        assert error["field"] == "since"
        assert "yyyyMMddHHmmss" in error["message"]

    def test_invalid_cursor_is_400_naming_it(self, reader: TestClient) -> None:
        response = reader.get("/integration/visitors-export", params={"cursor": "not-a-cursor"})
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == "cursor"

    @pytest.mark.parametrize("limit", [0, 5001])
    def test_limit_bounds(self, reader: TestClient, limit: int) -> None:
        response = reader.get("/integration/visitors-export", params={"limit": limit})
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "limit"

    def test_unknown_parameter_is_400(self, reader: TestClient) -> None:
        response = reader.get("/integration/visitors-export", params={"from": "2021"})
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == "from"

    def test_export_reimports_as_unchanged(self, client: TestClient, session: Session) -> None:
        """visitors-export and visitors-import share their column names: a round trip changes nothing."""
        visitor = create_visitor(client, email="round@example.com")
        create_vehicle(client, visitor["visitorId"], licensePlate="R-1")
        rows = client.get("/integration/visitors-export").json()["data"]
        report = run_import(client, rows)
        assert report["failed"] == 0, report
        assert report["summary"]["Visitor"] == {"inserted": 0, "updated": 0, "unchanged": 1}
        assert report["summary"]["Vehicle"] == {"inserted": 0, "updated": 0, "unchanged": 1}


def test_saved_rows_are_stored_as_native_spec(client: TestClient, session: Session) -> None:
    put(client, "planning-import", SEED_XML, "application/xml")
    row = session.get(IntegrationTemplate, "planning-import")
    assert row is not None
    assert (row.direction, row.source_format, row.source) == ("in", "xml", SEED_XML)
    assert row.spec["entities"][0]["key"] == ["email"]
    assert "builtin" not in row.spec
    assert count(session, ChangeLogEntry) == 0  # templates are configuration, not logged entities
