"""The JupyterLite site, in real headless Chromium: the shipped notebook, Run All.

The demo app server serves the built site (JupyterLite at ``/lite/``) and
mints session tokens; the PromptFloe API is a second loopback origin, pacing
its files so progress can be seen. The kernel boots once for the module (it
takes 15-30 s here): one page opens ``notebooks/pf_browser.ipynb``, runs every
cell through the Run menu, and waits for the last cell's output (JupyterLab
says "idle" before the kernel has even booted, so outputs are what counts).
Each test then checks one thing that run showed.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from _local_servers import StaticServer
from conftest import KEPT_SNAPSHOTS, is_local
from playwright.sync_api import Browser, Page, Request
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from test_demo import demo_servers

NOTEBOOK = "pf_browser.ipynb"
PACE = 0.3  # seconds between the API's files: the progress has time to show each one
BOOT_TIMEOUT_MS = 180_000  # UI, kernel boot, %pip, one generation: bounded, generous
LAST_OUTPUT = "Refused, as expected"

# Before Run All: remember every value each progress view shows (its
# data-pf-files), as the page changes, so the test sees each count go up and
# not only where it ended. One list per view, in the notebook's order.
WATCH_PROGRESS = """() => {
  window.pfProgressSeen = [];
  const note = () => {
    document.querySelectorAll('[data-pf-files]').forEach((el, i) => {
      const seen = (window.pfProgressSeen[i] ??= []);
      const n = Number(el.dataset.pfFiles);
      if (seen[seen.length - 1] !== n) seen.push(n);
    });
  };
  new MutationObserver(note).observe(document.body,
      {subtree: true, childList: true, characterData: true, attributes: true});
}"""


@dataclass
class Ran:
    page: Page
    origin: str
    requests: list[str]
    by_service_worker: list[str]  # also in ``requests``
    outputs: list[str]  # textContent: cells scrolled out of view have no innerText
    progress_seen: list[list[int]]  # per progress view, in order
    kernel_boot: str | None  # the kernel worker's pfPythonBoot: "snapshot" or "plain"
    console_errors: list[str]  # the page's, as "error: <text> (<url>)"


def open_run_menu(page: Page) -> None:
    # Lumino's menu bar sometimes ignores a first click while the app settles: retry.
    for _ in range(10):
        box = page.locator(".lm-MenuBar-item", has_text="Run").bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + 5, box["y"] + 5)
        try:
            page.wait_for_selector(".lm-Menu", timeout=3_000)
            return
        except Exception:
            page.keyboard.press("Escape")
    pytest.fail("the notebook's Run menu did not open")


def wait_for_kernel_session(page: Page) -> None:
    """Wait until the notebook has its kernel session (its toolbar names the
    kernel): JupyterLab drops a run asked for before then, saying nothing,
    and the cells' prompts stay ``[ ]:``. That window is the time from the
    cells showing to the session starting (0.1 to 0.25 s here); the kernel
    then boots, and a run asked for meanwhile waits for it."""
    page.locator(".jp-KernelName", has_text="Python (Pyodide)").wait_for()


def console_of(page: Page) -> list[str]:
    """What ``page`` says in its console from now on, as it says it."""
    said: list[str] = []
    page.on("console", lambda message: said.append(message.text))
    return said


def run_new_cell(page: Page, code: str) -> str:
    """Add a code cell at the notebook's end, run it, and return its output."""
    cells = page.locator(".jp-Notebook .jp-Cell")
    before = cells.count()
    cells.last.locator(".jp-InputPrompt").click()  # selects it
    page.keyboard.press("Escape")  # command mode
    page.keyboard.press("b")  # a code cell below, selected
    page.keyboard.press("Enter")  # edit it
    page.keyboard.type(code)
    page.keyboard.press("Shift+Enter")
    assert cells.count() > before
    output = cells.nth(before).locator(".jp-OutputArea-output")
    output.wait_for()
    return output.inner_text()


def kernel_boot(page: Page) -> str | None:
    """How the kernel's worker started Python, as its boot module recorded it."""
    for worker in page.workers:
        boot = worker.evaluate("globalThis.pfPythonBoot ?? null")
        if boot is not None:
            return str(boot)
    return None


@contextmanager
def run_all(chromium: Browser, site_dir: Path,
            refuse: str | None = None) -> Iterator[Ran]:
    """Open the shipped notebook on the demo servers and run every cell;
    requests to URLs matching ``refuse`` fail (a network error)."""
    if not (site_dir / "lite" / "files" / NOTEBOOK).is_file():
        pytest.fail(f"{site_dir}/lite holds no {NOTEBOOK}: the build did not make the site")
    with demo_servers(site_dir, pace=PACE) as demo:
        context = chromium.new_context(viewport={"width": 1200, "height": 1000})
        if refuse:
            context.route(refuse, lambda route: route.abort())
        requests: list[str] = []
        by_service_worker: list[str] = []

        def seen(request: Request) -> None:
            requests.append(request.url)
            if request.service_worker is not None:
                by_service_worker.append(request.url)

        context.on("request", seen)
        try:
            page = context.new_page()
            console: list[str] = []
            page.on("console", lambda m: console.append(
                f"{m.type}: {m.text} ({m.location.get('url')})"[:300])
                if m.type == "error" else None)
            page.set_default_timeout(BOOT_TIMEOUT_MS)
            page.goto(f"{demo.origin}/lite/notebooks/index.html?path={NOTEBOOK}")
            page.wait_for_selector(".jp-Notebook .jp-Cell")
            page.evaluate(WATCH_PROGRESS)
            wait_for_kernel_session(page)
            open_run_menu(page)
            page.locator("li[data-command='runmenu:run-all']").click()
            try:
                page.locator(".jp-OutputArea-output", has_text=LAST_OUTPUT).wait_for(
                    state="attached")
            except PlaywrightTimeoutError:
                outputs = page.locator(".jp-OutputArea-output").all_text_contents()
                pytest.fail(f"Run All did not finish; outputs so far: {outputs}; "
                            f"console errors: {console[-10:]}")
            outputs = page.locator(".jp-OutputArea-output").all_text_contents()
            yield Ran(page, demo.origin, requests, by_service_worker, outputs,
                      page.evaluate("pfProgressSeen"), kernel_boot(page), console)
        finally:
            context.close()


@pytest.fixture(scope="module")
def ran(chromium: Browser, site_dir: Path) -> Iterator[Ran]:
    with run_all(chromium, site_dir) as done:
        yield done


def assert_every_cell_ran(ran: Ran) -> None:
    text = "\n".join(ran.outputs)
    assert "Traceback" not in text, text[:3000]
    assert "Signed in as Ada (builder)" in text
    assert re.search(r"4 files, \d+ bytes: \['index.html'", text)
    # The sync variant: Chromium has JSPI, so `for event in stream` streams in a cell.
    assert re.search(r"Sync client: 4 files, then ready: \['index.html'", text), text[:3000]
    assert "Deployment of app_" in text
    assert re.search(r"http://site-[0-9a-f]{32}\.localhost:\d+/", text)  # its own origin
    assert "Signed in as Rey (read-only), with the scopes read." in text
    assert "No apps yet." in text


def test_run_all_gives_every_cell_its_output_and_no_traceback(ran: Ran) -> None:
    assert_every_cell_ran(ran)
    text = "\n".join(ran.outputs)
    # The session is shown without its token.
    assert re.search(r"scopes\s*build, read, deploy", text) and "hidden" in text
    assert "pf_sess_" not in ran.page.content()


def test_the_notebook_page_logs_no_error(ran: Ran) -> None:
    # Not even for the browser's own ask for /favicon.ico, made before
    # JupyterLite names its icon: the site has one at its root.
    assert ran.console_errors == [], ran.console_errors


def test_the_progress_counts_files_as_they_arrive(ran: Ran) -> None:
    # The API paces its four files: each of Ada's runs counted 0, 1, 2, 3, 4, not
    # straight from nothing to done; Rey's refused run stayed at 0.
    *runs, refused = ran.progress_seen
    assert runs and all(seen == [0, 1, 2, 3, 4] for seen in runs), ran.progress_seen
    assert refused == [0]
    states = ran.page.locator("[data-pf-state]").evaluate_all(
        "els => els.map(e => e.dataset.pfState)")
    assert states == ["done"] * len(runs) + ["error"]  # then Rey's refusal, in words


def test_the_preview_iframe_shows_the_generated_app(ran: Ran) -> None:
    frames = ran.page.locator(".jp-OutputArea-output iframe")
    # One per finished run (Ada's); Rey's refused run shows none.
    assert frames.count() == len(ran.progress_seen) - 1 >= 1
    headings = []
    for i in range(frames.count()):
        frame = frames.nth(i)
        assert frame.get_attribute("credentialless") is not None
        assert frame.get_attribute("sandbox") == "allow-scripts allow-forms allow-same-origin"
        document = frame.element_handle().content_frame()
        assert document is not None
        headings.append(document.locator("h1").inner_text(timeout=30_000))
    assert "bakery" in headings[0].lower(), headings


def test_every_request_stayed_on_loopback_and_the_runtime_is_ours(ran: Ran) -> None:
    strays = [u for u in ran.requests if not is_local(u)]
    assert strays == []
    # The record covers the service worker's own fetches (JupyterLite's passes
    # its pages' requests on) and the kernel worker's (the lock and wheels below).
    assert ran.by_service_worker, "no request of the service worker was recorded"
    paths = [urlsplit(u).path for u in ran.requests
             if urlsplit(u).netloc == urlsplit(ran.origin).netloc]
    # Pyodide from the pages' one copy (its cached name), through the kernel's
    # boot module, with the kernel's snapshot and files (fetched by the
    # kernel's worker, so worker requests are in the record): the kernel
    # installed nothing at boot. Its lock is still Pyodide's. The %pip wheels
    # come from the site.
    assert ran.kernel_boot == "snapshot"
    # The kernel keeps its snapshot unzipped for the next visit, in a database of
    # its own (the pages keep theirs beside it, untouched).
    snapshot = next(p for p in paths if re.fullmatch(r"/_v/kernel-snapshot-\w+\.bin\.gz", p))
    deadline = time.monotonic() + 30
    while (kept := [urlsplit(url).path for url in ran.page.evaluate(
            KEPT_SNAPSHOTS, "pf_browser-kernel-snapshot")]) != [snapshot]:
        assert time.monotonic() < deadline, kept
        ran.page.wait_for_timeout(100)
    assert any(re.fullmatch(r"/_v/pyodide-[^/]+/pyodide\.asm\.wasm", p) for p in paths), paths
    assert any(re.fullmatch(r"/_v/kernel-[0-9a-f]{16}\.mjs", p) for p in paths)
    assert any(re.fullmatch(r"/_v/kernel-snapshot-[0-9a-f]{16}\.bin\.gz", p) for p in paths)
    assert any(re.fullmatch(r"/_v/kernel-files-[0-9a-f]{16}\.bin\.gz", p) for p in paths)
    assert not any(p.startswith(("/lite/static/pyodide", "/vendor/pyodide")) for p in paths)
    # The kernel's lock, which Pyodide reads once the snapshot is in: asked
    # for by the boot module at once, before the snapshot, and Pyodide got
    # that answer, not a second download (the record holds each of the
    # worker's requests as often as it holds the snapshot's).
    lock = "/lite/kernel-packages/pyodide-lock.json"
    assert paths.index(lock) < paths.index(snapshot), paths
    assert paths.count(lock) == paths.count(snapshot), paths
    assert not any(p.endswith(".whl") and p.startswith("/lite/kernel-packages/") for p in paths)
    assert any(re.fullmatch(r"/lite/pypi/pf_browser-.*\.whl", p) for p in paths)
    assert "/lite/pypi/ipywidgets-8.1.9-py3-none-any.whl" in paths


def test_without_its_snapshot_the_kernel_boots_plainly_and_every_cell_runs(
        chromium: Browser, site_dir: Path) -> None:
    # The snapshot refused (as a browser without JSPI skips it): Python boots
    # plainly, the boot module writes the kernel's packages all the same, and
    # the notebook runs as before, the sync cell included.
    with run_all(chromium, site_dir, refuse="**/_v/kernel-snapshot-*") as ran:
        assert ran.kernel_boot == "plain"
        assert_every_cell_ran(ran)


def test_the_kernel_lock_hashes_match_the_files_served(test_origin: StaticServer) -> None:
    base = f"{test_origin.origin}/lite/kernel-packages/"
    lock: dict[str, Any] = httpx.get(base + "pyodide-lock.json").json()
    assert lock["packages"], "an empty kernel lock"
    for name, entry in lock["packages"].items():
        served = httpx.get(base + entry["file_name"])
        assert served.status_code == 200, entry["file_name"]
        assert hashlib.sha256(served.content).hexdigest() == entry["sha256"], name
        for dep in entry["depends"]:  # the lock is closed: every dependency is in it
            assert dep in lock["packages"] or dep.replace("_", "-") in lock["packages"], dep
    config = httpx.get(f"{test_origin.origin}/lite/jupyter-lite.json").json()["jupyter-config-data"]
    kernel = config["litePluginSettings"]["@jupyterlite/pyodide-kernel-extension:kernel"]
    assert kernel["disablePyPIFallback"] is True
    assert json.dumps(kernel).count("http") == 0  # no absolute URL: nothing off this site


def test_a_returning_visit_skips_the_service_worker_but_for_its_api(
        chromium: Browser, site_dir: Path, tmp_path: Path) -> None:
    """On a second visit, in a browser profile on disk, JupyterLite's service
    worker controls the page: the routes build.py adds to it send the page's
    scripts to the network without it, while what it answers itself (its
    heartbeat, and under the site's api/ the kernel's drive and input())
    still reaches it: the kernel lists the notebooks through its drive."""
    from test_boot import profile_context

    with demo_servers(site_dir, pace=PACE) as demo, \
            profile_context(chromium, tmp_path / "profile") as context:
        url = f"{demo.origin}/lite/notebooks/index.html?path={NOTEBOOK}"
        for visit in ("first", "returning"):
            page = context.new_page()
            said = console_of(page)
            page.set_default_timeout(BOOT_TIMEOUT_MS)
            page.goto(url)
            page.wait_for_selector(".jp-Notebook .jp-Cell")
            wait_for_kernel_session(page)
            deadline = time.monotonic() + 60
            while not any("contents will" in text for text in said):
                assert time.monotonic() < deadline, said[-20:]
                page.wait_for_timeout(100)
            # As a person's tab: open a while (closing at once, as the kernel
            # starts, left the next visit's worker mid-change).
            page.wait_for_timeout(4_000)
            if visit == "returning":
                assert page.evaluate("navigator.serviceWorker.controller !== null")
                # Resource Timing names the source each request's route chose
                # ("" when no route matched: the worker's fetch handler got it).
                scripts = {urlsplit(url).path: source for url, source in page.evaluate(
                    "performance.getEntriesByType('resource')"
                    ".map(e => [e.name, e.workerMatchedSourceType])")
                    if urlsplit(url).path.startswith("/lite/build/") and url.endswith(".js")}
                assert len(scripts) >= 50, len(scripts)
                assert set(scripts.values()) == {"network"}, scripts
                assert page.evaluate(
                    "fetch('/api/service-worker-heartbeat').then(r => r.text())") == "ok"
                # JupyterLite kept its worker: without the version noted on the
                # first visit, it unregistered and registered it again here.
                assert not any("unregistering" in text for text in said), said
                drive = [text for text in said if "contents will" in text]
                assert drive == ["Pyodide contents will be synced with Jupyter Contents"], drive
                # Python reads the drive: each call a request the worker answers.
                listed = run_new_cell(page, "import os; print(sorted(os.listdir('/drive')))")
                assert f"'{NOTEBOOK}'" in listed, listed
            page.close()


def test_the_first_visit_leaves_its_scripts_compiled_for_the_next(
        chromium: Browser, site_dir: Path, tmp_path: Path) -> None:
    """Chromium keeps a script's compiled code only from its second run. Once
    the first visit's page is quiet, build.py's warming script runs the page's
    content-named scripts again in a hidden frame and notes the build; the
    next visit then compiles JupyterLab's scripts from that cache (a trace
    says how much of each it read), and leaves them be."""
    from test_boot import profile_context

    with demo_servers(site_dir, pace=PACE) as demo, \
            profile_context(chromium, tmp_path / "profile") as context:
        url = f"{demo.origin}/lite/notebooks/index.html?path={NOTEBOOK}"
        page = context.new_page()
        page.set_default_timeout(BOOT_TIMEOUT_MS)
        frames: list[str] = []  # the frames each visit's page attached
        page.on("frameattached", lambda frame: frames.append(frame.url))
        page.goto(url)
        page.wait_for_selector(".jp-Notebook .jp-Cell")
        warmed = "Object.entries(localStorage).filter(([key]) => key.startsWith('pf-warmed-'))"
        deadline = time.monotonic() + 90
        while not (notes := page.evaluate(warmed)):
            assert time.monotonic() < deadline, "the first visit never warmed its scripts"
            page.wait_for_timeout(200)
        [(key, count)] = notes
        assert int(count) >= 50, notes  # JupyterLab's chunks and the extensions'
        assert frames, "the warming frame was never seen"
        assert page.evaluate("document.querySelectorAll('iframe[hidden]').length") == 0
        # What a second warming would overwrite.
        page.evaluate("key => localStorage.setItem(key, 'seen')", key)
        page.close()

        page = context.new_page()
        page.set_default_timeout(BOOT_TIMEOUT_MS)
        frames.clear()
        page.on("frameattached", lambda frame: frames.append(frame.url))
        cdp = context.new_cdp_session(page)
        events: list[dict[str, Any]] = []
        finished: list[bool] = []
        cdp.on("Tracing.dataCollected", lambda message: events.extend(message["value"]))
        cdp.on("Tracing.tracingComplete", lambda message: finished.append(True))
        cdp.send("Tracing.start", {"categories": "devtools.timeline,v8",
                                   "transferMode": "ReportEvents"})
        page.goto(url)
        page.wait_for_selector(".jp-Notebook .jp-Cell")
        cdp.send("Tracing.end")
        while not finished:
            page.wait_for_timeout(100)
        compiled = {}
        for event in events:
            data = event.get("args", {}).get("data", {})
            if event.get("name") == "v8.compile" and "/lite/build/" in data.get("url", ""):
                compiled[urlsplit(data["url"]).path] = data.get("consumedCacheSize", 0)
        core = [size for path, size in compiled.items() if "/jlab_core." in path]
        assert core and core[0] > 1_000_000, compiled
        assert sum(1 for size in compiled.values() if size) >= 30, compiled
        # Not warmed again: the first visit warmed about 2 s after it was quiet.
        wait_for_kernel_session(page)
        page.wait_for_timeout(6_000)
        assert page.evaluate(warmed) == [[key, "seen"]]
        assert frames == [], frames
        page.close()
