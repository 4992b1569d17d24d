"""Read a template from JSON, YAML or the seed's XML form, and validate it once (shape, then entities)."""

from __future__ import annotations

import json
from typing import Any, Literal
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET
import yaml
from defusedxml import DefusedXmlException
from pydantic import ValidationError

from visitorhub.integration.templates.entities import validate_template
from visitorhub.integration.templates.spec import Template, TemplateError

Format = Literal["json", "yaml", "xml"]
_TRUE = {"true": True, "false": False}


class _NoAliasLoader(yaml.SafeLoader):
    """yaml.safe_load without aliases: a template has no use for them, and nested aliases expand
    exponentially (YAML's "billion laughs") once the template is stored or shown as JSON."""

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError(
                None,
                None,
                "aliases (*name) are not allowed in a template",
                self.peek_event().start_mark,  # type: ignore[no-untyped-call]
            )
        return super().compose_node(parent, index)


def format_of(name_or_type: str) -> Format:
    """The format for a file name (by extension) or a Content-Type."""
    lowered = name_or_type.lower()
    if "xml" in lowered:
        return "xml"
    if "yaml" in lowered or "yml" in lowered:
        return "yaml"
    if "json" in lowered:
        return "json"
    raise TemplateError("format", f"unsupported template format '{name_or_type}': use JSON, YAML or XML")


def load_template(text: str, fmt: Format, name: str | None = None) -> Template:
    """Parse and validate; `name` (e.g. from the URL or the file name) wins over a name in the text."""
    raw = _parse(text, fmt, name)
    if name is not None:
        raw["name"] = name
    try:
        template = Template.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise TemplateError(_element(err["loc"]), err["msg"]) from None
    return validate_template(template)


def _element(loc: tuple[int | str, ...]) -> str:
    """("entities", 0, "fields", 1, "source") -> "entities[0].fields[1].source", as validate_template names it."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "template"


def _parse(text: str, fmt: Format, name: str | None) -> dict[str, Any]:
    if fmt == "xml":
        return _from_xml(text, name)
    try:
        data = json.loads(text) if fmt == "json" else yaml.load(text, Loader=_NoAliasLoader)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise TemplateError("template", f"not valid {fmt.upper()}: {exc}") from None
    if not isinstance(data, dict):
        raise TemplateError(
            "template", f"a {fmt.upper()} template is an object with name, direction, entities"
        )
    return data


def _from_xml(text: str, name: str | None) -> dict[str, Any]:
    """The seed's form: <In>|<Out> with <Type Name ShouldInsert ShouldUpdate Key><Default Field Value/></Type>
    and <Property Name Type Field [Transform]/>. Entities, DTDs and external references are refused."""
    try:
        root: Element = SafeET.fromstring(text, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise TemplateError(
            "xml", f"refused: {type(exc).__name__} (DTDs, entities and external references are not allowed)"
        ) from None
    except SafeET.ParseError as exc:
        raise TemplateError("xml", f"not valid XML: {exc}") from None
    if root.tag not in ("In", "Out"):
        raise TemplateError("xml", f"the root element must be <In> or <Out>, not <{root.tag}>")
    entities: dict[str, dict[str, Any]] = {}
    for position, element in enumerate(root):
        where = f"{root.tag}/{element.tag}[{position}]"
        if element.tag == "Type":
            type_name = _attr(element, "Name", where)
            entity = entities.setdefault(type_name, {"type": type_name, "fields": []})
            entity["insert"] = _bool(element.get("ShouldInsert", "true"), f"{where}@ShouldInsert")
            entity["update"] = _bool(element.get("ShouldUpdate", "true"), f"{where}@ShouldUpdate")
            if element.get("Key"):
                entity["key"] = element.get("Key")
            for default in element:
                if default.tag != "Default":
                    raise TemplateError(
                        f"{where}/{default.tag}", "only <Default Field Value/> may appear in <Type>"
                    )
                field = _attr(default, "Field", f"{where}/Default")
                entity.setdefault("defaults", {})[field] = default.get("Value")
        elif element.tag == "Property":
            type_name = _attr(element, "Type", where)
            entity = entities.setdefault(type_name, {"type": type_name, "fields": []})
            fmap: dict[str, Any] = {
                "source": _attr(element, "Name", where),
                "field": _attr(element, "Field", where),
            }
            if element.get("Transform"):
                fmap["transforms"] = [
                    t.strip() for t in (element.get("Transform") or "").split(",") if t.strip()
                ]
            entity["fields"].append(fmap)
        else:
            raise TemplateError(where, f"unknown element <{element.tag}>; expected <Type> or <Property>")
    return {
        "name": name or root.get("Name") or "",
        "direction": "in" if root.tag == "In" else "out",
        "description": root.get("Description", ""),
        "entities": list(entities.values()),
    }


def _attr(element: Element, name: str, where: str) -> str:
    value = element.get(name)
    if not value:
        raise TemplateError(f"{where}@{name}", f"<{element.tag}> needs a {name} attribute")
    return value


def _bool(value: str, where: str) -> bool:
    if value.lower() not in _TRUE:
        raise TemplateError(where, f"'{value}' is not true or false")
    return _TRUE[value.lower()]


def dump_template(template: Template) -> dict[str, Any]:
    """The native (JSON/YAML) form of a template."""
    return template.model_dump(mode="json", exclude={"builtin"})
