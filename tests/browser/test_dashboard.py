"""The usage dashboard in real headless Chromium, against the real local server.

Three end users make 3, 2 and 1 runs with their own session tokens; the
dashboard, once signed in with the secret key, lists exactly those; Revoke on
one row ends that user's tokens at once and no one else's. A session token
cannot sign in, no cookie holds the key, the page reads at phone width, and
(the ``page`` fixture) no request leaves loopback.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Page, expect

pf_server_testing = pytest.importorskip("pf_server.testing")

WAIT_MS = 60_000  # generous: a busy shared machine; we wait for states, never for time
RUNS = {"ada@bakery.example": 3, "bob": 2, "chen": 1}
DOCS = Path(__file__).resolve().parents[2] / "docs"
LOOPBACK = {"127.0.0.1", "localhost"}


def api(server: Any, method: str, path: str, credential: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(method, server.base_url + path, timeout=30,
                         headers={"Authorization": f"Bearer {credential}"}, **kwargs)


@pytest.fixture
def server() -> Iterator[Any]:
    with pf_server_testing.LiveServer(pace=0.0) as live:
        yield live


@pytest.fixture
def tokens(server: Any) -> dict[str, str]:
    """Each end user's session token, after their runs."""
    found = {}
    for user, runs in RUNS.items():
        minted = api(server, "POST", "/v1/sessions", server.api_key, json={"endUserId": user})
        found[user] = minted.json()["token"]
        for i in range(runs):
            with httpx.stream("POST", server.base_url + "/v1/apps/generate", timeout=30,
                              json={"prompt": f"A landing page, take {i + 1}, for {user}"},
                              headers={"Authorization": f"Bearer {found[user]}"}) as answer:
                assert answer.status_code == 200
                answer.read()
    return found


def sign_in(page: Page, server: Any, credential: str) -> None:
    page.goto(server.base_url + "/dashboard")
    page.get_by_test_id("key").fill(credential)
    page.get_by_test_id("sign-in").click()
    page.wait_for_load_state()


def column(page: Page, table: str, nth: int) -> list[str]:
    return page.locator(f"[data-testid={table}] tbody tr > :nth-child({nth})").all_inner_texts()


def test_the_dashboard_lists_each_end_users_runs_and_revoke_ends_only_theirs(
        page: Page, server: Any, tokens: dict[str, str]) -> None:
    page.set_default_timeout(WAIT_MS)
    # Before sign-in: a form, and no usage at all.
    page.goto(server.base_url + "/dashboard")
    expect(page.get_by_test_id("key")).to_be_visible()
    assert not any(user in page.content() for user in RUNS)

    # A session token cannot sign in, and gets no cookie.
    sign_in(page, server, tokens["bob"])
    expect(page.get_by_test_id("error")).to_contain_text("session token")
    assert "pf_dashboard" not in {c["name"] for c in page.context.cookies()}

    sign_in(page, server, server.api_key)
    expect(page.get_by_test_id("quota-used")).to_have_text("6")
    usage = api(server, "GET", "/v1/usage", server.api_key).json()
    assert column(page, "by-end-user", 1) == sorted(RUNS)
    assert column(page, "by-end-user", 2) == [str(RUNS[u]) for u in sorted(RUNS)]
    assert column(page, "by-end-user", 3) == [str(r["calls"]) for r in usage["byEndUser"]]
    recent = column(page, "recent-runs", 1)
    assert {user: recent.count(user) for user in RUNS} == RUNS and len(recent) == 6
    assert column(page, "live-sessions", 1) == sorted(RUNS)
    page.get_by_test_id("chart-calls").first.click()  # the charts count calls instead
    expect(page.locator("[data-testid=chart-7-table] thead")).to_contain_text("(calls)")
    expect(page.get_by_test_id("chart-calls").first).to_have_attribute("aria-current", "page")

    # The cookie: HttpOnly, SameSite=Strict, the dashboard's path, and never the key.
    cookies = page.context.cookies()
    dashboard = next(c for c in cookies if c["name"] == "pf_dashboard")
    assert dashboard["httpOnly"] and dashboard["sameSite"] == "Strict"
    assert dashboard["path"] == "/dashboard"
    for cookie in cookies:
        assert server.api_key not in cookie["value"] and server.api_key[8:24] not in cookie["value"]
    assert page.evaluate("document.cookie") == ""

    # Revoke bob: his token gets 401 at once; ada's and chen's keep working.
    page.locator("[data-testid=live-sessions] tr[data-end-user=bob]").get_by_test_id(
        "revoke").click()
    expect(page.get_by_test_id("notice")).to_contain_text("Revoked 1 live session of bob")
    revoked = api(server, "GET", "/v1/apps", tokens["bob"])
    assert revoked.status_code == 401 and revoked.json()["error"]["code"] == "token_revoked"
    for user in ("ada@bakery.example", "chen"):
        assert api(server, "GET", "/v1/apps", tokens[user]).status_code == 200
    assert column(page, "live-sessions", 1) == ["ada@bakery.example", "chen"]

    # A generated app, opened from its preview link, cannot read the dashboard or act on it,
    # even where it runs on the API's own origin.
    preview = page.locator("[data-testid=recent-runs] a").first.get_attribute("href")
    assert preview
    page.goto(preview)
    for url in ("/dashboard", server.base_url + "/dashboard"):
        text = page.evaluate("""async url => {
            try { const r = await fetch(url, {credentials: "include"}); return await r.text(); }
            catch (e) { return "refused: " + e; } }""", url)
        assert 'data-testid="quota"' not in text and "csrf" not in text
    page.goto(server.base_url + "/dashboard")
    expect(page.get_by_test_id("quota-used")).to_have_text("6")  # still signed in

    # Every request went to the server's own origin (the fixture also fails on any other host).
    seen: list[str] = page.requests_seen  # type: ignore[attr-defined]
    hosts = {urlsplit(url).hostname or "" for url in seen}
    assert seen and all(h in LOOPBACK or h.endswith(".localhost") for h in hosts), hosts


def test_the_dashboard_reads_at_phone_width(page: Page, server: Any,
                                            tokens: dict[str, str]) -> None:
    page.set_default_timeout(WAIT_MS)
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, server, server.api_key)
    expect(page.get_by_test_id("quota-used")).to_have_text("6")
    # Nothing wider than the screen: no sideways scrolling of the page.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    box = page.get_by_test_id("revoke").first.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 390
    if os.environ.get("PF_DOCS_SCREENSHOTS"):  # refresh the README's picture by hand
        earlier_days(server)
        page.reload()
        page.set_viewport_size({"width": 1280, "height": 1560})
        page.screenshot(path=str(DOCS / "dashboard.png"))


def earlier_days(server: Any) -> None:
    """Some usage on the days before today, so the charts have a history to show."""
    for back in range(1, 21):
        server.clock.advance(-86400 * back)
        try:
            for n, user in enumerate(RUNS):
                token = api(server, "POST", "/v1/sessions", server.api_key,
                            json={"endUserId": user}).json()["token"]
                for _ in range((back * (n + 2)) % 4):
                    api(server, "POST", "/v1/apps/generate", token, json={"prompt": "A page"})
        finally:
            server.clock.advance(86400 * back)
