"""A field declared as a reference (a visitor's acquisitionPcCode, a visitor-centre's pcCode) must name an
existing record: a 422 naming the field through the API, a failed row naming its column through imports."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.orm import Session

from tests.factories import create_visitor, partial_visitor_body, visitor_body
from visitorhub.domains.visitors.resources import visitor_service


def _error(response: Any) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    return response.json()["errors"][0]  # type: ignore[no-any-return]


def test_a_visitor_must_be_acquired_by_an_existing_centre(client: TestClient) -> None:
    error = _error(client.post("/visitors", json=visitor_body(acquisitionPcCode="NO-SUCH-1")))
    assert (error["field"], error["code"]) == ("acquisitionPcCode", "unknown_reference")
    assert "NO-SUCH-1" in error["message"]
    assert client.get("/visitors", params={"acquisitionPcCode": "NO-SUCH-1"}).json()["data"] == []


def test_a_partial_visitors_preferred_centre_must_exist(client: TestClient) -> None:
    error = _error(client.post("/visitors/partial", json=partial_visitor_body(preferredCenter="NO-SUCH-2")))
    assert error["field"] == "acquisitionPcCode"


def test_a_visitor_centre_must_name_an_existing_centre(client: TestClient) -> None:
    visitor = create_visitor(client)
    url = f"/visitors/{visitor['visitorId']}/centers"
    for method in ("post", "put"):
        error = _error(client.request(method, url, json={"pcCode": "NO-SUCH-3", "isFavorite": True}))
        assert (error["field"], error["code"]) == ("pcCode", "unknown_reference")
    assert client.post(url, json={"pcCode": "FR-SC-2", "isFavorite": True}).status_code == 201


def test_an_imported_row_naming_an_unknown_centre_fails_alone(client: TestClient) -> None:
    rows = [
        {"email": f"ref{i}@example.com", "first_name": "Ann", "last_name": "Lee", "gender": "f",
         "country_code": "FR", "center": center}
        for i, center in enumerate(["FR-SC-1", "NO-SUCH-4", "FR-SC-2"])
    ]  # fmt: skip
    report = client.post("/integration/visitors-import", json={"model": rows}).json()["data"]
    assert report["failed"] == 1
    assert report["errors"][0]["index"] == 1
    assert report["errors"][0]["field"] == "center"
    assert "NO-SUCH-4" in report["errors"][0]["message"]
    assert report["summary"]["Visitor"]["inserted"] == 2


def test_a_batch_looks_references_up_once(session: Session) -> None:
    """The batch path checks the references of a whole chunk in one query."""
    candidates = [{"acquisition_pc_code": code} for code in ["FR-SC-1", "FR-SC-2", "FR-SC-1", "NO-SUCH-5"]]
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    with visitor_service.batch(session, candidates):
        event.listen(session.get_bind(), "before_cursor_execute", seen)
        try:
            for values in candidates[:3]:
                visitor_service.check_references(session, values)
        finally:
            event.remove(session.get_bind(), "before_cursor_execute", seen)
    assert statements == []
