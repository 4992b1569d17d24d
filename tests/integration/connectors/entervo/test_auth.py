"""The OAuth side: one token per lifetime, refresh before expiry, one retry on 401, refusals, no leaks."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import httpx
import pytest

from tests.integration.connectors.conftest import CLIENT_ID, OTHER, PROJECT, SECRET
from tests.integration.connectors.entervo.conftest import consumer
from visitorhub.integration.connectors.entervo.client import AuthError, EntervoClient
from visitorhub.integration.connectors.entervo.emulator import Emulator

TOKEN_PATH = "/auth/realms/{}/protocol/openid-connect/token"


def token_request(http: httpx.Client, url: str, project: str = PROJECT, **form: str) -> httpx.Response:
    fields = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": SECRET, **form}
    return http.post(url + TOKEN_PATH.format(project), data=fields)


class TestTokenEndpoint:
    def test_client_credentials_answer_a_bearer_token_for_30_minutes(
        self, http: httpx.Client, url: str
    ) -> None:
        response = token_request(http, url)
        assert response.status_code == 200
        body = response.json()
        assert body["token_type"] == "Bearer"
        assert body["expires_in"] == 1800
        assert isinstance(body["access_token"], str)
        assert len(body["access_token"]) > 20

    @pytest.mark.parametrize(
        ("form", "status", "error"),
        [
            ({"client_secret": "wrong"}, 401, "invalid_client"),
            ({"client_id": "B2C_someoneelse"}, 401, "invalid_client"),
            ({"grant_type": "password"}, 400, "unsupported_grant_type"),
            ({"grant_type": ""}, 400, "invalid_request"),
        ],
    )
    def test_refusals_follow_oauth(
        self, http: httpx.Client, url: str, form: dict[str, str], status: int, error: str
    ) -> None:
        response = token_request(http, url, **form)
        assert response.status_code == status
        assert response.json()["error"] == error

    def test_unknown_realm_is_404(self, http: httpx.Client, url: str) -> None:
        assert token_request(http, url, project="nosuchproject").status_code == 404

    def test_a_token_of_another_project_is_refused(self, http: httpx.Client, url: str) -> None:
        other = token_request(
            http, url, project=OTHER.project, client_id=OTHER.client_id, client_secret=OTHER.client_secret
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {other}"}
        search = f"{url}/customers-contracts/v2/{PROJECT}/consumers"
        assert http.post(search, json={}, headers=headers).status_code == 401
        own = f"{url}/customers-contracts/v2/{OTHER.project}/consumers"
        assert http.post(own, json={}, headers=headers).status_code == 200

    @pytest.mark.parametrize("authorization", [None, "Bearer", "Bearer not-a-token", "Basic Zm9vOmJhcg=="])
    def test_the_api_needs_a_valid_bearer_token(
        self, http: httpx.Client, url: str, authorization: str | None
    ) -> None:
        headers = {"Authorization": authorization} if authorization else {}
        response = http.post(f"{url}/customers-contracts/v2/{PROJECT}/consumers", json={}, headers=headers)
        assert response.status_code == 401
        assert response.json()["status"] == 401


class TestClientToken:
    def test_one_token_serves_many_calls(self, client: EntervoClient, emulator: Emulator) -> None:
        client.create(consumer())
        for _ in range(4):
            client.search(external_reference="EMP12345")
        assert emulator.calls()["token"] == 1
        assert client.calls()["token"] == 1

    def test_refreshed_shortly_before_expires_in(
        self, make_client: Callable[..., EntervoClient], emulator: Emulator
    ) -> None:
        now = [1000.0]
        client = make_client(clock=lambda: now[0], refresh_margin=30.0)
        client.search()
        now[0] += 1800 - 31  # still more than the margin left: the same token
        client.search()
        assert emulator.calls()["token"] == 1
        now[0] += 2  # 29 s left: a new token before the old one runs out
        client.search()
        assert emulator.calls()["token"] == 2
        assert emulator.answers()["search"] == {200: 3}  # never a 401 on the way

    def test_short_lived_tokens_are_renewed_before_the_api_refuses_them(
        self, client: EntervoClient, emulator: Emulator
    ) -> None:
        emulator.token_lifetime = 0.2
        client.search()
        time.sleep(0.25)
        client.search()
        assert emulator.calls()["token"] == 2
        assert 401 not in emulator.answers()["search"]

    def test_a_401_fetches_a_new_token_and_tries_once_more(
        self, client: EntervoClient, emulator: Emulator
    ) -> None:
        client.search()
        emulator.expire_tokens()  # the remote forgot our token before its time
        page = client.search()
        assert page.total_elements == 0
        assert emulator.calls()["token"] == 2
        assert emulator.answers()["search"] == {200: 2, 401: 1}
        assert client.counters.outcomes()["search"] == {"ok": 2, "unauthorized": 1}

    def test_a_second_401_is_an_auth_error(self, client: EntervoClient, emulator: Emulator) -> None:
        emulator.fail_next(401, count=2, kinds=["search"])
        with pytest.raises(AuthError) as caught:
            client.search()
        assert caught.value.status == 401
        calls = emulator.calls()
        assert (calls["token"], calls["search"]) == (2, 2)

    def test_wrong_credentials_fail_at_once_with_the_remote_words(
        self, make_client: Callable[..., EntervoClient], emulator: Emulator
    ) -> None:
        client = make_client(client_secret="wrong")
        with pytest.raises(AuthError) as caught:
            client.create(consumer())
        assert caught.value.status == 401
        assert caught.value.kind == "token"
        assert caught.value.message == "Invalid client or Invalid client credentials"
        assert emulator.calls()["token"] == 1  # credentials are not retried
        assert emulator.calls()["create"] == 0

    def test_auth_url_may_differ_from_the_api_root(
        self, make_client: Callable[..., EntervoClient], url: str, emulator: Emulator
    ) -> None:
        client = make_client(base_url="http://127.0.0.1:9", auth_url=url)  # nothing listens on port 9
        with pytest.raises(Exception, match="connection"):
            client.search()
        assert emulator.calls()["token"] == 1  # the token came from auth_url
        assert emulator.calls()["search"] == 0


def test_secrets_and_tokens_are_never_logged(
    make_client: Callable[..., EntervoClient], emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_client()
    client.create(consumer())
    first = client._token
    emulator.expire_tokens()
    emulator.fail_next(503, count=1, kinds=["search"])
    client.search(external_reference="EMP12345")
    second = client._token
    bad = make_client(client_secret="wrong-secret-Xy7")
    with pytest.raises(AuthError) as caught:
        bad.search()
    assert first
    assert second
    assert first != second
    assert caplog.records, "the client logs its calls"
    for secret in (SECRET, "wrong-secret-Xy7", first, second):
        assert secret not in caplog.text
        assert secret not in repr(client) + repr(bad) + str(caught.value)
