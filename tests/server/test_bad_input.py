"""Every bad request answers the contract's JSON error: never a 500, HTML or a traceback."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from helpers import bearer, call, generate, session


def assert_error(answer: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    assert {"type", "code", "message"} <= set(error)
    assert error["code"] == code
    assert "Traceback" not in answer.text and "<html" not in answer.text.lower()
    return error


BAD_SESSION_BODIES = [
    pytest.param(b"{", id="malformed-json"),
    pytest.param(b"[1, 2]", id="not-an-object"),
    pytest.param(b"", id="empty"),
    pytest.param(b'"user"', id="a-string"),
    pytest.param(b"{}", id="missing-endUserId"),
    pytest.param(b'{"endUserId": 7}', id="endUserId-a-number"),
    pytest.param(b'{"endUserId": ""}', id="endUserId-empty"),
    pytest.param(b'{"endUserId": "   "}', id="endUserId-blank"),
    pytest.param(b'{"endUserId": "%s"}' % (b"u" * 257), id="endUserId-too-long"),
    pytest.param(b'{"endUserId": "u", "scopes": "read"}', id="scopes-a-string"),
    pytest.param(b'{"endUserId": "u", "scopes": [1]}', id="scopes-not-strings"),
    pytest.param(b'{"endUserId": "u", "scopes": ["admin"]}', id="scopes-unknown"),
    pytest.param(b'{"endUserId": "u", "ttlMinutes": 0}', id="ttl-0"),
    pytest.param(b'{"endUserId": "u", "ttlMinutes": 61}', id="ttl-61"),
    pytest.param(b'{"endUserId": "u", "ttlMinutes": "30"}', id="ttl-a-string"),
    pytest.param(b'{"endUserId": "u", "ttlMinutes": 30.5}', id="ttl-a-float"),
    pytest.param(b'{"endUserId": "u", "ttlMinutes": true}', id="ttl-a-bool"),
    pytest.param(b'{"endUserId": "u", "ttlMinutes": 1e400}', id="ttl-infinite"),
    pytest.param(b"\xff\xfe{", id="not-utf8"),
    pytest.param(b'{"endUserId": "\\ud800"}', id="lone-surrogate"),
    pytest.param(b'{"endUserId": "u", "\\udfff": 1}', id="lone-surrogate-in-a-key"),
    pytest.param(b"[" * 100_00 + b"]" * 100_00, id="deeply-nested"),
]


@pytest.mark.parametrize("body", BAD_SESSION_BODIES)
def test_a_bad_session_body_is_400_invalid_request(live_server: Any, body: bytes) -> None:
    answer = call(live_server, "POST", "/v1/sessions", live_server.api_key, content=body,
                  headers={"Content-Type": "application/json"})
    assert_error(answer, 400, "invalid_request")


@pytest.mark.parametrize("body", [
    pytest.param({}, id="missing"), pytest.param({"prompt": ""}, id="empty"),
    pytest.param({"prompt": " \n "}, id="blank"), pytest.param({"prompt": 5}, id="a-number"),
    pytest.param({"prompt": None}, id="null"), pytest.param({"prompt": ["a"]}, id="a-list"),
    pytest.param(b'{"prompt": "a \\udfff bakery"}', id="lone-surrogate"),
])
def test_a_bad_prompt_is_400_and_spends_no_quota(fresh_server: Any, body: Any) -> None:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    answer = call(fresh_server, "POST", "/v1/apps/generate", fresh_server.api_key, content=raw)
    assert_error(answer, 400, "invalid_request")
    usage = call(fresh_server, "GET", "/v1/usage", fresh_server.api_key).json()
    assert usage["used"] == 0


def test_a_prompt_over_8000_characters_is_413_prompt_too_long(live_server: Any) -> None:
    answer = call(live_server, "POST", "/v1/apps/generate", live_server.api_key,
                  json={"prompt": "x" * 8001})
    assert_error(answer, 413, "prompt_too_long")


def test_a_prompt_of_exactly_8000_characters_is_accepted(live_server: Any) -> None:
    with httpx.stream("POST", live_server.base_url + "/v1/apps/generate",
                      json={"prompt": "a bakery " + "x" * 7991},
                      headers=bearer(live_server.api_key)) as answer:
        answer.read()
    assert answer.status_code == 200


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_an_oversized_body_is_413(live_server: Any, chunked: bool) -> None:
    big = b'{"endUserId": "' + b"u" * 70_000 + b'"}'
    content: Any = iter([big[:1000], big[1000:]]) if chunked else big
    answer = call(live_server, "POST", "/v1/sessions", live_server.api_key, content=content)
    assert_error(answer, 413, "request_too_large")


def test_an_unknown_route_is_404_json(live_server: Any) -> None:
    assert_error(call(live_server, "GET", "/v2/nothing"), 404, "not_found")
    assert_error(call(live_server, "GET", "/"), 404, "not_found")


def test_a_wrong_method_is_405_json_with_allow(live_server: Any) -> None:
    answer = call(live_server, "PUT", "/v1/sessions", live_server.api_key)
    assert_error(answer, 405, "method_not_allowed")
    assert "POST" in answer.headers["allow"]


@pytest.mark.parametrize("header", [
    pytest.param(None, id="missing"),
    pytest.param("Bearer", id="no-credential"),
    pytest.param("Basic dXNlcjpwYXNz", id="basic-scheme"),
    pytest.param("Bearer pf_test_not-a-real-key", id="unknown-key"),
    pytest.param("Bearer pf_sess_not-a-real-token", id="unknown-session"),
    pytest.param("Bearer " + "x" * 5000, id="huge"),
    pytest.param("Bearer pf_test_\u00e9", id="not-ascii"),
])
def test_a_bad_or_missing_authorization_is_401_with_a_bearer_challenge(
        live_server: Any, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    try:
        answer = httpx.get(live_server.base_url + "/v1/apps", headers=headers)
    except UnicodeEncodeError:  # httpx refuses non-ASCII headers: send bytes
        assert header is not None
        answer = httpx.get(live_server.base_url + "/v1/apps",
                           headers=[(b"Authorization", header.encode())])
    assert_error(answer, 401, "invalid_token")
    assert answer.headers["www-authenticate"].startswith("Bearer realm=")
    if header is not None:
        assert 'error="invalid_token"' in answer.headers["www-authenticate"]


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=x", "limit=-1", "limit=%C2%B2",
                                   "cursor=abc", "cursor=" + "9" * 30, "cursor=%C2%B2"])
def test_bad_list_parameters_are_400(live_server: Any, query: str) -> None:
    answer = call(live_server, "GET", f"/v1/apps?{query}", live_server.api_key)
    assert_error(answer, 400, "invalid_request")


@pytest.mark.parametrize("day", ["yesterday", "2026-13-01", "2026-02-30", "2026-1-1",
                                 "20261101", "2026-11-01T00:00"])
def test_a_bad_usage_date_is_400(live_server: Any, day: str) -> None:
    answer = call(live_server, "GET", "/v1/usage", live_server.api_key, params={"date": day})
    assert_error(answer, 400, "invalid_request")


@pytest.mark.parametrize("last_id", [b"abc", b"-1", b"1.5", b"9" * 40, "²".encode("latin-1")])
def test_a_bad_last_event_id_is_400(live_server: Any, last_id: bytes) -> None:
    token = session(live_server)["token"]
    with httpx.stream("POST", live_server.base_url + "/v1/apps/generate",
                      json={"prompt": "a bakery"}, headers=bearer(token)) as answer:
        run_id = answer.headers["promptfloe-run-id"]
        answer.read()
    resumed = call(live_server, "GET", f"/v1/runs/{run_id}/events", token,
                   headers={"Last-Event-ID": last_id})
    assert_error(resumed, 400, "invalid_request")


@pytest.mark.parametrize("path", ["/v1/apps/app_nope", "/v1/runs/run_nope/events"])
def test_an_unknown_id_is_404(live_server: Any, path: str) -> None:
    assert_error(call(live_server, "GET", path, live_server.api_key), 404, "not_found")


def test_unknown_preview_app_or_file_is_404(live_server: Any) -> None:
    port = live_server.base_url.rsplit(":", 1)[1]
    unknown = f"http://app-{'0' * 32}.localhost:{port}/"
    assert_error(live_server.fetch_preview(unknown), 404, "not_found")
    app_id = generate(live_server, live_server.api_key)[1][0][2]["appId"]
    known = f"http://app-{app_id[4:]}.localhost:{port}/"
    for path in ("nope.html", "../../etc/passwd", "%2e%2e/%2e%2e/etc/passwd"):
        assert_error(live_server.fetch_preview(known + path), 404, "not_found")


def test_deploying_an_app_still_generating_is_409() -> None:
    from pf_server.testing import LiveServer

    with LiveServer(pace=5.0) as slow:  # the first file is 5 s away: still generating
        with httpx.stream("POST", slow.base_url + "/v1/apps/generate",
                          json={"prompt": "a bakery"}, headers=bearer(slow.api_key)) as gen:
            data = next(line for line in gen.iter_lines() if line.startswith("data:"))
            app_id = json.loads(data.removeprefix("data:"))["appId"]
            answer = call(slow, "POST", f"/v1/apps/{app_id}/deploy", slow.api_key)
            assert_error(answer, 409, "app_not_ready")
            app = call(slow, "GET", f"/v1/apps/{app_id}", slow.api_key).json()
            assert app["status"] == "generating" and app["previewUrl"] is None
