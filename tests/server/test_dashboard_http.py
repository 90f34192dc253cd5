"""The dashboard over HTTP: sign-in, its cookie, forms that other sites cannot send,
sign-out, expiry, the numbers of GET /v1/usage, revocation, and bad input."""

from __future__ import annotations

import hashlib
import logging
import re
from typing import Any

import httpx
import pytest
from dashboard_pages import (
    client,
    form_token,
    live_users,
    message,
    sign_in,
    signed_in,
    table,
    usage_rows,
)
from helpers import LogLines, call, generate, session

from pf_server.dashboard.sessions import TTL
from pf_server.testing import LiveServer


def make_runs(server: Any, runs: dict[str, int]) -> dict[str, str]:
    """Each end user gets a session and makes that many runs; their tokens."""
    tokens = {}
    for user, count in runs.items():
        tokens[user] = session(server, user)["token"]
        for i in range(count):
            answer, _ = generate(server, tokens[user], f"App {i} of {user}")
            assert answer.status_code == 200
    return tokens


def cookie_header(answer: httpx.Response, name: str) -> str:
    found = [c for c in answer.headers.get_list("set-cookie") if c.startswith(name + "=")]
    assert len(found) == 1, answer.headers.get_list("set-cookie")
    return found[0]


# -- sign-in and the cookie ----------------------------------------------------------------

def test_before_sign_in_the_page_shows_a_sign_in_form_and_no_usage(fresh_server: Any) -> None:
    make_runs(fresh_server, {"visible_if_leaked": 2})
    page = client(fresh_server).get("/dashboard")
    assert page.status_code == 200
    assert 'action="/dashboard/sign-in"' in page.text and 'type="password"' in page.text
    assert "visible_if_leaked" not in page.text
    assert 'data-testid="quota"' not in page.text and "by-end-user" not in page.text


def test_signing_in_sets_an_httponly_strict_short_lived_dashboard_cookie_without_the_key(
        fresh_server: Any) -> None:
    browser, answer = sign_in(fresh_server)
    assert answer.status_code == 303 and answer.headers["location"] == "/dashboard"
    cookie = cookie_header(answer, "pf_dashboard")
    attributes = {a.strip().split("=")[0].lower(): a.strip().partition("=")[2]
                  for a in cookie.split(";")[1:]}
    assert "httponly" in attributes
    assert attributes["samesite"].lower() == "strict"
    assert attributes["path"] == "/dashboard"
    assert 0 < int(attributes["max-age"]) <= 3600
    assert "secure" not in attributes  # plain HTTP on loopback; Secure is for HTTPS
    for header in answer.headers.get_list("set-cookie"):
        assert fresh_server.api_key not in header
        assert fresh_server.api_key[8:24] not in header
    value = browser.cookies["pf_dashboard"]
    assert value != fresh_server.api_key and not value.startswith("pf_")
    # Stored as a hash only: neither the cookie's token nor the key is in the table.
    rows = fresh_server.store._all("SELECT * FROM dashboard_sessions")
    assert len(rows) == 1
    assert hashlib.sha256(value.encode()).hexdigest() in rows[0]
    flat = " ".join(map(str, rows[0]))
    assert value not in flat and fresh_server.api_key not in flat
    page = browser.get("/dashboard")
    assert page.status_code == 200 and 'data-testid="quota"' in page.text


def test_a_session_token_cannot_sign_in(fresh_server: Any) -> None:
    token = session(fresh_server, "end_user")["token"]
    browser, answer = sign_in(fresh_server, token)
    assert answer.status_code == 403
    assert "session token" in message(answer)
    assert "pf_dashboard" not in browser.cookies
    assert token not in answer.text
    assert 'data-testid="quota"' not in browser.get("/dashboard").text


@pytest.mark.parametrize("key, status, words", [
    ("", 400, "Paste a secret key"),
    ("   \n", 400, "Paste a secret key"),
    ("pf_test_not-a-key-of-this-server", 401, "knows no such key"),
    ("pf_test_" + "x" * 600, 400, "not a PromptFloe secret key"),
    ("pf_test_ключ", 400, "not a PromptFloe secret key"),
    ("pf_test_a\x00b", 400, "not a PromptFloe secret key"),
])
def test_a_wrong_key_gets_a_clear_message_and_no_session(fresh_server: Any, key: str,
                                                          status: int, words: str) -> None:
    browser, answer = sign_in(fresh_server, key)
    assert answer.status_code == status
    assert words in message(answer)
    assert "pf_dashboard" not in browser.cookies
    if key.strip():
        assert key not in answer.text  # never echoed back


def test_a_revoked_key_cannot_sign_in_and_revoking_it_ends_its_dashboard_sessions(
        fresh_server: Any) -> None:
    other = fresh_server.create_key()
    browser = signed_in(fresh_server)
    key_id = fresh_server.store.key_by_secret(fresh_server.api_key).id
    fresh_server.store.revoke_key(key_id, fresh_server.clock.now())
    assert 'data-testid="quota"' not in browser.get("/dashboard").text
    _, answer = sign_in(fresh_server)
    assert answer.status_code == 401 and "revoked" in message(answer)
    _, answer = sign_in(fresh_server, other)
    assert answer.status_code == 303


# -- forms other sites cannot send ---------------------------------------------------------

def test_a_sign_in_without_the_forms_token_is_refused(fresh_server: Any) -> None:
    browser = client(fresh_server)
    browser.get("/dashboard")
    for token in ("", "0" * 64):
        answer = browser.post("/dashboard/sign-in",
                              data={"csrf": token, "key": fresh_server.api_key})
        assert answer.status_code == 403 and "another site" in message(answer)
        assert "pf_dashboard" not in browser.cookies
    # Without the sign-in cookie (a cross-site form: SameSite=Strict withholds it).
    bare = client(fresh_server)
    token = form_token(client(fresh_server).get("/dashboard"))
    answer = bare.post("/dashboard/sign-in", data={"csrf": token, "key": fresh_server.api_key})
    assert answer.status_code == 403 and "pf_dashboard" not in bare.cookies


def test_a_form_without_its_token_or_from_another_origin_changes_nothing(
        fresh_server: Any) -> None:
    tokens = make_runs(fresh_server, {"victim": 1})
    browser = signed_in(fresh_server)
    token = form_token(browser.get("/dashboard"))
    refused = [
        browser.post("/dashboard/revoke", data={"endUserId": "victim"}),
        browser.post("/dashboard/revoke", data={"csrf": "0" * 64, "endUserId": "victim"}),
        browser.post("/dashboard/revoke", data={"csrf": token, "endUserId": "victim"},
                     headers={"Origin": "http://evil.example"}),
        browser.post("/dashboard/revoke", data={"csrf": token, "endUserId": "victim"},
                     headers={"Origin": "null"}),
        browser.post("/dashboard/sign-out", data={"csrf": "0" * 64}),
        browser.post("/dashboard/sign-out", data={"csrf": token},
                     headers={"Origin": "http://evil.example"}),
    ]
    for answer in refused:
        assert answer.status_code == 403, answer.text
        assert "another site" in message(answer) or "older page" in message(answer)
    assert call(fresh_server, "GET", "/v1/apps", tokens["victim"]).status_code == 200
    assert 'data-testid="quota"' in browser.get("/dashboard").text  # still signed in
    # The same form from the page itself (its own Origin) works.
    done = browser.post("/dashboard/revoke", data={"csrf": token, "endUserId": "victim"},
                        headers={"Origin": fresh_server.base_url})
    assert done.status_code == 303
    assert call(fresh_server, "GET", "/v1/apps", tokens["victim"]).status_code == 401


def test_a_form_token_of_one_session_does_not_work_in_another(fresh_server: Any) -> None:
    tokens = make_runs(fresh_server, {"victim": 0})
    first, second = signed_in(fresh_server), signed_in(fresh_server)
    token_of_first = form_token(first.get("/dashboard"))
    answer = second.post("/dashboard/revoke", data={"csrf": token_of_first,
                                                    "endUserId": "victim"})
    assert answer.status_code == 403
    assert call(fresh_server, "GET", "/v1/apps", tokens["victim"]).status_code == 200


def test_only_the_browsers_own_navigations_reach_the_pages(fresh_server: Any) -> None:
    """Fetch Metadata: a script's fetch(), even from this origin, gets no page and no token."""
    tokens = make_runs(fresh_server, {"victim": 0})
    browser = signed_in(fresh_server)
    token = form_token(browser.get("/dashboard"))
    by_script = {"Sec-Fetch-Dest": "empty", "Sec-Fetch-Mode": "cors",
                 "Sec-Fetch-Site": "same-origin"}
    page = browser.get("/dashboard", headers=by_script)
    assert page.status_code == 403 and 'data-testid="quota"' not in page.text
    assert token not in page.text
    framed = browser.get("/dashboard", headers={**by_script, "Sec-Fetch-Dest": "iframe",
                                                "Sec-Fetch-Mode": "navigate"})
    assert framed.status_code == 403
    for headers in (by_script, {"Sec-Fetch-Dest": "document", "Sec-Fetch-Mode": "navigate",
                                "Sec-Fetch-Site": "cross-site"}):
        answer = browser.post("/dashboard/revoke", data={"csrf": token, "endUserId": "victim"},
                              headers=headers)
        assert answer.status_code == 403
    assert call(fresh_server, "GET", "/v1/apps", tokens["victim"]).status_code == 200
    typed = browser.get("/dashboard", headers={"Sec-Fetch-Dest": "document",
                                               "Sec-Fetch-Mode": "navigate",
                                               "Sec-Fetch-Site": "none"})
    assert typed.status_code == 200 and 'data-testid="quota"' in typed.text
    assert typed.headers["cross-origin-opener-policy"] == "same-origin"


# -- sign-out and expiry ---------------------------------------------------------------------

def test_sign_out_ends_the_session_and_its_cookie(fresh_server: Any) -> None:
    browser = signed_in(fresh_server)
    old_cookie = browser.cookies["pf_dashboard"]
    answer = browser.post("/dashboard/sign-out",
                          data={"csrf": form_token(browser.get("/dashboard"))})
    assert answer.status_code == 303 and answer.headers["location"] == "/dashboard?signed_out=1"
    cleared = cookie_header(answer, "pf_dashboard")
    assert "Max-Age=0" in cleared and "Path=/dashboard" in cleared
    page = browser.get(answer.headers["location"])
    assert "You are signed out." in page.text and 'data-testid="quota"' not in page.text
    # The old cookie, sent again, no longer opens anything.
    replay = client(fresh_server)
    replay.cookies.set("pf_dashboard", old_cookie)
    assert 'data-testid="quota"' not in replay.get("/dashboard").text


def test_the_dashboard_session_expires(fresh_server: Any) -> None:
    tokens = make_runs(fresh_server, {"victim": 0})
    browser = signed_in(fresh_server)
    token = form_token(browser.get("/dashboard"))
    fresh_server.clock.advance(TTL - 5)
    assert 'data-testid="quota"' in browser.get("/dashboard").text
    fresh_server.clock.advance(10)
    page = browser.get("/dashboard")
    assert page.status_code == 200 and "session ended" in page.text
    assert 'data-testid="quota"' not in page.text
    answer = browser.post("/dashboard/revoke", data={"csrf": token, "endUserId": "victim"})
    assert answer.status_code == 401 and "nothing was revoked" in message(answer)
    fresh_server.clock.advance(-TTL)  # the victim's own session is still in its hour
    assert call(fresh_server, "GET", "/v1/apps", tokens["victim"]).status_code == 200


# -- what it shows -----------------------------------------------------------------------------

def test_the_day_table_matches_get_v1_usage_exactly(fresh_server: Any) -> None:
    make_runs(fresh_server, {"alice": 3, "bob": 2, "carol & <co>": 1})
    call(fresh_server, "GET", "/v1/apps", session(fresh_server, "dave")["token"])  # calls only
    generate(fresh_server, fresh_server.api_key)  # a key's run: in `used`, no end user
    browser = signed_in(fresh_server)
    page = browser.get("/dashboard").text
    api = call(fresh_server, "GET", "/v1/usage", fresh_server.api_key).json()
    assert usage_rows(page) == api["byEndUser"]
    assert [r["runs"] for r in api["byEndUser"]] == [3, 2, 1, 0]
    assert f'data-testid="quota-used">{api["used"]}<' in page and api["used"] == 7
    assert f'data-testid="day-used">{api["used"]}<' in page
    assert f'data-testid="quota-limit">{api["quota"]}<' in page
    assert "00:00:00 UTC" in page  # when the quota resets
    # Another day: its own numbers, the same as the API's for that date.
    fresh_server.clock.advance(86400)
    make_runs(fresh_server, {"alice": 1})
    browser = signed_in(fresh_server)  # a day later: the first dashboard session is over
    tomorrow = call(fresh_server, "GET", "/v1/usage", fresh_server.api_key).json()
    yesterday = call(fresh_server, "GET", f"/v1/usage?date={api['date']}",
                     fresh_server.api_key).json()
    assert usage_rows(browser.get("/dashboard").text) == tomorrow["byEndUser"]
    assert usage_rows(browser.get(f"/dashboard?date={api['date']}").text) == \
        yesterday["byEndUser"]
    # The 7-day table lists both days with the API's runs.
    week = table(browser.get("/dashboard").text, "chart-7-table")
    assert re.search(rf'{tomorrow["date"]}</th><td class="num">{tomorrow["used"]}<', week)
    assert re.search(rf'{api["date"]}</th><td class="num">{yesterday["used"]}<', week)


def test_the_charts_count_runs_or_calls_per_end_user(fresh_server: Any) -> None:
    tokens = make_runs(fresh_server, {"alice": 2, "bob": 1})
    for _ in range(3):
        call(fresh_server, "GET", "/v1/apps", tokens["bob"])
    api = call(fresh_server, "GET", "/v1/usage", fresh_server.api_key).json()
    calls = {r["endUserId"]: r["calls"] for r in api["byEndUser"]}
    browser = signed_in(fresh_server)
    runs_table = table(browser.get("/dashboard").text, "chart-7-table")
    assert "By end user (runs)" in runs_table and "alice 2, bob 1" in runs_table
    page = browser.get("/dashboard?chart=calls").text
    calls_table = table(page, "chart-30-table")
    assert "By end user (calls)" in calls_table
    assert f"alice {calls['alice']}, bob {calls['bob']}" in calls_table
    assert f"bob, {calls['bob']} calls" in page  # a bar's own title in the SVG
    assert calls["bob"] == 4  # a run's call and three reads


def test_recent_runs_link_to_the_preview_url_the_run_announced(fresh_server: Any) -> None:
    token = session(fresh_server, "alice")["token"]
    _, events = generate(fresh_server, token, "A bakery's landing page with a menu and hours")
    preview = next(data["previewUrl"] for _, kind, data in events if kind == "ready")
    page = signed_in(fresh_server).get("/dashboard").text
    runs = table(page, "recent-runs")
    assert f'href="{preview}"' in runs
    assert "A bakery&#39;s landing page with a menu and hours" in runs
    assert "succeeded" in runs and ">4</td>" in runs  # the template generator's 4 files


def test_revoke_ends_that_end_users_sessions_at_once_and_no_one_elses(
        fresh_server: Any) -> None:
    tokens = make_runs(fresh_server, {"alice": 1, "bob": 1})
    second_bob = session(fresh_server, "bob")["token"]
    browser = signed_in(fresh_server)
    page = browser.get("/dashboard")
    assert live_users(page.text) == ["alice", "bob"]
    answer = browser.post("/dashboard/revoke", data={"csrf": form_token(page),
                                                     "endUserId": "bob"})
    assert answer.status_code == 303
    for token in (tokens["bob"], second_bob):
        revoked = call(fresh_server, "GET", "/v1/apps", token)
        assert revoked.status_code == 401
        assert revoked.json()["error"]["code"] == "token_revoked"
    assert call(fresh_server, "GET", "/v1/apps", tokens["alice"]).status_code == 200
    after = browser.get("/dashboard").text
    assert "Revoked 2 live sessions of bob" in after
    assert live_users(after) == ["alice"]
    assert "Revoked 2" not in browser.get("/dashboard").text  # said once


def test_dashboard_answers_forbid_framing_scripts_and_caching(fresh_server: Any) -> None:
    for answer in (client(fresh_server).get("/dashboard"),
                   signed_in(fresh_server).get("/dashboard")):
        assert answer.headers["content-type"].startswith("text/html")
        csp = answer.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert "script-src" not in csp and "<script" not in answer.text
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["cache-control"] == "no-store"
    css = client(fresh_server).get("/dashboard/dashboard.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


# -- bad input: a page that says what is wrong, never a 500 -------------------------------------

FORM = "application/x-www-form-urlencoded"


T = b"csrf={csrf}&"  # the form's own token, so only the bad part is wrong


@pytest.mark.parametrize("path, body, ctype, status, words", [
    ("/dashboard/revoke", T + b"endUserId=", FORM, 400, "is missing"),
    ("/dashboard/revoke", T + b"endUserId=%20%20", FORM, 400, "is missing"),
    ("/dashboard/revoke", b"csrf={csrf}", FORM, 400, "is missing"),
    ("/dashboard/revoke", T + b"endUserId=" + b"u" * 257, FORM, 400, "at most 256"),
    ("/dashboard/revoke", T + b"endUserId=a&endUserId=b", FORM, 400, "twice"),
    ("/dashboard/revoke", T + b"endUserId=%ff%fe", FORM, 400, "could not be read"),
    ("/dashboard/revoke", T + b"\xff\xfe=1", FORM, 400, "could not be read"),
    ("/dashboard/revoke", T + b"&".join(b"f%d=1" % i for i in range(50)), FORM, 400,
     "could not be read"),
    ("/dashboard/revoke", T + b"endUserId=u", "application/json", 415, "urlencoded"),
    ("/dashboard/revoke", T + b"endUserId=u", "multipart/form-data; boundary=x", 415,
     "urlencoded"),
    ("/dashboard/revoke", T + b"endUserId=" + b"u" * 20_000, FORM, 413, "over 16 KB"),
    ("/dashboard/sign-out", T + b"\xff", FORM, 400, "could not be read"),
    ("/dashboard/sign-in", b"key=%ff", FORM, 400, "could not be read"),
    ("/dashboard/sign-in", b"key=x", "text/plain", 415, "urlencoded"),
    ("/dashboard/sign-in", b"k=" + b"x" * 20_000, FORM, 413, "over 16 KB"),
])
def test_a_bad_form_gets_a_clear_message_and_never_a_500(
        fresh_server: Any, path: str, body: bytes, ctype: str, status: int, words: str) -> None:
    browser = signed_in(fresh_server)
    token = form_token(browser.get("/dashboard"))
    answer = browser.post(path, content=body.replace(b"{csrf}", token.encode()),
                          headers={"Content-Type": ctype})
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    assert words in message(answer)
    assert "Traceback" not in answer.text


@pytest.mark.parametrize("query, words", [
    ("date=2026-13-40", "YYYY-MM-DD"), ("date=yesterday", "YYYY-MM-DD"),
    ("date=2026-1-5", "YYYY-MM-DD"), ("date=%ff%fe", "YYYY-MM-DD"),
    ("user=" + "u" * 300, "at most 256"),
    ("chart=bars", "'runs' or 'calls'"),
])
def test_a_bad_query_shows_the_dashboard_with_a_clear_message(fresh_server: Any, query: str,
                                                             words: str) -> None:
    answer = signed_in(fresh_server).get(f"/dashboard?{query}")
    assert answer.status_code == 400
    assert words in message(answer) and 'data-testid="quota"' in answer.text


@pytest.mark.parametrize("query", ["date=0001-01-01", "date=0001-01-05", "date=9999-12-31",
                                   "user=nobody", "user=%00", "date=", "unknown=1"])
def test_edge_queries_answer_a_page(fresh_server: Any, query: str) -> None:
    answer = signed_in(fresh_server).get(f"/dashboard?{query}")
    assert answer.status_code == 200 and 'data-testid="quota"' in answer.text


@pytest.mark.parametrize("method, path, status", [
    ("PUT", "/dashboard", 405), ("DELETE", "/dashboard/revoke", 405),
    ("PATCH", "/dashboard/sign-in", 405), ("GET", "/dashboard/nowhere", 404),
    ("POST", "/dashboard/nowhere/else", 404), ("POST", "/dashboard", 405),
])
def test_wrong_methods_and_paths_get_a_page_not_a_500(fresh_server: Any, method: str,
                                                      path: str, status: int) -> None:
    answer = client(fresh_server).request(method, path)
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith("text/html") and message(answer)


def test_reloading_a_forms_target_goes_back_to_the_dashboard(fresh_server: Any) -> None:
    browser = client(fresh_server)
    for path in ("/dashboard/sign-in", "/dashboard/revoke", "/dashboard/sign-out",
                 "/dashboard/"):
        answer = browser.get(path)
        assert answer.status_code == 303 and answer.headers["location"] == "/dashboard"


def test_an_unexpected_failure_is_a_page_without_details(fresh_server: Any) -> None:
    browser = signed_in(fresh_server)

    def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk on fire")

    fresh_server.store.usage_between = explode
    answer = browser.get("/dashboard")
    assert answer.status_code == 500
    assert "failed on this request" in message(answer)
    assert "disk on fire" not in answer.text and "Traceback" not in answer.text


# -- nothing secret in the server's log ---------------------------------------------------------

def test_no_key_token_or_dashboard_cookie_appears_in_any_log_line(
        capfd: pytest.CaptureFixture[str]) -> None:
    handler = LogLines()
    names = ["", "uvicorn", "uvicorn.error", "uvicorn.access", "pf_server", "starlette"]
    with LiveServer(log_level="debug") as server:
        for name in names:
            logging.getLogger(name).addHandler(handler)
        try:
            token = session(server, "logged_user")["token"]
            sign_in(server, token)  # refused
            sign_in(server, "pf_test_a-wrong-key-for-the-log-test")
            browser = signed_in(server)
            cookie = browser.cookies["pf_dashboard"]
            page = browser.get("/dashboard?user=logged_user")
            browser.post("/dashboard/revoke", data={"csrf": form_token(page),
                                                    "endUserId": "logged_user"})

            def explode(*args: Any, **kwargs: Any) -> Any:
                raise RuntimeError("disk on fire")

            # A failure, logged with its traceback.
            server.store.usage_between = explode  # type: ignore[method-assign]
            assert browser.get("/dashboard").status_code == 500
            browser.post("/dashboard/sign-out", data={"csrf": form_token(page)})
        finally:
            for name in names:
                logging.getLogger(name).removeHandler(handler)
    out, err = capfd.readouterr()
    text = "\n".join(handler.lines) + out + err
    assert "POST /dashboard/sign-in" in text and "disk on fire" in text  # the log was seen
    for secret in (server.api_key, token, cookie, "pf_test_a-wrong-key-for-the-log-test"):
        assert secret not in text
        assert secret[8:24] not in text


def test_old_dashboard_sessions_are_cleared_at_the_next_sign_in(fresh_server: Any) -> None:
    signed_in(fresh_server)
    fresh_server.clock.advance(TTL + 86400)
    signed_in(fresh_server)
    assert len(fresh_server.store._all("SELECT id FROM dashboard_sessions")) == 1


def test_head_answers_like_get_without_a_body(fresh_server: Any) -> None:
    answer = client(fresh_server).head("/dashboard")
    assert answer.status_code == 200 and answer.content == b""
