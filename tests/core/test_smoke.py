"""The app boots on a migrated database and serves its public health check."""

from fastapi.testclient import TestClient

from tests.factories import changes, create_visitor


def test_health_is_public(anon: TestClient) -> None:
    response = anon.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_create_visitor_is_logged(client: TestClient) -> None:
    visitor = create_visitor(client)
    log = changes(client, entity="Visitor")
    assert [(c["entityId"], c["operation"]) for c in log] == [(visitor["visitorId"], "create")]
