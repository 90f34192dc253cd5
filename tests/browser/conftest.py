"""Shared fixtures for the tests that drive real browsers.

``engine`` (parametrised: chromium, firefox, webkit) runs a test once in each
engine through the small facade of ``_drivers.py``; see there for how each is
driven and kept off the network. The transport tests below use Playwright's
Chromium directly.

One Chromium per test session (Debian's ``/usr/bin/chromium`` through Python
playwright; never ``playwright install``). Chromium resolves only loopback
names (``--host-resolver-rules``), so nothing a page asks for can leave the
machine, and every page fixture also records each request and fails the test
on any host that is not a local origin.

Fixtures
--------
``engine``            (parametrised) a :class:`_drivers.Browser` for chromium,
                      firefox and webkit, one of each per session; a missing
                      engine skips, saying what to install.
``stray_catcher``     the loopback proxy that Firefox and WebKit send every
                      non-loopback URL to (it refuses and records them).
``chromium``          the session's ``playwright`` Browser.
``site_dir``          the built site (``python build.py`` once per session, or
                      the folder named by ``$PF_SITE``, used as is): holds
                      ``vendor/pyodide/``, ``vendor/pyscript/``, ``wheels/*.whl``.
``site_wheels``       URL paths of the site's wheels (``["/wheels/…whl", …]``).
``test_origin``       a :class:`StaticServer` on 127.0.0.1 serving the site at
                      ``/`` and ``tests/browser/pages/`` at ``/_test/``.
``isolated_origin``   the same, cross-origin isolated (COOP ``same-origin``,
                      COEP ``require-corp``, CORP ``same-origin`` on every answer).
``peer``              a :class:`PeerServer`: a second origin speaking CORS+CORP,
                      streaming with pauses, seeing disconnects (see its docstring).
``page``              a fresh page in its own context; on teardown, fails if a
                      request went to a non-local host. ``page.requests_seen``
                      (a list of URLs) is the record.
``py_page``           (module scope) a :class:`PyPage` on ``test_origin`` with
                      Pyodide and the site's wheels: ``.run(code)`` on the main
                      thread, ``.run_in_worker(code)`` in a module worker.
``isolated_py_page``  the same on ``isolated_origin`` (``crossOriginIsolated`` true).

Helpers for other test modules: :func:`local_only_context` (a context manager
giving a recorded, local-only browser context) and :class:`PyPage`.

``run``/``run_in_worker`` evaluate Python with ``runPythonAsync`` (top-level
``await`` works); the value of the last expression comes back converted to
JSON-like Python (dicts, lists, str, numbers, bool, None). A Python exception
comes back as ``playwright.sync_api.Error`` carrying the traceback text.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("playwright")
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _drivers import CHROMIUM, CHROMIUM_ARGS, ENGINES, StrayCatcher, is_local, launch, missing
from _drivers import Browser as EngineBrowser
from _local_servers import PeerServer, StaticServer

REPO = Path(__file__).resolve().parents[2]
PAGES = Path(__file__).resolve().parent / "pages"
__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "IDB_DONE", "KEPT_SNAPSHOTS", "PAGES", "is_local"]

# In a page: done(request), an IndexedDB request's result (or its error).
IDB_DONE = """
const done = (request) => new Promise((resolve, reject) => {
  request.onsuccess = () => resolve(request.result);
  request.onerror = () => reject(request.error);
});
"""

# In a page: the URLs of the snapshots that a boot module keeps unzipped in
# this origin's IndexedDB database `name` (its store "snapshots", keyed by
# URL), in order; none without the database (which this does not make).
KEPT_SNAPSHOTS = """async (name) => {""" + IDB_DONE + """
  if (!(await indexedDB.databases()).some((db) => db.name === name)) return [];
  const db = await done(indexedDB.open(name));
  try {
    return await done(db.transaction("snapshots").objectStore("snapshots").getAllKeys());
  } finally {
    db.close();
  }
}"""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent

    def in_browser_suite(item: pytest.Item) -> bool:
        return here in Path(str(item.fspath)).parents

    for item in items:
        if in_browser_suite(item):
            item.add_marker(pytest.mark.browser)
    # Browser tests last: sync_playwright keeps an event loop running in the
    # main thread for the whole session, and pytest-asyncio cannot run a test
    # after that ("Runner.run() cannot be called from a running event loop").
    # This holds in each of `build.py test`'s worker processes too: pytest-xdist
    # hands each process its tests in this order.
    items.sort(key=in_browser_suite)


# Chromium 156's renderer now and then dies of a SIGSEGV in a page whose Python
# blocks through JSPI (a read just past the top of the stack it had switched
# to, in five crash dumps here; about one full run in five). Playwright then
# says "Target crashed", and the page, often a module's or a class's shared
# one, is gone. Such a test runs once more (pytest-rerunfailures, configured
# in pyproject.toml for that message only), and before it does, the
# module- and class-scoped fixtures it uses are made again, so that it gets
# live pages. A crash in the second run fails the test; any other failure is
# never run again.
RENDERER_CRASHED = "Target crashed"
_crashed: set[str] = set()  # node ids whose last run lost its renderer


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item,
                              call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.failed and call.excinfo is not None \
            and RENDERER_CRASHED in str(call.excinfo.value):
        _crashed.add(item.nodeid)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.nodeid not in _crashed:
        return
    _crashed.discard(item.nodeid)
    warnings.warn(f"{item.nodeid}: Chromium's renderer crashed; running it once more with "
                  "its pages made again", stacklevel=1)
    info = getattr(item, "_fixtureinfo", None)
    request = getattr(item, "_request", None)
    for definitions in (info.name2fixturedefs.values() if info else ()):
        for definition in definitions:
            if definition.scope in ("class", "module") and definition.cached_result is not None:
                definition.finish(request)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium")
    # Report the requests a service worker makes itself (JupyterLite's fetches
    # what its pages ask for) as context ``request`` events, with
    # ``request.service_worker`` set: Playwright's opt-in, read by its driver.
    os.environ.setdefault("PW_EXPERIMENTAL_SERVICE_WORKER_NETWORK_EVENTS", "1")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def stray_catcher() -> Iterator[StrayCatcher]:
    with StrayCatcher() as catcher:
        yield catcher


@pytest.fixture(scope="session", params=ENGINES)
def engine(request: pytest.FixtureRequest,
           stray_catcher: StrayCatcher) -> Iterator[EngineBrowser]:
    name: str = request.param
    if why := missing(name):
        pytest.skip(why)
    playwright_browser = request.getfixturevalue("chromium") if name == "chromium" else None
    browser = launch(name, stray_catcher, playwright_browser=playwright_browser)
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture(scope="session")
def site_dir() -> Path:
    if env := os.environ.get("PF_SITE"):
        site = Path(env)
    else:
        if not (REPO / "build.py").exists():
            pytest.skip("build.py is not in the repo yet; set PF_SITE to a built site")
        done = subprocess.run([sys.executable, "build.py"], cwd=REPO, capture_output=True,
                              text=True, timeout=600)
        if done.returncode != 0:
            pytest.fail(f"python build.py failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
        site = REPO / "site"
    if not (site / "vendor" / "pyodide" / "pyodide.mjs").exists():
        pytest.fail(f"{site} has no vendor/pyodide/pyodide.mjs")
    return site


@pytest.fixture(scope="session")
def site_wheels(site_dir: Path) -> list[str]:
    wheels = sorted(p.name for p in (site_dir / "wheels").glob("*.whl"))
    if not any(w.startswith("pf_browser-") for w in wheels):
        pytest.fail(f"{site_dir}/wheels holds no pf_browser wheel")
    return [f"/wheels/{w}" for w in wheels]


@pytest.fixture(scope="session")
def test_origin(site_dir: Path) -> Iterator[StaticServer]:
    with StaticServer({"/": site_dir, "/_test/": PAGES}) as server:
        yield server


@pytest.fixture(scope="session")
def isolated_origin(site_dir: Path) -> Iterator[StaticServer]:
    with StaticServer({"/": site_dir, "/_test/": PAGES}, isolated=True) as server:
        yield server


@pytest.fixture(scope="session")
def peer() -> Iterator[PeerServer]:
    with PeerServer() as server:
        yield server


@contextmanager
def local_only_context(browser: Browser, **options: Any) -> Iterator[
        tuple[BrowserContext, list[str]]]:
    """A fresh context that records every request (pages and workers alike).

    On exit, fails the test if any request went to a host that is not local.
    """
    context = browser.new_context(**options)
    seen: list[str] = []
    context.on("request", lambda request: seen.append(request.url))
    try:
        yield context, seen
    finally:
        context.close()
    strays = [url for url in seen if not is_local(url)]
    if strays:
        pytest.fail(f"the page asked for non-local hosts: {strays[:10]}")


@pytest.fixture
def page(chromium: Browser) -> Iterator[Page]:
    with local_only_context(chromium) as (context, seen):
        new_page = context.new_page()
        new_page.requests_seen = seen  # type: ignore[attr-defined]
        yield new_page


class PyPage:
    """A page with Pyodide and our wheels; runs Python on the main thread or in a worker."""

    def __init__(self, page: Page, requests_seen: list[str]) -> None:
        self.page = page
        self.requests_seen = requests_seen

    def run(self, code: str) -> Any:
        return self.page.evaluate("code => window.runPython(code)", code)

    def run_in_worker(self, code: str) -> Any:
        return self.page.evaluate("code => window.runInWorker(code)", code)


@contextmanager
def open_py_page(browser: Browser, origin: str, wheels: list[str]) -> Iterator[PyPage]:
    with local_only_context(browser) as (context, seen):
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(f"{origin}/_test/pyodide.html?wheels={','.join(wheels)}")
        page.wait_for_function("window.pageReady === true")
        yield PyPage(page, seen)


@pytest.fixture(scope="module")
def py_page(chromium: Browser, test_origin: StaticServer,
            site_wheels: list[str]) -> Iterator[PyPage]:
    with open_py_page(chromium, test_origin.origin, site_wheels) as py:
        yield py


@pytest.fixture(scope="module")
def isolated_py_page(chromium: Browser, isolated_origin: StaticServer,
                     site_wheels: list[str]) -> Iterator[PyPage]:
    with open_py_page(chromium, isolated_origin.origin, site_wheels) as py:
        yield py
