"""Every route of the service: the system's, each declared resource's, each family's own operations and
the integration routes; matched static-before-parameterised whatever order they are listed in."""

from __future__ import annotations

from functools import cache

from fastapi import APIRouter

from visitorhub.core.router import resource_router, route_order
from visitorhub.domains import all_resources, endpoint_routers
from visitorhub.integration.channels import endpoints as channels
from visitorhub.integration.connectors import endpoints as connectors
from visitorhub.integration.streams import endpoints as streams
from visitorhub.integration.templates import endpoints as templates
from visitorhub.system import endpoints as system
from visitorhub.system import metrics


@cache
def build_api_router() -> APIRouter:
    """Built once per process and served by every app (core.router.Router): routes hold no state
    (they read app.state per request). One flat list of routes (each router's own, with its prefix, tags
    and dependencies applied), so that they can be put in matching order."""
    parts = [
        system.router,
        metrics.router,
        *endpoint_routers(),
        *(resource_router(resource) for resource in all_resources().values() if resource.operations),
        streams.router,
        connectors.router,
        channels.router,
        templates.router,
    ]
    routes = [route for part in parts for route in part.routes]
    router = APIRouter()
    router.routes.extend(route_order(routes))
    return router
