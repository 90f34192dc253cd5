"""Who may do what: scopes, session limits, end users' privacy, expiry, revocation, logs."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from helpers import LogLines, bearer, call, generate, session
from test_bad_input import assert_error

from pf_server.testing import LiveServer


def test_a_session_cannot_get_a_scope_its_key_lacks(live_server: Any) -> None:
    read_key = live_server.create_key(scopes=["read"])
    answer = call(live_server, "POST", "/v1/sessions", read_key,
                  json={"endUserId": "u", "scopes": ["read", "build"]})
    error = assert_error(answer, 403, "insufficient_scope")
    assert "build" in error["message"]
    # Without scopes, a session gets exactly the key's.
    assert session_with(live_server, read_key)["scopes"] == ["read"]


def session_with(server: Any, key: str, **body: Any) -> dict[str, Any]:
    answer = call(server, "POST", "/v1/sessions", key, json={"endUserId": "u", **body})
    assert answer.status_code == 201, answer.text
    result: dict[str, Any] = answer.json()
    return result


@pytest.mark.parametrize("ttl", [0, 61, "30", -5, None, 30.5])
def test_ttl_minutes_outside_1_to_60_or_not_an_integer_is_refused(live_server: Any,
                                                                 ttl: Any) -> None:
    body = {"endUserId": "u", "ttlMinutes": ttl}
    answer = call(live_server, "POST", "/v1/sessions", live_server.api_key, json=body)
    assert_error(answer, 400, "invalid_request")


def test_a_session_cannot_mint_a_session(live_server: Any) -> None:
    token = session(live_server)["token"]
    answer = call(live_server, "POST", "/v1/sessions", token, json={"endUserId": "other"})
    assert_error(answer, 403, "forbidden")


@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", "/v1/usage", None),
    ("POST", "/v1/sessions/revoke", {"endUserId": "user_1"}),
    ("DELETE", "/v1/sessions/sess_whatever", None),
])
def test_a_session_cannot_read_usage_or_revoke(live_server: Any, method: str, path: str,
                                               body: Any) -> None:
    token = session(live_server)["token"]
    assert_error(call(live_server, method, path, token, json=body), 403, "forbidden")


@pytest.mark.parametrize(("scopes", "method", "path", "needed"), [
    (["read"], "POST", "/v1/apps/generate", "build"),
    (["build"], "GET", "/v1/apps", "read"),
    (["read", "build"], "POST", "/v1/apps/app_x/deploy", "deploy"),
])
def test_a_missing_scope_is_403_insufficient_scope_naming_it(
        live_server: Any, scopes: list[str], method: str, path: str, needed: str) -> None:
    token = session(live_server, scopes=scopes)["token"]
    answer = call(live_server, method, path, token, json={"prompt": "a bakery"})
    assert_error(answer, 403, "insufficient_scope")
    assert f'scope="{needed}"' in answer.headers["www-authenticate"]


def test_an_end_user_cannot_see_another_end_users_app_or_run(live_server: Any) -> None:
    ada = session(live_server, "ada_private")["token"]
    eve = session(live_server, "eve_private")["token"]
    evs = generate(live_server, ada)[1]
    app_id, run_id = evs[0][2]["appId"], evs[0][2]["runId"]
    # 404, as for an app that does not exist: the id reveals nothing (openapi.json).
    assert_error(call(live_server, "GET", f"/v1/apps/{app_id}", eve), 404, "not_found")
    assert_error(call(live_server, "POST", f"/v1/apps/{app_id}/deploy", eve), 404, "not_found")
    assert_error(call(live_server, "GET", f"/v1/runs/{run_id}/events", eve), 404, "not_found")
    listed = call(live_server, "GET", "/v1/apps?limit=100", eve).json()["data"]
    assert app_id not in [a["id"] for a in listed]
    assert all(a["endUserId"] == "eve_private" for a in listed)
    # Its owner and the workspace's key see it.
    assert call(live_server, "GET", f"/v1/apps/{app_id}", ada).status_code == 200
    assert call(live_server, "GET", f"/v1/apps/{app_id}", live_server.api_key).status_code == 200


def test_another_workspace_cannot_see_an_app(live_server: Any) -> None:
    other_key = live_server.create_key(quota=10)  # a workspace of its own
    app_id = generate(live_server, live_server.api_key)[1][0][2]["appId"]
    assert_error(call(live_server, "GET", f"/v1/apps/{app_id}", other_key), 404, "not_found")


def test_a_session_expires_after_its_ttl(fresh_server: Any) -> None:
    token = session(fresh_server, ttlMinutes=5)["token"]
    fresh_server.clock.advance(5 * 60 - 10)
    assert call(fresh_server, "GET", "/v1/apps", token).status_code == 200
    fresh_server.clock.advance(11)
    answer = call(fresh_server, "GET", "/v1/apps", token)
    assert_error(answer, 401, "token_expired")
    assert 'error="invalid_token"' in answer.headers["www-authenticate"]


def test_a_revoked_session_gets_401_at_once(fresh_server: Any) -> None:
    minted = session(fresh_server)
    assert call(fresh_server, "GET", "/v1/apps", minted["token"]).status_code == 200
    revoked = call(fresh_server, "DELETE", f"/v1/sessions/{minted['id']}", fresh_server.api_key)
    assert revoked.status_code == 204
    assert_error(call(fresh_server, "GET", "/v1/apps", minted["token"]), 401, "token_revoked")
    # Revoking twice is fine; an unknown id is 404.
    again = call(fresh_server, "DELETE", f"/v1/sessions/{minted['id']}", fresh_server.api_key)
    assert again.status_code == 204
    assert_error(call(fresh_server, "DELETE", "/v1/sessions/sess_nope", fresh_server.api_key),
                 404, "not_found")


def test_revoking_an_end_user_ends_only_their_sessions(fresh_server: Any) -> None:
    ada, bob = session(fresh_server, "ada")["token"], session(fresh_server, "bob")["token"]
    call(fresh_server, "POST", "/v1/sessions/revoke", fresh_server.api_key,
         json={"endUserId": "ada"})
    assert_error(call(fresh_server, "GET", "/v1/apps", ada), 401, "token_revoked")
    assert call(fresh_server, "GET", "/v1/apps", bob).status_code == 200


def test_a_revoked_key_ends_its_sessions_too(fresh_server: Any) -> None:
    key = fresh_server.create_key()
    token = session_with(fresh_server, key)["token"]
    record = fresh_server.store.key_by_secret(key)
    assert fresh_server.store.revoke_key(record.id, fresh_server.clock.now())
    assert_error(call(fresh_server, "GET", "/v1/apps", key), 401, "token_revoked")
    assert_error(call(fresh_server, "GET", "/v1/apps", token), 401, "token_revoked")
    assert call(fresh_server, "GET", "/v1/apps", fresh_server.api_key).status_code == 200


def test_the_preview_needs_no_credential_but_its_app_id_is_unguessable(live_server: Any) -> None:
    app_id = generate(live_server, live_server.api_key)[1][0][2]["appId"]
    assert re.fullmatch(r"app_[0-9a-f]{32}", app_id)  # 128 random bits
    ready = call(live_server, "GET", f"/v1/apps/{app_id}", live_server.api_key).json()
    assert live_server.fetch_preview(ready["previewUrl"]).status_code == 200


# -- nothing of a credential in any log line ------------------------------------------

@pytest.fixture
def logged() -> Iterator[LogLines]:
    """Every record of uvicorn (access and errors), Starlette and pf_server, at DEBUG."""
    handler = LogLines()
    names = ["", "uvicorn", "uvicorn.error", "uvicorn.access", "pf_server", "starlette"]
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
    yield handler
    for lg, level in zip(loggers, levels, strict=True):
        lg.removeHandler(handler)
        lg.setLevel(level)


def test_no_key_or_token_appears_in_any_log_line(logged: LogLines,
                                                capfd: pytest.CaptureFixture[str]) -> None:
    with LiveServer(log_level="debug") as server:
        # uvicorn configured its loggers on start; collect from them from now on.
        for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
            logging.getLogger(name).addHandler(logged)
        secrets = [server.api_key]
        minted = session(server, "logged_user")
        secrets.append(minted["token"])
        generate(server, minted["token"])
        call(server, "GET", "/v1/apps", minted["token"])
        call(server, "DELETE", f"/v1/sessions/{minted['id']}", server.api_key)
        call(server, "GET", "/v1/apps", minted["token"])  # 401 revoked
        call(server, "GET", "/v1/apps", "pf_test_wrong-key-for-the-log-test")
        secrets.append("pf_test_wrong-key-for-the-log-test")
        server.store.apps = _explode  # type: ignore[method-assign]  # an unexpected failure, logged with its traceback
        assert call(server, "GET", "/v1/apps", server.api_key).status_code == 500
        httpx.get(server.base_url + "/v1/apps", headers=bearer(server.api_key))
    out, err = capfd.readouterr()
    text = "\n".join(logged.lines) + out + err
    assert "GET /v1/apps" in text  # the access log was captured
    assert "Traceback" in text or "RuntimeError" in text
    for secret in secrets:
        assert secret not in text
        assert secret[8:24] not in text  # not even a piece of the random part


def _explode(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("disk on fire")


def test_an_unexpected_failure_is_a_json_500_without_details_and_with_cors() -> None:
    with LiveServer(allowed_origins=["http://app.test"]) as server:
        server.store.apps = _explode  # type: ignore[method-assign]
        answer = call(server, "GET", "/v1/apps", server.api_key,
                      headers={"Origin": "http://app.test"})
        error = assert_error(answer, 500, "internal_error")
        assert "disk on fire" not in answer.text and "RuntimeError" not in answer.text
        assert error["type"] == "api_error"
        assert answer.headers["access-control-allow-origin"] == "http://app.test"
