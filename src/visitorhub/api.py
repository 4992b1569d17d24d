"""Every router of the service, in the order they are matched."""

from __future__ import annotations

from functools import cache

from fastapi import APIRouter

from visitorhub.domains.centers import resources as centers
from visitorhub.domains.vehicles import resources as vehicles
from visitorhub.domains.visitors import resources as visitors
from visitorhub.integration.streams import endpoints as streams
from visitorhub.integration.templates import endpoints as templates
from visitorhub.system import endpoints as system
from visitorhub.system import metrics


@cache
def build_api_router() -> APIRouter:
    """Built once per process: routes hold no state (they read app.state per request)."""
    router = APIRouter()
    router.include_router(system.router)
    router.include_router(metrics.router)
    router.include_router(visitors.build_router())
    router.include_router(vehicles.router)
    router.include_router(centers.router)
    # Before templates: their `/integration/{template}` would otherwise match `/integration/subscriptions`.
    router.include_router(streams.router)
    router.include_router(templates.router)
    return router
