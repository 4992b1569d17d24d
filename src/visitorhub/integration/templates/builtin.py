"""The templates that ship with visitorhub (builtin/*.yaml): listed with builtin=true, read-only."""

from __future__ import annotations

from functools import cache
from importlib import resources

from visitorhub.integration.templates.loaders import load_template
from visitorhub.integration.templates.spec import Template


@cache
def builtin_templates() -> dict[str, Template]:
    """Name -> template, each file validated like a user's template (a broken one fails loudly here)."""
    folder = resources.files("visitorhub.integration.templates") / "builtin"
    templates: dict[str, Template] = {}
    for item in sorted(folder.iterdir(), key=lambda entry: entry.name):
        if not item.name.endswith(".yaml"):
            continue
        name = item.name.removesuffix(".yaml")
        template = load_template(item.read_text(encoding="utf-8"), "yaml", name=name)
        templates[name] = template.model_copy(update={"builtin": True})
    return templates
