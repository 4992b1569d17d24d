"""API keys: 401 / 403 rules, key management through /keys, keys stored hashed."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from tests.conftest import bearer
from tests.factories import center_body
from visitorhub.core import auth
from visitorhub.models import ApiKey


def _error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    errors = response.json()["errors"]
    assert len(errors) == 1
    return errors[0]  # type: ignore[no-any-return]


def _key_id(session: Session, plain: str) -> int:
    key_id = session.scalar(select(ApiKey.id).where(ApiKey.digest == auth.digest(plain)))
    assert key_id is not None
    return key_id


@pytest.fixture
def call(app: FastAPI) -> Any:
    """call(key, method, url, **kw): one request with the given key (or none)."""
    clients: list[TestClient] = []

    def _call(key: str | None, method: str, url: str, **kwargs: Any) -> Any:
        client = TestClient(app, raise_server_exceptions=False)
        clients.append(client)
        headers = bearer(key) if key is not None else {}
        return client.request(method, url, headers=headers, **kwargs)

    yield _call
    for client in clients:
        client.close()


# 401 ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "vh_nobearer"},
        {"Authorization": "Bearer vh_not-a-real-key"},
    ],
    ids=["none", "bearer-only", "bearer-empty", "basic", "no-scheme", "unknown-key"],
)
def test_missing_or_bad_key_is_401(anon: TestClient, headers: dict[str, str]) -> None:
    for method, url in (("GET", "/visitors"), ("POST", "/centers"), ("GET", "/changes"), ("GET", "/keys")):
        response = anon.request(
            method, url, headers=headers, json=center_body() if method == "POST" else None
        )
        error = _error(response, 401)
        assert error["type"] == "authentication_error"
        assert response.headers["www-authenticate"] == "Bearer"


def test_health_is_public(anon: TestClient) -> None:
    assert anon.get("/health").status_code == 200


def test_key_is_case_sensitive(call: Any, keys: dict[str, str]) -> None:
    assert call(keys["read"], "GET", "/centers").status_code == 200
    assert call(keys["read"].upper(), "GET", "/centers").status_code == 401
    assert call(keys["read"] + "x", "GET", "/centers").status_code == 401


def test_revoked_key_via_api_is_401(call: Any, keys: dict[str, str], session: Session) -> None:
    key_id = _key_id(session, keys["read"])
    assert call(keys["read"], "GET", "/centers").status_code == 200

    response = call(keys["admin"], "DELETE", f"/keys/{key_id}")
    assert response.status_code == 204, response.text
    assert response.content == b""
    listed = {k["id"]: k for k in call(keys["admin"], "GET", "/keys").json()["data"]}
    revoked_at = listed[key_id]["revokedAt"]
    assert revoked_at is not None

    error = _error(call(keys["read"], "GET", "/centers"), 401)
    assert error["type"] == "authentication_error"
    # Revoking again is a 204 too, and keeps the first revocation time.
    again = call(keys["admin"], "DELETE", f"/keys/{key_id}")
    assert again.status_code == 204
    listed = {k["id"]: k for k in call(keys["admin"], "GET", "/keys").json()["data"]}
    assert listed[key_id]["revokedAt"] == revoked_at


def test_the_last_active_admin_key_cannot_be_revoked(
    call: Any, keys: dict[str, str], session: Session
) -> None:
    admin_id = _key_id(session, keys["admin"])
    error = _error(call(keys["admin"], "DELETE", f"/keys/{admin_id}"), 409)
    assert error["field"] == "keyId"
    assert "last active admin key" in error["message"]
    assert "Create another admin key first" in error["message"]
    assert call(keys["admin"], "GET", "/keys").status_code == 200  # still works

    created = call(keys["admin"], "POST", "/keys", json={"name": "second-admin", "scope": "admin"})
    second = created.json()["data"]
    assert call(keys["admin"], "DELETE", f"/keys/{admin_id}").status_code == 204
    assert call(keys["admin"], "GET", "/keys").status_code == 401
    # Now the second one is the last.
    error = _error(call(second["key"], "DELETE", f"/keys/{second['id']}"), 409)
    assert str(second["id"]) in error["message"]
    # Read and write keys never count: revoking them is always allowed.
    assert call(second["key"], "DELETE", f"/keys/{_key_id(session, keys['write'])}").status_code == 204


def test_revoke_key_openapi_says_204_and_409(anon: TestClient) -> None:
    operation = anon.get("/openapi.json").json()["paths"]["/keys/{keyId}"]["delete"]
    assert "204" in operation["responses"]
    assert "200" not in operation["responses"]
    assert "409" in operation["responses"]


def test_revoked_key_via_service_is_401(call: Any, keys: dict[str, str], session: Session) -> None:
    assert call(keys["write"], "POST", "/centers", json=center_body()).status_code == 201
    auth.revoke_key(session, _key_id(session, keys["write"]))
    session.commit()
    assert call(keys["write"], "POST", "/centers", json=center_body()).status_code == 401
    assert call(keys["write"], "GET", "/centers").status_code == 401
    # Other keys are unaffected.
    assert call(keys["read"], "GET", "/centers").status_code == 200


def test_revoke_unknown_key_is_404(call: Any, keys: dict[str, str]) -> None:
    error = _error(call(keys["admin"], "DELETE", "/keys/987654321"), 404)
    assert error["type"] == "not_found"


def test_revoke_unknown_key_in_service_raises(session: Session) -> None:
    from visitorhub.errors import NotFound

    with pytest.raises(NotFound):
        auth.revoke_key(session, 987654321)


# 403 ----------------------------------------------------------------------------------------------


def test_read_key_cannot_write(call: Any, keys: dict[str, str]) -> None:
    created = call(keys["admin"], "POST", "/centers", json=center_body())
    assert created.status_code == 201
    center = created.json()["data"]
    for method, url, body in (
        ("POST", "/centers", center_body()),
        ("PATCH", f"/centers/{center['pcCode']}", {"label": "x"}),
        ("POST", "/visitors", {}),
    ):
        error = _error(call(keys["read"], method, url, json=body), 403)
        assert error["type"] == "permission_error"
        assert "write" in error["message"]
    assert (
        call(keys["read"], "GET", f"/centers/{center['pcCode']}").json()["data"]["label"] == center["label"]
    )


@pytest.mark.parametrize("scope", ["read", "write"])
def test_non_admin_cannot_use_system_routes(call: Any, keys: dict[str, str], scope: str) -> None:
    for method, url, body in (
        ("GET", "/changes", None),
        ("GET", "/keys", None),
        ("POST", "/keys", {"name": "sneaky", "scope": "admin"}),
        ("DELETE", "/keys/1", None),
    ):
        error = _error(call(keys[scope], method, url, json=body), 403)
        assert error["type"] == "permission_error"
    listed = call(keys["admin"], "GET", "/keys").json()["data"]
    assert "sneaky" not in {k["name"] for k in listed}


def test_write_key_reads_and_writes(call: Any, keys: dict[str, str]) -> None:
    assert call(keys["write"], "GET", "/centers").status_code == 200
    assert call(keys["write"], "POST", "/centers", json=center_body()).status_code == 201


def test_admin_can_read_and_write(call: Any, keys: dict[str, str]) -> None:
    response = call(keys["admin"], "POST", "/centers", json=center_body())
    assert response.status_code == 201
    pc_code = response.json()["data"]["pcCode"]
    assert call(keys["admin"], "PATCH", f"/centers/{pc_code}", json={"label": "y"}).status_code == 200
    assert call(keys["admin"], "GET", "/centers").status_code == 200
    assert call(keys["admin"], "GET", "/visitors").status_code == 200
    assert call(keys["admin"], "GET", "/changes").status_code == 200
    assert call(keys["admin"], "GET", "/keys").status_code == 200


# /keys --------------------------------------------------------------------------------------------


def test_create_key_returns_it_once(call: Any, keys: dict[str, str], session: Session) -> None:
    response = call(keys["admin"], "POST", "/keys", json={"name": "partner-x", "scope": "write"})
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    plain = data["key"]
    assert plain.startswith(auth.KEY_PREFIX)
    assert len(plain) > 40
    assert data["name"] == "partner-x"
    assert data["scope"] == "write"
    assert data["revokedAt"] is None
    assert plain.startswith(data["prefix"])
    assert "digest" not in data

    # It works with its scope.
    assert call(plain, "POST", "/centers", json=center_body()).status_code == 201
    assert call(plain, "GET", "/keys").status_code == 403

    # Never shown again.
    listed = call(keys["admin"], "GET", "/keys")
    assert listed.status_code == 200
    assert plain not in listed.text
    assert auth.digest(plain) not in listed.text
    rows = listed.json()["data"]
    mine = [row for row in rows if row["id"] == data["id"]]
    assert len(mine) == 1
    assert set(mine[0]) == {"id", "name", "scope", "prefix", "creationDate", "revokedAt"}
    assert {row["name"] for row in rows} >= {"partner-x", "test-read", "test-write", "test-admin"}
    for row in rows:
        assert "key" not in row
        assert "digest" not in row


def test_two_keys_differ(call: Any, keys: dict[str, str]) -> None:
    a = call(keys["admin"], "POST", "/keys", json={"name": "a", "scope": "read"}).json()["data"]
    b = call(keys["admin"], "POST", "/keys", json={"name": "a", "scope": "read"}).json()["data"]
    assert a["key"] != b["key"]
    assert a["id"] != b["id"]


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "scope": "root"},
        {"name": "x"},
        {"name": "", "scope": "read"},
        {"scope": "read"},
        {"name": "x", "scope": "read", "key": "vh_chosen"},
    ],
)
def test_create_key_validation(call: Any, keys: dict[str, str], body: dict[str, Any]) -> None:
    response = call(keys["admin"], "POST", "/keys", json=body)
    assert response.status_code == 422, response.text


def test_keys_are_stored_hashed(call: Any, keys: dict[str, str], session: Session) -> None:
    plain = call(keys["admin"], "POST", "/keys", json={"name": "hashed", "scope": "read"}).json()["data"][
        "key"
    ]
    all_plain = [plain, *keys.values()]
    rows = session.execute(text("SELECT * FROM api_key")).mappings().all()
    assert len(rows) >= 4
    for row in rows:
        for value in row.values():
            for key in all_plain:
                assert key not in str(value)
    digests = {row["digest"] for row in rows}
    for key in all_plain:
        assert auth.digest(key) in digests


def test_create_key_service_rejects_unknown_scope(session: Session) -> None:
    with pytest.raises(ValueError, match="scope"):
        auth.create_key(session, "x", "superuser")


def test_grants() -> None:
    assert auth.grants("admin", "write")
    assert auth.grants("admin", "read")
    assert auth.grants("write", "read")
    assert not auth.grants("write", "admin")
    assert not auth.grants("read", "write")
