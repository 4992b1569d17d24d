"""Routes are matched static-before-parameterised, whatever order their routers list them in."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from visitorhub.core.router import route_order


def test_a_literal_segment_wins_over_a_parameter_declared_first() -> None:
    router = APIRouter()

    @router.get("/things/{thingId}")
    def one_thing(thingId: str) -> dict[str, str]:
        return {"route": "item", "id": thingId}

    @router.get("/things/count")
    def count_things() -> dict[str, str]:
        return {"route": "count"}

    @router.get("/things/{thingId}/parts/{partId}")
    def one_part(thingId: str, partId: str) -> dict[str, str]:
        return {"route": "part"}

    @router.get("/things/{thingId}/parts/summary")
    def parts_summary(thingId: str) -> dict[str, str]:
        return {"route": "summary"}

    ordered = APIRouter()
    ordered.routes.extend(route_order(router.routes))
    app = FastAPI()
    app.include_router(ordered)
    client = TestClient(app)
    assert client.get("/things/count").json() == {"route": "count"}
    assert client.get("/things/7").json() == {"route": "item", "id": "7"}
    assert client.get("/things/7/parts/summary").json() == {"route": "summary"}
    assert client.get("/things/7/parts/3").json() == {"route": "part"}
    assert [r.path for r in route_order(router.routes)][:2] == ["/things/count", "/things/{thingId}"]
