"""The demo pages end to end, in real headless Chromium.

Two loopback origins, as in production: the PromptFloe API (pf_server's
LiveServer) and the demo app server (pf_demo) serving the built site and
minting session tokens. One browser and one set of servers for the module;
each test gets a fresh browser context (no cookies, no token in memory), which
fails the test if the page asked for any non-local host.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from _local_servers import ThreadedServer
from playwright.sync_api import Page, expect

pf_server_testing = pytest.importorskip("pf_server.testing")
pytest.importorskip("uvicorn")

from pf_demo import DemoUser, create_app  # noqa: E402

# Generous bounds for a busy 2-core machine; the tests wait for states, never for time.
BOOT_TIMEOUT_MS = 90_000  # Pyodide's first boot
RUN_TIMEOUT_MS = 60_000
BUILDER = DemoUser("ada", "Ada (builder)", ("build", "read", "deploy"))
READER = DemoUser("rey", "Rey (read-only)", ("read",))
PROMPT = "A landing page for a neighbourhood bakery"


class Demo:
    """One API server plus the demo app server that mints sessions against it."""

    def __init__(self, api: Any, app_server: ThreadedServer, app: Any) -> None:
        self.api = api
        self.app_server = app_server
        self.app = app

    @property
    def origin(self) -> str:
        return self.app_server.origin

    def mints(self, user: DemoUser) -> int:
        return int(self.app.state.minter.mints[user.id])

    def api_call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A call with the workspace's secret key, as the app's own server would."""
        headers = {"Authorization": f"Bearer {self.api.api_key}"}
        return httpx.request(method, f"{self.api.base_url}{path}", headers=headers,
                             timeout=10, **kwargs)


@contextmanager
def demo_servers(site_dir: Path, *, pace: float) -> Iterator[Demo]:
    with pf_server_testing.LiveServer(allowed_origins=[], pace=pace) as api:
        app = create_app(api_base_url=api.base_url, api_key=api.api_key, site_dir=site_dir,
                         users=[BUILDER, READER])
        with ThreadedServer(app) as app_server:
            api.set_allowed_origins([app_server.origin])
            yield Demo(api, app_server, app)


@pytest.fixture(scope="module")
def demo(site_dir: Path) -> Iterator[Demo]:
    with demo_servers(site_dir, pace=0.0) as servers:
        yield servers


@pytest.fixture(scope="module")
def paced_demo(site_dir: Path) -> Iterator[Demo]:
    """A server that takes its time between files, so a run can be cancelled mid-way."""
    with demo_servers(site_dir, pace=1.0) as servers:
        yield servers


def open_demo(page: Page, origin: str, path: str = "/", user: DemoUser | None = None) -> Page:
    """Open the demo page, sign in as ``user`` (if any) and wait for Python.

    ``page`` is conftest's fixture: a fresh context (no cookie, no token in
    memory) that fails the test if anything asked for a non-local host.
    """
    page.set_default_timeout(RUN_TIMEOUT_MS)
    page.goto(origin + path)
    if user is not None:
        # The demo sign-in form, as a person uses it.
        page.select_option("select[name=user]", user.id)
        page.get_by_test_id("signin").click()
        expect(page.get_by_test_id("user")).to_contain_text(user.name, timeout=RUN_TIMEOUT_MS)
    status = page.get_by_test_id("status")
    expect(status).to_have_attribute("data-state", "ready", timeout=BOOT_TIMEOUT_MS)
    if user is not None:  # ready for this user (the page signs in without a reload)
        expect(status).to_contain_text(user.name, timeout=RUN_TIMEOUT_MS)
    return page


def generate(page: Page, prompt: str = PROMPT, *, until: str = "done") -> None:
    """Press Generate and wait until this run (not the one before) reaches ``until``."""
    status = page.get_by_test_id("status")
    runs = int(status.get_attribute("data-runs") or 0)
    page.get_by_test_id("prompt").fill(prompt)
    page.get_by_test_id("generate").click()
    expect(status).to_have_attribute("data-runs", str(runs + 1), timeout=RUN_TIMEOUT_MS)
    expect(status).to_have_attribute("data-state", until, timeout=RUN_TIMEOUT_MS)


def preview_app_id(page: Page) -> str:
    """The app id in the preview's src: its origin is app-<hex>.localhost:<port>."""
    src = page.get_by_test_id("preview").get_attribute("src") or ""
    label = (urlsplit(src).hostname or "").split(".")[0]
    assert label.startswith("app-"), src
    return "app_" + label.removeprefix("app-")


def preview_origin(page: Page) -> str:
    src = urlsplit(page.get_by_test_id("preview").get_attribute("src") or "")
    return f"{src.scheme}://{src.netloc}"


TASKS = ["Buy chalk", "Book the wall"]


def use_the_todo_app_in_the_preview(page: Page) -> None:
    """Add two tasks in the generated to-do app, in the page's preview, and see them listed.

    The iframe allows same-origin, so the app runs with its own origin (a
    sandbox without it gives the opaque origin "null", and no storage at all);
    that origin is the app's, not the page's nor the API's. This Chromium, like
    an incognito window, refuses an embedded site its storage, so here the app
    keeps its tasks in memory; Chrome's default profile, Firefox and Safari
    give it (partitioned) localStorage.
    """
    frame = page.frame_locator("[data-testid=preview]")
    for task in TASKS:
        frame.get_by_label("New task").fill(task)
        frame.get_by_role("button", name="Add").click()
    expect(frame.locator("#items li")).to_have_text(TASKS, timeout=RUN_TIMEOUT_MS)
    expect(frame.locator("#count")).to_have_text("2 left", timeout=RUN_TIMEOUT_MS)
    origin = frame.locator("body").evaluate("() => self.origin")
    assert origin == preview_origin(page)
    assert urlsplit(origin).hostname != urlsplit(page.url).hostname


def listed_files(page: Page) -> list[str]:
    paths: list[str] = page.locator("[data-testid=files] li").evaluate_all(
        "items => items.map(li => li.dataset.path)")
    return paths


# -- the main-thread page (async client) ----------------------------------------

def test_page_boots_asking_local_origins_only(page: Page, demo: Demo) -> None:
    open_demo(page, demo.origin)
    seen: list[str] = page.requests_seen  # type: ignore[attr-defined]
    # The runtime came from this site, not a CDN (the page fixture fails the
    # test on any request to another host when its context closes).
    origin = urlsplit(demo.origin).netloc
    # Under their cached names (site/_v/, see build.py's cached_names).
    for asset in (r"/_v/pyscript-[^/]+/core\.js", r"/_v/pyodide-[^/]+/pyodide\.asm\.wasm",
                  r"/_v/pyodide-[^/]+/python_stdlib\.zip", r"/_v/wheels-[^/]+/pf_browser-"):
        assert any(urlsplit(u).netloc == origin and re.search(asset, u) for u in seen), asset
    # Only what the page uses: pyodide-http serves the worker page alone.
    assert not any("pyodide_http" in u for u in seen), [u for u in seen if "pyodide_http" in u]
    expect(page.get_by_test_id("status")).to_contain_text("Sign in", timeout=RUN_TIMEOUT_MS)


def test_signed_out_generate_says_sign_in(page: Page, demo: Demo) -> None:
    open_demo(page, demo.origin)
    generate(page, until="error")
    expect(page.get_by_test_id("status")).to_contain_text("signed out", timeout=RUN_TIMEOUT_MS)
    assert listed_files(page) == []


def test_prompt_lists_every_file_in_order_then_previews_the_app(
        page: Page, demo: Demo) -> None:
    open_demo(page, demo.origin, user=BUILDER)
    generate(page)
    src = page.get_by_test_id("preview").get_attribute("src") or ""
    app_id = preview_app_id(page)
    app = demo.api_call("GET", f"/v1/apps/{app_id}").json()
    assert app["status"] == "ready" and app["endUserId"] == BUILDER.id
    assert listed_files(page) == [f["path"] for f in app["files"]]
    assert {"index.html", "styles.css", "app.js"} <= set(listed_files(page))
    assert src == app["previewUrl"]
    # The generated app itself, rendered in the iframe from its own origin.
    body = page.frame_locator("[data-testid=preview]").locator("body")
    expect(body).to_contain_text("bakery", ignore_case=True, timeout=RUN_TIMEOUT_MS)


def test_a_generated_todo_app_works_in_the_preview(page: Page, demo: Demo) -> None:
    open_demo(page, demo.origin, user=BUILDER)
    generate(page, "A to-do list for a climbing club")
    use_the_todo_app_in_the_preview(page)


def test_revoked_session_is_replaced_by_exactly_one_refresh(
        page: Page, demo: Demo) -> None:
    open_demo(page, demo.origin, user=BUILDER)
    generate(page)
    first = demo.mints(BUILDER)
    assert first >= 1  # the first token: at sign-in, or on first use
    revoked = demo.api_call("POST", "/v1/sessions/revoke", json={"endUserId": BUILDER.id})
    assert revoked.status_code < 300, revoked.text
    generate(page, "A to-do list for a climbing club")
    assert demo.mints(BUILDER) == first + 1  # exactly one refresh after the revoke
    expect(page.get_by_test_id("preview")).to_be_visible(timeout=RUN_TIMEOUT_MS)


def test_read_only_user_gets_a_clear_error_for_generate(page: Page, demo: Demo) -> None:
    open_demo(page, demo.origin, user=READER)
    generate(page, until="error")
    status = page.get_by_test_id("status")
    expect(status).to_contain_text("not build them", timeout=RUN_TIMEOUT_MS)
    expect(status).to_contain_text("“build” permission", timeout=RUN_TIMEOUT_MS)
    assert listed_files(page) == []


def test_over_quota_says_so_in_the_page(page: Page, demo: Demo) -> None:
    open_demo(page, demo.origin, user=BUILDER)
    used = demo.api_call("GET", "/v1/usage").json()["used"]
    demo.api.set_quota(used)  # every run of today is spent
    try:
        generate(page, until="error")
    finally:
        demo.api.set_quota(1000)
    expect(page.get_by_test_id("status")).to_contain_text("quota is used up",
                                                          timeout=RUN_TIMEOUT_MS)
    assert listed_files(page) == []


def test_unreachable_api_says_network_down(page: Page, demo: Demo) -> None:
    open_demo(page, demo.origin, user=BUILDER)
    api_host = urlsplit(demo.api.base_url).netloc
    # The network drops every request to the API (the app server still answers).
    page.route(lambda url: urlsplit(url).netloc == api_host, lambda route: route.abort())
    generate(page, until="error")
    expect(page.get_by_test_id("status")).to_contain_text("Can't reach PromptFloe",
                                                          timeout=RUN_TIMEOUT_MS)


def test_cancel_mid_stream_aborts_the_fetch_and_the_server_sees_it(
        page: Page, paced_demo: Demo) -> None:
    open_demo(page, paced_demo.origin, user=BUILDER)
    page.get_by_test_id("prompt").fill(PROMPT)
    page.get_by_test_id("generate").click()
    expect(page.locator("[data-testid=files] li")).to_have_count(1, timeout=RUN_TIMEOUT_MS)
    run_id = page.get_by_test_id("status").get_attribute("data-run-id")
    assert run_id
    page.get_by_test_id("cancel").click()
    expect(page.get_by_test_id("status")).to_have_attribute("data-state", "cancelled",
                                                            timeout=RUN_TIMEOUT_MS)
    assert paced_demo.api.wait_for_disconnect(run_id), "the server never saw the disconnect"
    expect(page.get_by_test_id("preview")).to_be_hidden(timeout=RUN_TIMEOUT_MS)
    expect(page.get_by_test_id("generate")).to_be_enabled(timeout=RUN_TIMEOUT_MS)


# -- the worker page (sync client) ------------------------------------------------

def test_worker_page_generates_end_to_end(page: Page, demo: Demo) -> None:
    open_demo(page, demo.origin, "/worker.html", user=BUILDER)
    assert page.evaluate("crossOriginIsolated") is True
    generate(page)
    files = listed_files(page)
    assert {"index.html", "styles.css", "app.js"} <= set(files)
    app = demo.api_call("GET", f"/v1/apps/{preview_app_id(page)}").json()
    assert files == [f["path"] for f in app["files"]]
    # The page is cross-origin isolated; the preview opts in with CORP and COEP.
    body = page.frame_locator("[data-testid=preview]").locator("body")
    expect(body).to_contain_text("bakery", ignore_case=True, timeout=RUN_TIMEOUT_MS)


def test_a_generated_todo_app_works_in_the_worker_pages_preview(
        page: Page, demo: Demo) -> None:
    open_demo(page, demo.origin, "/worker.html", user=BUILDER)
    assert page.evaluate("crossOriginIsolated") is True
    generate(page, "A to-do list for a climbing club")
    use_the_todo_app_in_the_preview(page)


def test_worker_page_cancel_closes_the_stream_at_the_next_event(
        page: Page, paced_demo: Demo) -> None:
    # The worker's Python is busy while it streams, so Cancel is a flag it
    # reads between events: the stream closes at the next one, and the server
    # sees the disconnect before the run is over.
    open_demo(page, paced_demo.origin, "/worker.html", user=BUILDER)
    page.get_by_test_id("prompt").fill(PROMPT)
    page.get_by_test_id("generate").click()
    expect(page.locator("[data-testid=files] li")).to_have_count(1, timeout=RUN_TIMEOUT_MS)
    run_id = page.get_by_test_id("status").get_attribute("data-run-id")
    assert run_id
    page.get_by_test_id("cancel").click()
    expect(page.get_by_test_id("status")).to_have_attribute("data-state", "cancelled",
                                                            timeout=RUN_TIMEOUT_MS)
    assert paced_demo.api.wait_for_disconnect(run_id), "the server never saw the disconnect"
    expect(page.get_by_test_id("preview")).to_be_hidden(timeout=RUN_TIMEOUT_MS)


# -- the demo app server under attack, and without PromptFloe ----------------------

def sign_in_only(page: Page, origin: str, user: DemoUser) -> None:
    """Sign in with the demo's form, without waiting for Python to boot."""
    page.set_default_timeout(RUN_TIMEOUT_MS)
    page.goto(origin + "/")
    page.select_option("select[name=user]", user.id)
    page.get_by_test_id("signin").click()
    expect(page.get_by_test_id("user")).to_contain_text(user.name, timeout=RUN_TIMEOUT_MS)


def test_a_page_on_another_origin_cannot_sign_the_user_out_or_in(
        page: Page, demo: Demo) -> None:
    """Chromium's own headers on a cross-origin form post (same site: another
    port of 127.0.0.1, as the API's previews are) get a 403, and the user
    stays signed in as themselves."""
    sign_in_only(page, demo.origin, BUILDER)
    evil = "http://127.0.0.1:9/evil.html"
    forms = (f'<form id=out method=post action="{demo.origin}/signout"></form>'
             f'<form id=in method=post action="{demo.origin}/signin">'
             f'<input name=user value="{READER.id}"></form>')
    page.route(evil, lambda route: route.fulfill(
        content_type="text/html", body=f"<!doctype html>{forms}"))
    for form in ("out", "in"):
        page.goto(evil)
        with page.expect_navigation():
            page.evaluate(f"document.getElementById({form!r}).submit()")
        assert "cross_site_request" in page.content()
        assert page.url.startswith(demo.origin)  # a 403 page, not a redirect elsewhere
    who = page.request.get(demo.origin + "/config.json").json()["user"]
    assert who is not None and who["id"] == BUILDER.id


def test_when_the_app_server_cannot_reach_promptfloe_the_page_says_so(
        page: Page, site_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    import logging
    import socket

    with socket.socket() as probe:  # a port nothing listens on: PromptFloe is down
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    caplog.set_level(logging.WARNING, logger="pf_demo")
    app = create_app(api_base_url=dead, api_key="pf_test_" + "k" * 32, site_dir=site_dir,
                     users=[BUILDER])
    with ThreadedServer(app) as app_server:
        open_demo(page, app_server.origin, user=BUILDER)
        generate(page, until="error")
        status = page.get_by_test_id("status")
        expect(status).to_contain_text("PromptFloe can't be reached right now",
                                       timeout=RUN_TIMEOUT_MS)
    assert any(r.name == "pf_demo" and dead in r.getMessage() and "ConnectError" in r.getMessage()
               for r in caplog.records), caplog.text
