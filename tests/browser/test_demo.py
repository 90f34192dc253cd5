"""The demo pages end to end, in Chromium, Firefox and WebKit.

Each test runs once per engine (the ``engine`` fixture): the browser differs,
the test does not. Two loopback origins, as in production: the PromptFloe API
(pf_server's LiveServer) and the demo app server (pf_demo) serving the built
site and minting session tokens; one set of both for every engine.

Booting Python in a page is the slow part, so each class of tests shares one
page per engine (signed out, signed in as a builder, as a reader, the worker
page), opened with fresh cookies. After each test, the page must not have
asked anything of a host that is not loopback (``Page.strays()``).
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from _drivers import Browser, Page, Unsupported
from _local_servers import ThreadedServer
from playwright.sync_api import Page as PlaywrightPage
from playwright.sync_api import expect

pf_server_testing = pytest.importorskip("pf_server.testing")
pytest.importorskip("uvicorn")

from pf_demo import DemoUser, create_app  # noqa: E402
from pf_server.generator import TemplateGenerator  # noqa: E402

# Generous bounds for a busy 2-core machine; the tests wait for states, never for time.
BOOT_TIMEOUT = 120  # Pyodide's first boot (WebKit under load is the slowest)
FIREFOX_HUNG = 60  # a Firefox page not ready by then has hung (see demo_page)
RUN_TIMEOUT = 90
BUILDER = DemoUser("ada", "Ada (builder)", ("build", "read", "deploy"))
READER = DemoUser("rey", "Rey (read-only)", ("read",))
PROMPT = "A landing page for a neighbourhood bakery"


def tid(name: str) -> str:
    return f'[data-testid="{name}"]'


class Demo:
    """One API server plus the demo app server that mints sessions against it."""

    def __init__(self, api: Any, app_server: ThreadedServer, app: Any,
                 generator: TemplateGenerator) -> None:
        self.api = api
        self.app_server = app_server
        self.app = app
        self.generator = generator

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
    def paced(self, seconds: float) -> Iterator[None]:
        """Files come ``seconds`` apart meanwhile, so a run can be cancelled mid-way."""
        before, self.generator.pace = self.generator.pace, seconds
        try:
            yield
        finally:
            self.generator.pace = before


@contextmanager
def demo_servers(site_dir: Path, *, pace: float = 0.0) -> Iterator[Demo]:
    """The API (files ``pace`` s apart, changeable with ``Demo.paced``) and the app server."""
    generator = TemplateGenerator(pace)
    with pf_server_testing.LiveServer(allowed_origins=[], generator=generator) as api:
        app = create_app(api_base_url=api.base_url, api_key=api.api_key, site_dir=site_dir,
                         users=[BUILDER, READER])
        with ThreadedServer(app) as app_server:
            api.set_allowed_origins([app_server.origin])
            yield Demo(api, app_server, app, generator)


@pytest.fixture(scope="session")
def demo(site_dir: Path) -> Iterator[Demo]:
    with demo_servers(site_dir) as servers:
        yield servers


# -- driving the page as a person does ----------------------------------------------

def state_is(state: str) -> str:
    return f"document.querySelector('{tid('status')}')?.dataset.state === {json.dumps(state)}"


def open_demo(page: Page, origin: str, path: str = "/", user: DemoUser | None = None, *,
              boot_timeout: float = BOOT_TIMEOUT) -> None:
    """Open the demo page, sign in as ``user`` (if any) and wait for Python."""
    page.goto(origin + path)
    if user is not None:
        # The demo sign-in form, as a person uses it.
        page.wait_for(f"document.querySelector('{tid('signin')}')", timeout=RUN_TIMEOUT,
                      what="the sign-in form")
        page.select("select[name=user]", user.id)
        page.click(tid("signin"))
        page.wait_for(f"document.querySelector('{tid('user')}')?.textContent"
                      f".includes({json.dumps(user.name)})", timeout=RUN_TIMEOUT,
                      what=f"signed in as {user.name}")
    page.wait_for(state_is("ready"), timeout=boot_timeout, what="Python ready in the page")
    if user is not None:  # ready for this user (the page signs in without a reload)
        page.wait_for(f"document.querySelector('{tid('status')}').textContent"
                      f".includes({json.dumps(user.name)})", timeout=RUN_TIMEOUT,
                      what=f"ready for {user.name}")


@contextmanager
def demo_page(engine: Browser, origin: str, path: str = "/",
              user: DemoUser | None = None) -> Iterator[Page]:
    """A fresh page, signed in and booted.

    Firefox's worker page now and then never finishes booting: its worker's
    ``new Worker()`` never returns (docs/browser.md), about one boot in 25
    here, sometimes twice in a row, and once in CI a fresh page in the same
    browser hung too. So where the engine can restart (Firefox), a boot that
    is not ready within FIREFOX_HUNG s (a few seconds is usual, under load
    well under a minute) is tried again in a restarted browser, up to three
    times in all, with a warning saying how far it got. Elsewhere a boot gets
    BOOT_TIMEOUT and one more try in a fresh page. The last hang fails the test.
    """
    restarts = engine.can_restart
    attempts = 3 if restarts else 2
    for attempt in range(1, attempts + 1):
        last = attempt == attempts
        page = engine.new_page()
        try:
            open_demo(page, origin, path, user,
                      boot_timeout=FIREFOX_HUNG if restarts and not last else BOOT_TIMEOUT)
        except AssertionError as exc:
            page.close()
            if last:
                raise
            if restarts:
                engine.restart()
            warnings.warn(f"{engine.engine}: {path} did not boot (attempt {attempt}); trying "
                          f"again in a {'restarted browser' if restarts else 'fresh page'}: "
                          f"{exc}", stacklevel=2)
            continue
        try:
            yield page
        finally:
            page.close()
        return


def checked(page: Page) -> Iterator[Page]:
    """Yield the page; afterwards, fail if it asked a host that is not loopback."""
    yield page
    strays = page.strays()
    assert not strays, (f"{page.engine}: the page asked for non-local hosts: {strays[:10]}; "
                        f"errors: {page.errors[-5:]}")


def press(page: Page, button: str) -> None:
    """Click a button once it is enabled, as a person would: the page enables
    Generate only after the last run has wound up, which in a worker page
    can come a while after its status says "done" (a click on a disabled
    button is lost)."""
    page.wait_for(f"!document.querySelector('{tid(button)}').disabled", timeout=RUN_TIMEOUT,
                  what=f"the {button} button enabled")
    page.click(tid(button))


def generate(page: Page, prompt: str = PROMPT, *, until: str = "done") -> None:
    """Press Generate and wait until this run (not the one before) reaches ``until``."""
    runs = int(page.attr(tid("status"), "data-runs") or 0)
    page.fill(tid("prompt"), prompt)
    press(page, "generate")
    page.wait_for(f"document.querySelector('{tid('status')}').dataset.runs === '{runs + 1}'",
                  timeout=RUN_TIMEOUT, what=f"run {runs + 1} to start")
    page.wait_for(state_is(until), timeout=RUN_TIMEOUT, what=f"the run to end {until!r}")


def listed_files(page: Page) -> list[str]:
    return list(page.evaluate(
        f"[...document.querySelectorAll('{tid('files')} li')].map(li => li.dataset.path)"))


def status_text(page: Page) -> str:
    return page.text(tid("status"))


def preview_app(page: Page, demo: Demo) -> dict[str, Any]:
    """The app in the preview, from the API; its origin is app-<hex>.localhost:<port>."""
    src = page.attr(tid("preview"), "src") or ""
    label = (urlsplit(src).hostname or "").split(".")[0]
    assert label.startswith("app-"), src
    app_id = "app_" + label.removeprefix("app-")
    app: dict[str, Any] = demo.api_call("GET", f"/v1/apps/{app_id}").json()
    assert src == app["previewUrl"]
    return app


def generates_then_previews(page: Page, demo: Demo) -> None:
    """A run as Ada: every file listed in the API's order, then the app itself
    rendered in the preview iframe from its own origin."""
    generate(page)
    app = preview_app(page, demo)
    assert app["status"] == "ready" and app["endUserId"] == BUILDER.id
    assert listed_files(page) == [f["path"] for f in app["files"]]
    assert {"index.html", "styles.css", "app.js"} <= set(listed_files(page))
    page.wait_for_frame_text(tid("preview"), "bakery", timeout=RUN_TIMEOUT)


def one_refresh_after_a_revoke(page: Page, demo: Demo) -> int:
    """Revoke Ada's sessions between two runs: the second run costs exactly
    one session fetch and still lists its files. Returns the mint count
    before the revoke."""
    generate(page)  # the page holds a token (fetched on first use, or earlier)
    before = demo.mints(BUILDER)
    revoked = demo.api_call("POST", "/v1/sessions/revoke", json={"endUserId": BUILDER.id})
    assert revoked.status_code < 300, revoked.text
    history = page.evaluate("history.length")
    generate(page, "A to-do list for a climbing club")
    assert demo.mints(BUILDER) == before + 1  # exactly one refresh after the revoke
    assert listed_files(page), "the run after the refresh listed no file"
    # The new app got a fresh preview frame: the page's history did not grow
    # (Back still leaves the page, not an earlier preview).
    assert page.evaluate("history.length") == history
    return before


def cancel_mid_stream(page: Page, demo: Demo, pace: float = 2.0) -> None:
    # Files ``pace`` s apart: long enough to cancel after the first file even
    # when a look at the page takes a second or two under load.
    runs = int(page.attr(tid("status"), "data-runs") or 0)
    with demo.paced(pace):
        page.fill(tid("prompt"), PROMPT)
        press(page, "generate")
        # This run's first file, not one left from the run before.
        page.wait_for(f"document.querySelector('{tid('status')}').dataset.runs === '{runs + 1}'"
                      f" && document.querySelectorAll('{tid('files')} li').length >= 1",
                      timeout=RUN_TIMEOUT, what="the run's first file")
        run_id = page.attr(tid("status"), "data-run-id")
        assert run_id
        press(page, "cancel")
        page.wait_for(state_is("cancelled"), timeout=RUN_TIMEOUT, what="the run cancelled")
        assert demo.api.wait_for_disconnect(run_id, max(10.0, 4 * pace)), (
            "the server never saw the disconnect")
    assert page.evaluate(f"document.querySelector('{tid('preview')}').hidden") is True
    page.wait_for(f"!document.querySelector('{tid('generate')}').disabled",
                  timeout=RUN_TIMEOUT, what="Generate enabled again")


# -- the harness itself ---------------------------------------------------------------

def test_a_request_off_loopback_is_caught(engine: Browser, demo: Demo) -> None:
    # The check every other test ends with must be able to fail: a page that
    # asks a non-local host is seen (and the request goes nowhere).
    with engine.page() as page:
        page.goto(demo.origin + "/demo.css")  # not JSON: Firefox views that in a page of its own
        page.evaluate("fetch('http://pf-stray-check.invalid/x').then(() => 1, () => 0)")
        page.wait_for("true")
        strays = page.strays()
        assert any("pf-stray-check.invalid" in url for url in strays), strays


# -- the main-thread page (async client) ----------------------------------------------

class TestSignedOut:
    @pytest.fixture(scope="class")
    @staticmethod
    def shared(engine: Browser, demo: Demo) -> Iterator[Page]:
        with demo_page(engine, demo.origin) as page:
            yield page

    @pytest.fixture
    def page(self, shared: Page) -> Iterator[Page]:
        yield from checked(shared)

    def test_page_boots_asking_local_origins_only(self, page: Page, demo: Demo) -> None:
        # The runtime came from this site, not a CDN (and strays are checked after).
        origin = urlsplit(demo.origin).netloc
        seen = page.requests
        # Under their cached names (site/_v/, see build.py's cached_names).
        for asset in (r"/_v/pyscript-[^/]+/core\.js", r"/_v/pyodide-[^/]+/pyodide\.asm\.wasm",
                      r"/_v/pyodide-[^/]+/python_stdlib\.zip",
                      r"/_v/page-files-main-[0-9a-f]+\.bin\.gz"):
            assert any(urlsplit(u).netloc == origin and re.search(asset, u) for u in seen), asset
        # Only what the page uses: pyodide-http serves the worker page alone
        # (whose files alone hold it; see test_boot).
        assert not any("pyodide_http" in u or "page-files-worker" in u for u in seen), [
            u for u in seen if "pyodide_http" in u]
        assert "Sign in" in status_text(page)

    def test_signed_out_generate_says_sign_in(self, page: Page) -> None:
        generate(page, until="error")
        assert "signed out" in status_text(page)
        assert listed_files(page) == []


class TestBuilder:
    """Signed in with the build scope: one page per engine, several runs in it."""

    @pytest.fixture(scope="class")
    @staticmethod
    def shared(engine: Browser, demo: Demo) -> Iterator[Page]:
        with demo_page(engine, demo.origin, user=BUILDER) as page:
            yield page

    @pytest.fixture
    def page(self, shared: Page) -> Iterator[Page]:
        yield from checked(shared)

    def test_prompt_lists_every_file_in_order_then_previews_the_app(
            self, page: Page, demo: Demo) -> None:
        generates_then_previews(page, demo)

    def test_revoked_session_is_replaced_by_exactly_one_refresh(
            self, page: Page, demo: Demo) -> None:
        before = one_refresh_after_a_revoke(page, demo)
        generate(page, "A timetable for a ferry")
        assert demo.mints(BUILDER) == before + 1  # and the new token is kept

    def test_cancel_mid_stream_aborts_the_fetch_and_the_server_sees_it(
            self, page: Page, demo: Demo) -> None:
        cancel_mid_stream(page, demo)

    def test_over_quota_says_so_in_the_page(self, page: Page, demo: Demo) -> None:
        used = demo.api_call("GET", "/v1/usage").json()["used"]
        demo.api.set_quota(used)  # every run of today is spent
        try:
            generate(page, until="error")
        finally:
            demo.api.set_quota(1000)
        assert "quota is used up" in status_text(page)
        assert listed_files(page) == []

    def test_unreachable_api_says_network_down(self, page: Page, demo: Demo) -> None:
        # Last in this class: from here on, the page cannot reach the API.
        try:
            page.block(urlsplit(demo.api.base_url).netloc)
        except Unsupported as exc:
            pytest.skip(str(exc))
        generate(page, until="error")
        assert "Can't reach PromptFloe" in status_text(page)


def test_read_only_user_gets_a_clear_error_for_generate(engine: Browser, demo: Demo) -> None:
    with demo_page(engine, demo.origin, user=READER) as page:
        generate(page, until="error")
        words = status_text(page)
        assert "not build them" in words and "“build” permission" in words, words
        assert listed_files(page) == []
        assert not page.strays()


# -- the worker page (sync client) ------------------------------------------------------

class TestWorker:
    @pytest.fixture(scope="class")
    @staticmethod
    def shared(engine: Browser, demo: Demo) -> Iterator[Page]:
        with demo_page(engine, demo.origin, "/worker.html", user=BUILDER) as page:
            yield page

    @pytest.fixture
    def page(self, shared: Page) -> Iterator[Page]:
        yield from checked(shared)

    def test_worker_page_generates_end_to_end(self, page: Page, demo: Demo) -> None:
        assert page.evaluate("crossOriginIsolated") is True
        # The sync client streams (pyodide-http's helper worker), not buffered.
        assert "buffered" not in page.text(".engine")
        generate(page)
        files = listed_files(page)
        assert {"index.html", "styles.css", "app.js"} <= set(files)
        app = preview_app(page, demo)
        assert files == [f["path"] for f in app["files"]]
        # The page is cross-origin isolated; the preview still shows the app.
        page.wait_for_frame_text(tid("preview"), "bakery", timeout=RUN_TIMEOUT)
        # Another run: its app in a fresh preview frame (made through the
        # worker's proxy to the page), and no history entry for either.
        first, history = page.attr(tid("preview"), "src"), page.evaluate("history.length")
        generate(page)
        assert page.attr(tid("preview"), "src") not in (None, first)
        page.wait_for_frame_text(tid("preview"), "bakery", timeout=RUN_TIMEOUT)
        assert page.evaluate("history.length") == history

    def test_worker_page_cancel_closes_the_stream_at_the_next_event(
            self, page: Page, demo: Demo) -> None:
        # The worker's Python is busy while it streams, so Cancel is a flag it
        # reads between events: the stream closes at the next one, and the
        # server sees the disconnect before the run is over. Files 5 s apart:
        # in WebKit each update of the page from the worker is slow, and the
        # run must still be going when Cancel is read.
        cancel_mid_stream(page, demo, pace=5.0)


# -- the demo app server under attack, and without PromptFloe ----------------------

def test_a_page_on_another_origin_cannot_sign_the_user_out_or_in(
        page: PlaywrightPage, demo: Demo) -> None:
    """Chromium's own headers on a cross-origin form post (same site: another
    port of 127.0.0.1, as the API's previews are) get a 403, and the user
    stays signed in as themselves. Chromium only: the other origin's page is
    served by Playwright's request interception."""
    page.set_default_timeout(RUN_TIMEOUT * 1000)
    page.goto(demo.origin + "/")
    page.select_option("select[name=user]", BUILDER.id)
    page.get_by_test_id("signin").click()
    expect(page.get_by_test_id("user")).to_contain_text(BUILDER.name,
                                                        timeout=RUN_TIMEOUT * 1000)
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


def test_a_boot_that_stalls_says_so_in_the_page(page: PlaywrightPage, demo: Demo) -> None:
    """Python's runtime never arrives (its WebAssembly is held back): after
    half a minute on the page's clock, the boot bar says it is taking longer
    than usual and what to do, beside the step it stopped at. Chromium only:
    it needs Playwright's clock and request interception."""
    page.set_default_timeout(RUN_TIMEOUT * 1000)
    page.clock.install()
    held: list[str] = []
    page.route("**/*.wasm", lambda route: held.append(route.request.url))  # never answered
    with page.expect_request("**/*.wasm", timeout=BOOT_TIMEOUT * 1000):
        page.goto(demo.origin + "/")
    expect(page.get_by_test_id("boot-slow")).to_have_count(0)
    assert page.get_by_test_id("status").get_attribute("data-state") == "booting"
    page.clock.fast_forward(31_000)
    expect(page.get_by_test_id("boot-slow")).to_contain_text("taking longer than usual")
    expect(page.get_by_test_id("boot-slow")).to_contain_text("reload the page")
    assert held, "the test held nothing back: the boot did not ask for WebAssembly"
    assert page.get_by_test_id("status").get_attribute("data-state") == "booting"


def test_when_the_app_server_cannot_reach_promptfloe_the_page_says_so(
        engine: Browser, site_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    import logging
    import socket

    with socket.socket() as probe:  # a port nothing listens on: PromptFloe is down
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    caplog.set_level(logging.WARNING, logger="pf_demo")
    app = create_app(api_base_url=dead, api_key="pf_test_" + "k" * 32, site_dir=site_dir,
                     users=[BUILDER])
    with ThreadedServer(app) as app_server, \
            demo_page(engine, app_server.origin, user=BUILDER) as page:
        generate(page, until="error")
        assert "PromptFloe can't be reached right now" in status_text(page)
        assert not page.strays()
    assert any(r.name == "pf_demo" and dead in r.getMessage() and "ConnectError" in r.getMessage()
               for r in caplog.records), caplog.text


# -- the generated app itself, used in the preview (Chromium: Playwright's frames) ---

TASKS = ["Buy chalk", "Book the wall"]


def pw_open_signed_in(page: PlaywrightPage, origin: str, path: str = "/") -> None:
    page.set_default_timeout(RUN_TIMEOUT * 1000)
    page.goto(origin + path)
    page.select_option("select[name=user]", BUILDER.id)
    page.get_by_test_id("signin").click()
    expect(page.get_by_test_id("user")).to_contain_text(BUILDER.name,
                                                        timeout=RUN_TIMEOUT * 1000)
    expect(page.get_by_test_id("status")).to_have_attribute("data-state", "ready",
                                                            timeout=BOOT_TIMEOUT * 1000)


def pw_generate(page: PlaywrightPage, prompt: str) -> None:
    status = page.get_by_test_id("status")
    runs = int(status.get_attribute("data-runs") or 0)
    page.get_by_test_id("prompt").fill(prompt)
    page.get_by_test_id("generate").click()
    expect(status).to_have_attribute("data-runs", str(runs + 1), timeout=RUN_TIMEOUT * 1000)
    expect(status).to_have_attribute("data-state", "done", timeout=RUN_TIMEOUT * 1000)


def use_the_todo_app_in_the_preview(page: PlaywrightPage) -> None:
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
    expect(frame.locator("#items li")).to_have_text(TASKS, timeout=RUN_TIMEOUT * 1000)
    expect(frame.locator("#count")).to_have_text("2 left", timeout=RUN_TIMEOUT * 1000)
    origin = frame.locator("body").evaluate("() => self.origin")
    src = urlsplit(page.get_by_test_id("preview").get_attribute("src") or "")
    assert origin == f"{src.scheme}://{src.netloc}"
    assert urlsplit(origin).hostname != urlsplit(page.url).hostname


@pytest.mark.parametrize("path", ["/", "/worker.html"])
def test_a_generated_todo_app_works_in_the_preview(page: PlaywrightPage, demo: Demo,
                                                   path: str) -> None:
    pw_open_signed_in(page, demo.origin, path)
    pw_generate(page, "A to-do list for a climbing club")
    use_the_todo_app_in_the_preview(page)
