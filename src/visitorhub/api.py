"""Every route of the service: the system's, each declared resource's, each family's own operations and
the integration routes; matched static-before-parameterised whatever order they are listed in."""

from __future__ import annotations

from functools import cache

from fastapi import APIRouter

from visitorhub.core.router import resource_router, route_order
from visitorhub.domains import all_resources, endpoint_routers
from visitorhub.integration.channels import endpoints as channels
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
    for family_router in endpoint_routers():
        router.include_router(family_router)
    for resource in all_resources().values():
        if resource.operations:
            router.include_router(resource_router(resource))
    router.include_router(streams.router)
    router.include_router(channels.router)
    router.include_router(templates.router)
    router.routes[:] = route_order(router.routes)
    return router
