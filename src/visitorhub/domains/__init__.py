"""One folder per part of the Visitor API. FAMILIES is the one list of them: importing a family's
`resources` module declares its resources (core.resource.REGISTRY), and its optional `endpoints` module
holds the operations that are not plain CRUD."""

from __future__ import annotations

import importlib
from functools import cache

from fastapi import APIRouter

from visitorhub.core.resource import REGISTRY, Resource, declare_all_with

FAMILIES = (
    "visitors",
    "vehicles",
    "centers",
    "optins",
    "locales",
    "bookmarks",
    "devices",
    "credit_cards",
    "checkins",
    "parkings",
    "rewards",
    "interests",
    "vehicle_partners",
    "smartparking",
    "services",
    "center_companies",
    "operation_sessions",
    "legal_texts",
    "challenges",
    "articles",
)


@cache
def _load() -> None:
    for family in FAMILIES:
        importlib.import_module(f"visitorhub.domains.{family}.resources")


declare_all_with(_load)  # importing any family imports this package first


def all_resources() -> dict[str, Resource]:
    """Every declared resource by its plural API name."""
    _load()
    return dict(REGISTRY)


def endpoint_routers() -> list[APIRouter]:
    """The families' hand-written operations."""
    _load()
    routers: list[APIRouter] = []
    for family in FAMILIES:
        try:
            module = importlib.import_module(f"visitorhub.domains.{family}.endpoints")
        except ModuleNotFoundError as exc:
            if exc.name != f"visitorhub.domains.{family}.endpoints":
                raise
            continue
        routers.extend(getattr(module, "routers", None) or [module.router])
    return routers
