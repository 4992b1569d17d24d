"""Reading templates: JSON, YAML, the seed's XML form (with the Key and Transform extensions), safely."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from visitorhub.integration.templates.loaders import dump_template, format_of, load_template
from visitorhub.integration.templates.spec import TemplateError

NATIVE: dict[str, Any] = {
    "name": "crm-visitors",
    "direction": "in",
    "description": "Visitors from the CRM",
    "entities": [
        {
            "type": "Visitor",
            "key": ["email"],
            "defaults": {"countryCode": "FR"},
            "fields": [
                {"source": "Email", "field": "email", "transforms": ["trim", "lower"]},
                {"source": "Nom usage", "field": "lastName"},
                {"source": "contact.phone", "field": "phone"},
            ],
        },
        {
            "type": "Vehicle",
            "insert": True,
            "update": False,
            "key": ["licensePlate"],
            "fields": [{"source": "Plaque", "field": "licensePlate", "transforms": ["upper"]}],
        },
    ],
}

SEED_XML = """
<In Name="crm-visitors" Description="Visitors from the CRM">
  <Type Name="Visitor" ShouldInsert="true" ShouldUpdate="true" Key="email">
    <Default Field="countryCode" Value="FR" />
  </Type>
  <Property Name="Email" Type="Visitor" Field="email" Transform="trim, lower" />
  <Property Name="Nom usage" Type="Visitor" Field="lastName" />
  <Property Name="contact.phone" Type="Visitor" Field="phone" />
  <Type Name="Vehicle" ShouldInsert="true" ShouldUpdate="false" Key="licensePlate" />
  <Property Name="Plaque" Type="Vehicle" Field="licensePlate" Transform="upper" />
</In>
"""


class TestNativeFormats:
    def test_json(self) -> None:
        template = load_template(json.dumps(NATIVE), "json")
        assert template.name == "crm-visitors"
        assert template.direction == "in"
        assert template.description == "Visitors from the CRM"
        visitor, vehicle = template.entities
        assert (visitor.type, visitor.key, visitor.defaults) == ("Visitor", ["email"], {"countryCode": "FR"})
        assert [(f.source, f.field) for f in visitor.fields] == [
            ("Email", "email"),
            ("Nom usage", "lastName"),
            ("contact.phone", "phone"),
        ]
        assert [t.name for t in visitor.fields[0].transforms] == ["trim", "lower"]
        assert (vehicle.insert, vehicle.update) == (True, False)

    def test_yaml_reads_the_same(self) -> None:
        assert load_template(yaml.safe_dump(NATIVE), "yaml") == load_template(json.dumps(NATIVE), "json")

    def test_yaml_block_style(self) -> None:
        text = """
name: plates
direction: in
entities:
  - type: Visitor
    key: email
    fields:
      - source: mail
        field: email
        transforms: [trim]
      - source: seen
        field: lastVisitDate
        transforms:
          - name: trim
          - date: {format: "%d/%m/%Y"}
"""
        template = load_template(text, "yaml")
        (visitor,) = template.entities
        assert visitor.key == ["email"]
        assert [(t.name, t.args) for t in visitor.fields[1].transforms] == [
            ("trim", {}),
            ("date", {"format": "%d/%m/%Y"}),
        ]

    def test_dump_reads_back(self) -> None:
        template = load_template(json.dumps(NATIVE), "json")
        dumped = dump_template(template)
        assert "builtin" not in dumped
        assert load_template(json.dumps(dumped), "json") == template
        assert load_template(yaml.safe_dump(dumped), "yaml") == template


class TestXml:
    def test_seed_form_with_key_and_transform(self) -> None:
        assert load_template(SEED_XML, "xml") == load_template(json.dumps(NATIVE), "json")

    def test_issue_example(self) -> None:
        text = (
            '<In><Type Name="Visitor" ShouldInsert="true" ShouldUpdate="true" Key="email">'
            '<Default Field="countryCode" Value="FR"/></Type>'
            '<Property Name="Nom usage" Type="Visitor" Field="lastName"/>'
            '<Property Name="Email" Type="Visitor" Field="email"/></In>'
        )
        template = load_template(text, "xml", name="seed")
        (visitor,) = template.entities
        assert (template.name, template.direction) == ("seed", "in")
        assert (visitor.insert, visitor.update, visitor.key) == (True, True, ["email"])
        assert visitor.defaults == {"countryCode": "FR"}
        assert [(f.source, f.field) for f in visitor.fields] == [
            ("Nom usage", "lastName"),
            ("Email", "email"),
        ]

    def test_key_lists_several_fields(self) -> None:
        text = """<In Name="ids">
          <Type Name="Visitor" Key="email"/>
          <Property Name="mail" Type="Visitor" Field="email"/>
          <Type Name="ExternalId" Key="externalType, externalId"/>
          <Property Name="kind" Type="ExternalId" Field="externalType"/>
          <Property Name="ref" Type="ExternalId" Field="externalId"/>
        </In>"""
        template = load_template(text, "xml")
        assert template.entities[1].key == ["externalType", "externalId"]

    def test_switches_default_to_true_and_property_may_come_first(self) -> None:
        text = """<In Name="x">
          <Property Name="mail" Type="Visitor" Field="email"/>
          <Type Name="Visitor" Key="email"/>
        </In>"""
        (visitor,) = load_template(text, "xml").entities
        assert (visitor.insert, visitor.update) == (True, True)
        assert [f.field for f in visitor.fields] == ["email"]

    def test_insert_only_needs_no_key(self) -> None:
        text = '<In Name="x"><Type Name="Visitor" ShouldUpdate="False"/><Property Name="m" Type="Visitor" Field="email"/></In>'
        (visitor,) = load_template(text, "xml").entities
        assert (visitor.update, visitor.key) == (False, [])

    def test_export(self) -> None:
        text = """<Out Name="visitors-out">
          <Type Name="Visitor"/>
          <Property Name="contact.email" Type="Visitor" Field="email" Transform="upper"/>
          <Property Name="id" Type="Visitor" Field="visitorId"/>
          <Type Name="Vehicle"/>
          <Property Name="plate" Type="Vehicle" Field="licensePlate"/>
        </Out>"""
        template = load_template(text, "xml")
        assert template.direction == "out"
        assert [e.type for e in template.entities] == ["Visitor", "Vehicle"]
        assert [f.source for f in template.entities[0].fields] == ["contact.email", "id"]

    def test_an_entity_is_validated_like_any_template(self) -> None:
        text = '<In Name="x"><Type Name="Customer" Key="email"/></In>'
        with pytest.raises(TemplateError) as caught:
            load_template(text, "xml")
        assert caught.value.element == "entities[0].type"
        assert caught.value.message.startswith("unknown entity 'Customer'")

    def test_unknown_transform_in_the_attribute(self) -> None:
        text = '<In Name="x"><Type Name="Visitor" Key="email"/><Property Name="m" Type="Visitor" Field="email" Transform="trim,shout"/></In>'
        with pytest.raises(TemplateError) as caught:
            load_template(text, "xml")
        assert caught.value.element == "entities[0].fields[0].transforms[1]"
        assert "unknown transform 'shout'" in caught.value.message


class TestName:
    def test_name_argument_wins_in_json_and_yaml(self) -> None:
        assert load_template(json.dumps(NATIVE), "json", name="from-url").name == "from-url"
        assert load_template(yaml.safe_dump(NATIVE), "yaml", name="from-file").name == "from-file"

    def test_name_argument_wins_in_xml(self) -> None:
        assert load_template(SEED_XML, "xml", name="other").name == "other"

    def test_name_argument_supplies_a_missing_name(self) -> None:
        raw = {k: v for k, v in NATIVE.items() if k != "name"}
        assert load_template(json.dumps(raw), "json", name="given").name == "given"

    def test_no_name_at_all(self) -> None:
        with pytest.raises(TemplateError) as caught:
            load_template(SEED_XML.replace('Name="crm-visitors" ', ""), "xml")
        assert caught.value.element == "name"

    def test_invalid_name_argument(self) -> None:
        with pytest.raises(TemplateError) as caught:
            load_template(json.dumps(NATIVE), "json", name="../etc/passwd")
        assert caught.value.element == "name"
        assert "String should match pattern" in caught.value.message


# Each of these must be refused before anything is expanded or fetched.
HOSTILE_XML = {
    "internal entity": '<!DOCTYPE In [<!ENTITY n "Visitor">]><In Name="x"><Type Name="&n;"/></In>',
    "billion laughs": (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        '<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">'
        '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
        '<In Name="x"><Property Name="&lol3;" Type="Visitor" Field="email"/></In>'
    ),
    "external entity (XXE)": (
        '<?xml version="1.0"?><!DOCTYPE In [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        '<In Name="x"><Property Name="&xxe;" Type="Visitor" Field="email"/></In>'
    ),
    "external DTD": '<?xml version="1.0"?><!DOCTYPE In SYSTEM "http://127.0.0.1:1/t.dtd"><In Name="x"/>',
    "parameter entity": (
        '<?xml version="1.0"?><!DOCTYPE In [<!ENTITY % p SYSTEM "http://127.0.0.1:1/p.dtd"> %p;]><In Name="x"/>'
    ),
}


@pytest.mark.parametrize("text", HOSTILE_XML.values(), ids=HOSTILE_XML.keys())
def test_hostile_xml_is_refused(text: str) -> None:
    with pytest.raises(TemplateError) as caught:
        load_template(text, "xml")
    assert caught.value.element == "xml"
    assert "refused" in caught.value.message
    assert "DTDs, entities and external references are not allowed" in caught.value.message


def test_yaml_aliases_are_refused() -> None:
    # YAML's billion laughs: nested aliases expand exponentially once the template is dumped as JSON.
    levels = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    text = "name: bomb\ndirection: in\nentities:\n  - type: Visitor\n    key: [email]\n    fields:\n"
    text += "      - source: m\n        field: email\n        transforms:\n          - map:\n              table:\n"
    text += "".join(f"                {line}\n" for line in levels)
    with pytest.raises(TemplateError) as caught:
        load_template(text, "yaml")
    assert caught.value.element == "template"
    assert "aliases (*name) are not allowed" in caught.value.message


MALFORMED: list[tuple[str, str, str, str, str]] = [
    # (case, format, text, element, message fragment)
    ("JSON syntax", "json", '{"name": "x",', "template", "not valid JSON"),
    ("JSON array", "json", "[]", "template", "a JSON template is an object with name, direction, entities"),
    ("YAML syntax", "yaml", "name: [x\n", "template", "not valid YAML"),
    ("YAML scalar", "yaml", "just text", "template", "a YAML template is an object"),
    ("empty YAML", "yaml", "", "template", "a YAML template is an object"),
    ("XML syntax", "xml", "<In><Type Name='Visitor'></In>", "xml", "not valid XML"),
    ("XML root", "xml", "<Template/>", "xml", "the root element must be <In> or <Out>, not <Template>"),
    (
        "XML unknown element",
        "xml",
        '<In Name="x"><Type Name="Visitor"/><Field Name="a"/></In>',
        "In/Field[1]",
        "unknown element <Field>; expected <Type> or <Property>",
    ),
    (
        "XML element inside Type",
        "xml",
        '<Out Name="x"><Type Name="Visitor"><Key Field="email"/></Type></Out>',
        "Out/Type[0]/Key",
        "only <Default Field Value/> may appear in <Type>",
    ),
    (
        "XML Type without Name",
        "xml",
        '<In Name="x"><Type Key="email"/></In>',
        "In/Type[0]@Name",
        "<Type> needs a Name",
    ),
    (
        "XML Property without Field",
        "xml",
        '<In Name="x"><Type Name="Visitor"/><Property Name="a" Type="Visitor"/></In>',
        "In/Property[1]@Field",
        "<Property> needs a Field attribute",
    ),
    (
        "XML Property without Type",
        "xml",
        '<In Name="x"><Property Name="a" Field="email"/></In>',
        "In/Property[0]@Type",
        "<Property> needs a Type attribute",
    ),
    (
        "XML Default without Field",
        "xml",
        '<In Name="x"><Type Name="Visitor"><Default Value="FR"/></Type></In>',
        "In/Type[0]/Default@Field",
        "<Default> needs a Field attribute",
    ),
    (
        "XML switch that is not a boolean",
        "xml",
        '<In Name="x"><Type Name="Visitor" ShouldUpdate="yes"/></In>',
        "In/Type[0]@ShouldUpdate",
        "'yes' is not true or false",
    ),
]


@pytest.mark.parametrize(
    ("case", "fmt", "text", "element", "fragment"), MALFORMED, ids=[m[0] for m in MALFORMED]
)
def test_malformed_input_names_the_element(
    case: str, fmt: Any, text: str, element: str, fragment: str
) -> None:
    with pytest.raises(TemplateError) as caught:
        load_template(text, fmt)
    assert caught.value.element == element
    assert fragment in caught.value.message


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("application/json", "json"),
        ("application/yaml", "yaml"),
        ("text/x-yaml", "yaml"),
        ("application/xml; charset=utf-8", "xml"),
        ("text/xml", "xml"),
        ("template.JSON", "json"),
        ("template.yml", "yaml"),
        ("template.xml", "xml"),
    ],
)
def test_format_of(given: str, expected: str) -> None:
    assert format_of(given) == expected


def test_format_of_refuses_others() -> None:
    with pytest.raises(TemplateError) as caught:
        format_of("text/csv")
    assert caught.value.element == "format"
    assert "use JSON, YAML or XML" in caught.value.message
