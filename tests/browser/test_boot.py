"""How the demo pages start, and what the speed-ups must not break.

build.py gives the runtime, PyScript, the wheels and a memory snapshot names
that change with their content (``site/_v/``); the demo app server serves
those as immutable and the pages as ``no-cache``. The pages boot Python from
the snapshot (taken after ``import pf_browser``) through PyScript's
``interpreter`` module, and boot plainly when the snapshot cannot be used.
Timing is measured in benchmarks/bench_browser.py, never asserted here.
"""

from __future__ import annotations

import gzip
import html
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import time
import zipfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from _local_servers import ThreadedServer
from conftest import CHROMIUM, CHROMIUM_ARGS, IDB_DONE, KEPT_SNAPSHOTS, is_local, local_only_context
from playwright.sync_api import Browser, BrowserContext, Page, expect
from test_demo import BUILDER, PROMPT, READER, Demo, demo_servers

pytest.importorskip("pf_server.testing")

from pf_demo import DemoUser, create_app

REPO = Path(__file__).resolve().parents[2]


# Chromium through Playwright, as these tests drive it (test_demo's own helpers
# take the engine facade of _drivers.py).
BOOT_TIMEOUT_MS = 90_000  # Pyodide's first boot
RUN_TIMEOUT_MS = 60_000


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


def listed_files(page: Page) -> list[str]:
    paths: list[str] = page.locator("[data-testid=files] li").evaluate_all(
        "items => items.map(li => li.dataset.path)")
    return paths


def load_build_py() -> ModuleType:
    # By path: `import build` is pypa's build.
    spec = importlib.util.spec_from_file_location("pf_build_py_boot", REPO / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def demo(site_dir: Path) -> Iterator[Demo]:
    with demo_servers(site_dir, pace=0.0) as servers:
        yield servers


@pytest.fixture(scope="module")
def paced_demo(site_dir: Path) -> Iterator[Demo]:
    with demo_servers(site_dir, pace=0.5) as servers:
        yield servers


def booted(page: Page) -> str | None:
    return page.get_by_test_id("status").get_attribute("data-boot")


def page_config(site: Path, page: str = "index.html") -> dict[str, Any]:
    """The PyScript config a built page carries inline (its ``config`` attribute)."""
    found = re.findall(r"<script type=\"py\"[^>]* config='([^']*)'", (site / page).read_text())
    assert len(found) == 1, found
    config: dict[str, Any] = json.loads(html.unescape(found[0]))
    return config


# -- the site as built ---------------------------------------------------------------

def test_the_site_is_built_with_a_snapshot_and_bytecode(site_dir: Path) -> None:
    cached = site_dir / "_v"
    assert len(list(cached.glob("snapshot-*.bin.gz"))) == 1, sorted(cached.iterdir())
    config = page_config(site_dir)
    boot = (site_dir / config["interpreter"]).read_text()
    assert "snapshot-" in boot and "__SNAPSHOT__" not in boot and "__PYODIDE__" not in boot
    # PyScript reads the runtime's version from the module: Pyodide's own.
    pyodide_mjs = (site_dir / "vendor" / "pyodide" / "pyodide.mjs").read_text()
    version = re.search(r'export const version = "([^"]+)";', boot)
    assert version is not None and f'"{version.group(1)}"' in pyodide_mjs, boot[:2000]
    wheel = next((site_dir / "wheels").glob("pf_browser-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    modules = {n for n in names if n.endswith(".py")}
    compiled = {n for n in names if n.endswith(".pyc")}
    assert len(compiled) == len(modules), sorted(modules)
    assert all("/__pycache__/" in n and ".cpython-3" in n for n in compiled)


def test_the_snapshot_made_again_is_the_same_bytes(site_dir: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Made again from the same inputs (not from build.py's cache), the
    snapshot is the site's byte for byte: a fresh clone's build, or a
    deploy's, names it as this one did, and a returning visitor keeps it."""
    build_py = load_build_py()
    monkeypatch.setattr(build_py, "CACHE", tmp_path)
    monkeypatch.setattr(build_py, "log", lambda message: None)
    wheel = next((site_dir / "wheels").glob("pf_browser-*.whl"))
    again = build_py.memory_snapshot(wheel)
    assert again is not None and again.parent == tmp_path
    (served,) = (site_dir / "_v").glob("snapshot-*.bin.gz")
    assert again.read_bytes() == served.read_bytes()


def test_the_snapshots_hold_no_path_of_the_build_machine(site_dir: Path) -> None:
    """Python's environment named the script that made a snapshot, and the
    kernel's micropip the folder of its lock: paths of the machine that
    built the site, in files anyone can download, and the reason two
    checkouts' builds differed."""
    snapshots = sorted((site_dir / "_v").glob("*snapshot-*.bin.gz"))
    # The pages', the sync page's, the kernel's with JSPI and without.
    assert len(snapshots) == 4, snapshots
    for snapshot in snapshots:
        memory = gzip.decompress(snapshot.read_bytes())
        for folder in {REPO, site_dir.resolve()}:
            assert str(folder).encode() not in memory, (snapshot.name, folder)


# A process that builds the way build() does, holding the build lock, and
# says when it has it.
HOLD_THE_BUILD_LOCK = f"""
import importlib.util
spec = importlib.util.spec_from_file_location("pf_build_py_lock", {str(REPO / "build.py")!r})
build_py = importlib.util.module_from_spec(spec)
spec.loader.exec_module(build_py)
with build_py.one_build_at_a_time():
    print("building", flush=True)
"""


def test_a_second_build_of_the_checkout_waits_for_the_first() -> None:
    """Each pytest worker builds the site as its session starts: the second
    waits for the first, and says so, rather than rewriting its files."""
    fcntl = pytest.importorskip("fcntl")
    build_py = load_build_py()
    build_py.BUILD_LOCK.parent.mkdir(parents=True, exist_ok=True)
    with open(build_py.BUILD_LOCK, "w") as first:
        fcntl.flock(first, fcntl.LOCK_EX)
        second = subprocess.Popen([sys.executable, "-c", HOLD_THE_BUILD_LOCK],
                                  stdout=subprocess.PIPE, text=True)
        try:
            assert second.stdout is not None
            assert second.stdout.readline() == (
                "build: waiting for another build of this checkout to finish\n")
        finally:
            fcntl.flock(first, fcntl.LOCK_UN)
    out, _ = second.communicate(timeout=60)
    assert (second.returncode, out) == (0, "building\n")


def test_a_build_holds_the_lock_while_it_builds(monkeypatch: pytest.MonkeyPatch) -> None:
    fcntl = pytest.importorskip("fcntl")
    build_py = load_build_py()
    held = []

    def build_site() -> Path:
        with open(build_py.BUILD_LOCK, "w") as other:
            try:
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                held.append(True)
            else:
                fcntl.flock(other, fcntl.LOCK_UN)
                held.append(False)
        return Path(build_py.SITE)

    monkeypatch.setattr(build_py, "build_site", build_site)
    assert build_py.build() == build_py.SITE
    assert held == [True]


def test_cached_names_change_with_the_content(tmp_path: Path) -> None:
    build_py = load_build_py()
    site = tmp_path / "site"
    for rel, data in [("vendor/pyodide/pyodide.mjs", "a"), ("vendor/pyscript/core.js", "b"),
                      ("wheels/pf_browser-1-py3-none-any.whl", "c")]:
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_text(data)
    snapshot = tmp_path / "snap.bin.gz"
    snapshot.write_bytes(b"one")
    first = build_py.cached_names(site, snapshot)
    assert first == build_py.cached_names(site, snapshot)  # same content, same names
    for url in first.values():
        assert (site / url).exists(), url
    (site / "wheels" / "pf_browser-1-py3-none-any.whl").write_text("changed")
    second = build_py.cached_names(site, snapshot)
    assert second["wheels"] != first["wheels"]
    assert second["pyodide"] == first["pyodide"] and second["pyscript"] == first["pyscript"]
    assert not (site / first["wheels"]).exists()  # the old name is gone
    snapshot.write_bytes(b"two")
    third = build_py.cached_names(site, snapshot)
    assert third["interpreter"] != second["interpreter"]  # it names the snapshot
    # The sync page's boot module: a snapshot made with JSPI, used where JSPI is.
    sync_snapshot = tmp_path / "sync.bin.gz"
    sync_snapshot.write_bytes(b"sync")
    with_sync = build_py.cached_names(site, snapshot, None, sync_snapshot)
    sync_module = (site / with_sync["sync_interpreter"]).read_text()
    assert re.search(r'"\./sync-snapshot-[0-9a-f]{16}\.bin\.gz"', sync_module)
    assert '"jspi" !== "jspi"' in sync_module and "pf_browser-sync-snapshot" in sync_module
    assert with_sync["interpreter"] == third["interpreter"]
    # The notebook kernel's boot module: its own snapshot (made with JSPI) and files.
    kernel = tmp_path / "kernel.bin.gz", tmp_path / "files.bin.gz"
    kernel[0].write_bytes(b"kernel")
    kernel[1].write_bytes(b"files")
    fourth = build_py.cached_names(site, snapshot, kernel)
    assert fourth["interpreter"] == third["interpreter"]
    module = (site / fourth["kernel"]).read_text()
    named = re.findall(r'"\./((?:kernel-snapshot|kernel-files)-[0-9a-f]{16}\.bin\.gz)"', module)
    assert sorted({n.split("-")[1] for n in named}) == ["files", "snapshot"], named
    assert all((site / "_v" / name).is_file() for name in named)
    assert '"jspi" !== "jspi"' in module and "pf_browser-kernel-snapshot" in module
    assert "micropip" in module and "__" + "AFTER_SNAPSHOT__" not in module
    # And its snapshot made without JSPI, for browsers without it.
    without = tmp_path / "kernel-without.bin.gz"
    without.write_bytes(b"kernel without JSPI")
    module = (site / build_py.cached_names(site, snapshot, (*kernel, without))["kernel"]
              ).read_text()
    assert re.search(r'\["\./kernel-snapshot-without-jspi-[0-9a-f]{16}\.bin\.gz", '
                     r'"pf_browser-kernel-snapshot-without-jspi"\]', module), module[:3000]
    # The sync page, where the browser has no JSPI: the pages' snapshot.
    assert re.search(r'\["\./snapshot-[0-9a-f]{16}\.bin\.gz", "pf_browser-snapshot"\]',
                     sync_module)
    # Each page's Python files: named by their content in that page's boot
    # module (the worker page's own rendering: the same snapshot, its files).
    archives = {}
    for page in ("main", "sync", "worker"):
        archives[page] = tmp_path / f"{page}.bin.gz"
        archives[page].write_bytes(page.encode())
    fifth = build_py.cached_names(site, snapshot, python_files=archives)
    named_files = {}
    for key, page in (("interpreter", "main"), ("sync_interpreter", "sync"),
                      ("worker_interpreter", "worker")):
        module = (site / fifth[key]).read_text()
        found = re.findall(rf'"\./(page-files-{page}-[0-9a-f]{{16}}\.bin\.gz)"', module)
        assert len(set(found)) == 1 and (site / "_v" / found[0]).is_file(), (key, found)
        named_files[page] = found[0]
    assert '"./snapshot-' in (site / fifth["worker_interpreter"]).read_text()
    archives["main"].write_bytes(b"main, changed")
    sixth = build_py.cached_names(site, snapshot, python_files=archives)
    assert sixth["interpreter"] != fifth["interpreter"]
    assert named_files["main"] not in (site / sixth["interpreter"]).read_text()
    assert not (site / "_v" / named_files["main"]).exists()  # the old name is gone
    assert sixth["worker_interpreter"] == fifth["worker_interpreter"]
    without = build_py.cached_names(site, None)
    boot = (site / without["interpreter"]).read_text()
    assert "snapshot-" not in boot and "kernel" not in without
    assert "sync-snapshot-" not in (site / without["sync_interpreter"]).read_text()
    assert [p.name for p in (site / "_v").glob("*snapshot-*")] == []
    assert [p.name for p in (site / "_v").glob("kernel*")] == []


def page_files_url(site: Path, page: str = "index.html") -> str:
    """The URL of the page's Python files, as its boot module names it."""
    boot = (site / page_config(site, page)["interpreter"]).read_text()
    found = set(re.findall(r'"\./(page-files-\w+-[0-9a-f]{16}\.bin\.gz)"', boot))
    assert len(found) == 1, found
    return f"./_v/{found.pop()}"


def test_cached_names_are_immutable_and_pages_revalidate(demo: Demo, site_dir: Path) -> None:
    config = page_config(site_dir)
    with httpx.Client(base_url=demo.origin, timeout=30) as http:
        for path in (config["interpreter"], page_files_url(site_dir), "./py/main_async.py"):
            answer = http.get(path.lstrip("."))
            assert answer.status_code == 200, path
            if path.startswith("./_v/"):
                assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
            else:
                assert answer.headers["cache-control"] == "no-cache", path
        for page in ("/", "/worker.html", "/sync.html"):
            assert http.get(page).headers["cache-control"] == "no-cache", page


@pytest.mark.parametrize(("path", "for_good"), [
    ("_v/pyodide-314.0.7-0123456789abcdef/pyodide.asm.wasm", True),
    ("lite/build/jlab_core.a86436d.js", True), ("lite/build/1.a8fa7b2.js", True),
    ("lite/extensions/@jupyterlite/pyodide-kernel-extension/static/88.4eef6fd43c0373bf.js",
     True),
    ("lite/extensions/jupyterlab_pygments/static/remoteEntry.5cbb9d2323598fbda535.js", True),
    # Entry points and configs keep their names; a notebook's own files are
    # the user's, whatever they are called.
    ("lite/build/notebooks/bundle.js", False), ("lite/config-utils.js", False),
    ("lite/jupyter-lite.json", False), ("lite/build/1.a8fa7b2.js.map", False),
    ("lite/extensions/jupyterlab_pygments/static/style.js", False),
    ("lite/files/report.a8fa7b2.js", False), ("lite/build/x.a8fa7b2e.js", False),
    ("lite/_v/x.js", False), ("index.html", False), ("boot.js", False)])
def test_what_is_cached_for_good(path: str, for_good: bool) -> None:
    from pf_demo.app import cached_for_good
    assert cached_for_good(path) is for_good


def test_jupyterlites_content_named_scripts_are_cached_for_good(demo: Demo,
                                                                site_dir: Path) -> None:
    """All of JupyterLite's scripts but its entry points have names that
    change with their content, and go out immutable; the entry points are
    revalidated, cheaply. (If a JupyterLite release names its files another
    way, this says so: pf_demo.app.LITE_CONTENT_NAMED needs its new names.)"""
    from pf_demo.app import cached_for_good
    lite = site_dir / "lite"
    scripts = [p.relative_to(site_dir).as_posix() for p in lite.rglob("*.js")]
    as_is = {path for path in scripts if not cached_for_good(path)}
    entry_points = re.compile(r"(.*/)?(bundle|index|bootstrap|style|config-utils|"
                              r"service-worker|rspack\.config(\.\w+)?)\.js")
    assert [path for path in as_is if not entry_points.fullmatch(path)] == []
    assert len(scripts) - len(as_is) >= 200, len(scripts)
    chunk = next(path for path in scripts if path.startswith("lite/build/jlab_core."))
    with httpx.Client(base_url=demo.origin, timeout=30) as http:
        answer = http.get("/" + chunk)
        assert answer.status_code == 200
        assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
        bundle = http.get("/lite/build/notebooks/bundle.js")
        assert bundle.headers["cache-control"] == "no-cache"
        again = http.get("/lite/build/notebooks/bundle.js",
                         headers={"If-None-Match": bundle.headers["etag"]})
        assert again.status_code == 304 and again.content == b""


def test_compile_hints_go_on_jupyterlites_scripts_alone(tmp_path: Path) -> None:
    build_py = load_build_py()
    hint = build_py.COMPILE_HINT
    lite = tmp_path / "lite"
    scripts = {"build/jlab_core.a86436d.js": b'"use strict";(self.x=1)\n',
               "build/notebooks/bundle.js": b"var a=1;",
               "extensions/@jupyterlite/pyodide-kernel-extension/static/88.4eef.js": b"b()",
               "extensions/jupyterlab_pygments/static/remoteEntry.5cbb.js": b""}
    left = {"service-worker.js": b"self.x=1", "bootstrap.js": b"import('x')",
            "files/notebook-helper.js": b"user()", "build/schemas/a.json": b"{}",
            "extensions/jupyterlab_pygments/package.json": b"{}",
            "extensions/jupyterlab_pygments/static/style.css": b"p{}"}
    for name, content in {**scripts, **left}.items():
        (lite / name).parent.mkdir(parents=True, exist_ok=True)
        (lite / name).write_bytes(content)
    # A hard-linked copy of the site keeps its own scripts.
    elsewhere = tmp_path / "core.js"
    elsewhere.hardlink_to(lite / "build/jlab_core.a86436d.js")

    assert build_py.hint_compile_all(lite) == len(scripts)
    for name, content in scripts.items():
        assert (lite / name).read_bytes() == hint + content, name
    for name, content in left.items():
        assert (lite / name).read_bytes() == content, name
    assert elsewhere.read_bytes() == scripts["build/jlab_core.a86436d.js"]
    assert build_py.hint_compile_all(lite) == 0  # once is enough
    assert (lite / "build/notebooks/bundle.js").read_bytes() == hint + b"var a=1;"
    assert sorted(p.name for p in lite.rglob("*.new")) == []


def test_the_notebook_page_alone_goes_without_a_stored_workspace(tmp_path: Path) -> None:
    build_py = load_build_py()
    apps = {"notebooks": {"appUrl": "/notebooks", "disabledExtensions": ["x:y"]},
            "lab": {"appUrl": "/lab"}}
    for app, data in apps.items():
        (tmp_path / app).mkdir()
        (tmp_path / app / "jupyter-lite.json").write_text(json.dumps(
            {"jupyter-lite-schema-version": 0, "jupyter-config-data": data}))
    for _ in range(2):  # once is enough
        build_py.open_notebooks_at_once(tmp_path)
    notebooks = json.loads((tmp_path / "notebooks" / "jupyter-lite.json").read_text())
    assert notebooks == {"jupyter-lite-schema-version": 0, "jupyter-config-data": {
        "appUrl": "/notebooks", "disabledExtensions": ["x:y", build_py.WORKSPACE_RESOLVER]}}
    lab = json.loads((tmp_path / "lab" / "jupyter-lite.json").read_text())
    assert lab == {"jupyter-lite-schema-version": 0, "jupyter-config-data": {"appUrl": "/lab"}}


def test_the_built_notebook_page_opens_its_notebook_at_once(site_dir: Path) -> None:
    """Only the notebook page goes without JupyterLab's workspace resolver
    (test_lite.py runs the notebook on that page, in Chromium)."""
    build_py = load_build_py()
    lite = site_dir / "lite"

    def disabled(config: Path) -> list[str]:
        data = json.loads(config.read_text())["jupyter-config-data"]
        return list(data.get("disabledExtensions", []))

    assert build_py.WORKSPACE_RESOLVER in disabled(lite / "notebooks" / "jupyter-lite.json")
    for config in (lite / "jupyter-lite.json", lite / "lab" / "jupyter-lite.json",
                   lite / "tree" / "jupyter-lite.json"):
        assert build_py.WORKSPACE_RESOLVER not in disabled(config), config
    # The plugin is still JupyterLite's, under that name.
    assert any(b'"' + build_py.WORKSPACE_RESOLVER.encode() + b'"' in p.read_bytes()
               for p in (lite / "build").glob("*.js"))


def test_the_built_app_pages_note_the_service_workers_version(site_dir: Path) -> None:
    """What the pages note is what JupyterLite reads: the worker's script URL
    with "-version", against its appVersion (test_lite.py checks that a
    second visit keeps the worker)."""
    build_py = load_build_py()
    lite = site_dir / "lite"
    config = json.loads((lite / "jupyter-lite.json").read_text())
    version = config["jupyter-config-data"]["appVersion"]
    for app in ("lab", "notebooks", "tree"):
        html = (lite / app / "index.html").read_text()
        assert html.count(build_py.KEEP_WORKER_MARK) == 1, app
        assert f'"-version", {json.dumps(version)})' in html, app
    assert any("-version`" in text and 'getOption("appVersion")' in text
               for text in (p.read_text() for p in (lite / "build").glob("*.js")))


def test_the_service_worker_gets_its_routes_once(tmp_path: Path) -> None:
    build_py = load_build_py()
    worker = tmp_path / "service-worker.js"
    worker.write_text('"use strict";self.addEventListener("fetch",onFetch);\n')
    for _ in range(2):
        build_py.route_around_service_worker(tmp_path)
    text = worker.read_text()
    assert text.startswith('"use strict";self.addEventListener("fetch",onFetch);\n')
    assert text.count("addRoutes(") == 1 and text.endswith(build_py.SERVICE_WORKER_ROUTES)
    # An older build's routes give way to these.
    worker.write_text(text.replace("GETs outside the API", "an older rule"))
    build_py.route_around_service_worker(tmp_path)
    assert worker.read_text() == text
    # JupyterLite's heartbeat (/api/) and the site's api/ stay the worker's.
    assert '{ pathname: "/api/*" } }, source: "fetch-event"' in text
    assert 'new URL("./api/*", self.location)' in text


def test_each_app_page_notes_the_service_workers_version_once(tmp_path: Path) -> None:
    build_py = load_build_py()
    (tmp_path / "jupyter-lite.json").write_text(
        json.dumps({"jupyter-config-data": {"appVersion": "9.8.7"}}))
    app = '<html>\n<head>\n<script id="jupyter-config-data">{}</script>\n</head></html>\n'
    for name in ("lab", "notebooks"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "index.html").write_text(app)
    (tmp_path / "static").mkdir()  # not an app page: no JupyterLite config
    (tmp_path / "static" / "index.html").write_text("<html>\n<head>\n</head></html>\n")
    for _ in range(2):
        pages = build_py.keep_service_worker(tmp_path)
    assert [page.parent.name for page in pages] == ["lab", "notebooks"]
    html = (tmp_path / "notebooks" / "index.html").read_text()
    assert html.count(build_py.KEEP_WORKER_MARK) == 1
    assert html.startswith("<html>\n<head>\n" + build_py.KEEP_WORKER_MARK)
    assert 'localStorage.setItem(url + "-version", "9.8.7")' in html
    assert html.endswith('<script id="jupyter-config-data">{}</script>\n</head></html>\n')
    # A page that has it is left as it is (the same file).
    inode = (tmp_path / "notebooks" / "index.html").stat().st_ino
    build_py.keep_service_worker(tmp_path)
    assert (tmp_path / "notebooks" / "index.html").stat().st_ino == inode
    # An older build's script gives way to this one.
    (tmp_path / "notebooks" / "index.html").write_text(html.replace("9.8.7", "0.0.1"))
    build_py.keep_service_worker(tmp_path)
    assert (tmp_path / "notebooks" / "index.html").read_text() == html
    assert "data-pf-browser" not in (tmp_path / "static" / "index.html").read_text()


def test_each_app_page_warms_its_scripts_once_per_build(tmp_path: Path) -> None:
    """The warming script goes in once, at the top of each app page, named for
    the build's scripts: a build whose scripts change names a new key, so a
    returning browser warms that build's scripts too."""
    build_py = load_build_py()
    app = '<html>\n<head>\n<script id="jupyter-config-data">{}</script>\n</head></html>\n'
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "index.html").write_text(app)
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "jlab_core.a86436d.js").write_text("1")
    for _ in range(2):
        build_py.warm_code_cache(tmp_path)
    html = (tmp_path / "notebooks" / "index.html").read_text()
    assert html.count(build_py.WARM_MARK) == 1
    assert html.startswith("<html>\n<head>\n" + build_py.WARM_MARK)
    key = re.search(r'const key = "pf-warmed-" \+ "([0-9a-f]{12})";', html)
    assert key, html[:600]
    scripts = tmp_path / "build"
    (scripts / "jlab_core.a86436d.js").rename(scripts / "jlab_core.b00000f.js")
    build_py.warm_code_cache(tmp_path)
    again = (tmp_path / "notebooks" / "index.html").read_text()
    assert again.count(build_py.WARM_MARK) == 1 and key.group(1) not in again
    # With the service worker's script, that one stays first.
    (tmp_path / "jupyter-lite.json").write_text(
        json.dumps({"jupyter-config-data": {"appVersion": "1.0"}}))
    build_py.keep_service_worker(tmp_path)
    html = (tmp_path / "notebooks" / "index.html").read_text()
    assert html.index(build_py.KEEP_WORKER_MARK) < html.index(build_py.WARM_MARK)


def test_the_built_notebook_sites_scripts_ask_to_be_compiled_whole(site_dir: Path) -> None:
    """Every script of the built JupyterLite app begins with the hint
    (test_lite.py runs the notebook on them, in Chromium)."""
    build_py = load_build_py()
    lite = site_dir / "lite"
    scripts = build_py.lite_scripts(lite)
    assert len(scripts) >= 250, len(scripts)
    unhinted = [p.relative_to(lite).as_posix() for p in scripts
                if not p.read_bytes().startswith(build_py.COMPILE_HINT)]
    assert unhinted == []
    assert not (lite / "service-worker.js").read_bytes().startswith(build_py.COMPILE_HINT)
    assert any(p.name.startswith("jlab_core.") for p in scripts)
    assert any(p.name.startswith("comlink.worker.") for p in scripts)  # the kernel's worker


@pytest.mark.parametrize(("header", "gzip_ok"), [
    ("gzip, deflate, br, zstd", True), ("br;q=1.0, gzip;q=0.8", True), ("*", True),
    ("identity", False), ("gzip;q=0", False), ("gzip;q=0.0, br", False), (None, False),
    ("GZIP", True), ("gzip;q=nonsense", False)])
def test_the_servers_send_gzip_only_where_it_is_accepted(header: str | None,
                                                         gzip_ok: bool) -> None:
    from pf_demo.app import accepts_gzip
    assert accepts_gzip(header) is gzip_ok


def test_snapshots_go_out_gzipped_for_the_browser_to_unzip(demo: Demo, site_dir: Path) -> None:
    stored = next((site_dir / "_v").glob("snapshot-*.bin.gz"))
    url = f"{demo.origin}/_v/{stored.name}"
    with httpx.Client(timeout=30) as http:
        # To a client that accepts gzip: the stored bytes, as an encoding of the
        # snapshot itself (httpx unzips it, as a browser does).
        answer = http.get(url, headers={"Accept-Encoding": "gzip"})
        assert answer.headers["content-encoding"] == "gzip"
        assert answer.headers["vary"] == "Accept-Encoding"
        assert answer.content[:8] == b"PFSNAP01"
        assert answer.content == gzip.decompress(stored.read_bytes())
        # To one that does not: the stored file, gzip and all.
        for refused in ("identity", "gzip;q=0, br"):
            answer = http.get(url, headers={"Accept-Encoding": refused})
            assert "content-encoding" not in answer.headers, refused
            assert answer.content == stored.read_bytes(), refused


# -- the pages, booted from the snapshot ------------------------------------------

def json_fetched(seen: list[str]) -> set[str]:
    paths = (urlsplit(u).path for u in seen)
    return {path.rsplit("/", 1)[-1] for path in paths if path.endswith(".json")}


# What a booting demo page fetches as JSON: the demo's own config (who is
# signed in, the API's origin) and Pyodide's lock file. PyScript's config is
# in the page: fetching it was on the way to ready.
BOOT_JSON = {"config.json", "pyodide-lock.json"}


def test_the_main_page_boots_from_the_snapshot_and_runs_the_demo_flows(
        page: Page, demo: Demo) -> None:
    open_demo(page, demo.origin, user=BUILDER)
    assert booted(page) == "snapshot"
    seen: list[str] = page.requests_seen  # type: ignore[attr-defined]
    assert any("/_v/snapshot-" in u for u in seen)
    assert json_fetched(seen) == BOOT_JSON
    generate(page)
    assert {"index.html", "styles.css", "app.js"} <= set(listed_files(page))
    first = demo.mints(BUILDER)
    # A revoked token is renewed once, and the page keeps working.
    demo.api_call("POST", "/v1/sessions/revoke", json={"endUserId": BUILDER.id})
    generate(page, "A to-do list for a climbing club")
    assert demo.mints(BUILDER) == first + 1
    # Reload: booted from the snapshot again, still signed in, still working.
    page.reload()
    expect(page.get_by_test_id("status")).to_have_attribute("data-state", "ready",
                                                            timeout=RUN_TIMEOUT_MS)
    assert booted(page) == "snapshot"
    generate(page)


def test_a_snapshot_booted_page_resumes_a_dropped_stream(page: Page, paced_demo: Demo) -> None:
    open_demo(page, paced_demo.origin, user=BUILDER)
    assert booted(page) == "snapshot"
    page.get_by_test_id("prompt").fill(PROMPT)
    page.get_by_test_id("generate").click()
    expect(page.locator("[data-testid=files] li")).to_have_count(1, timeout=RUN_TIMEOUT_MS)
    assert paced_demo.api.drop_streams() >= 1  # the server cuts the stream mid-run
    expect(page.get_by_test_id("status")).to_have_attribute("data-state", "done",
                                                            timeout=RUN_TIMEOUT_MS)
    files = listed_files(page)
    assert len(files) == len(set(files)) and {"index.html", "app.js"} <= set(files)


def test_the_worker_page_boots_from_the_snapshot_and_generates(page: Page, demo: Demo) -> None:
    open_demo(page, demo.origin, "/worker.html", user=BUILDER)
    assert booted(page) == "snapshot"
    # Its worker included: it gets its config with the script, not by fetching it.
    assert json_fetched(page.requests_seen) == BOOT_JSON  # type: ignore[attr-defined]
    # PyScript took the config's reuse of what the worker reads of the page
    # (its bridge's setting, given to each worker it starts).
    assert page.evaluate("globalThis.reflected_ffi_timeout") == load_build_py().WORKER_FFI_MEMO_MS
    generate(page)
    assert {"index.html", "styles.css", "app.js"} <= set(listed_files(page))


def test_the_sync_page_boots_from_its_jspi_snapshot_and_streams(page: Page, demo: Demo) -> None:
    # Its own snapshot, made with JSPI: Python booted from it blocks on fetch
    # (its sync client streams). The other pages' snapshot is not fetched.
    open_demo(page, demo.origin, "/sync.html", user=BUILDER)
    assert booted(page) == "snapshot"
    seen: list[str] = page.requests_seen  # type: ignore[attr-defined]
    assert any("/_v/sync-snapshot-" in u for u in seen)
    assert not any("/_v/snapshot-" in u for u in seen)
    assert json_fetched(seen) == BOOT_JSON
    generate(page)
    assert {"index.html", "styles.css", "app.js"} <= set(listed_files(page))


def test_without_its_snapshot_the_sync_page_boots_plainly_and_streams(
        page: Page, demo: Demo) -> None:
    page.route("**/_v/sync-snapshot-*", lambda route: route.fulfill(status=404, body="gone"))
    open_demo(page, demo.origin, "/sync.html", user=BUILDER)
    assert booted(page) == "plain"
    generate(page)
    assert {"index.html", "styles.css", "app.js"} <= set(listed_files(page))


@pytest.mark.parametrize("answer", [{"status": 404, "body": "gone"},
                                    {"status": 200, "body": b"\x1f\x8b not a snapshot"}])
def test_without_a_usable_snapshot_the_page_boots_plainly(
        page: Page, demo: Demo, answer: dict[str, Any]) -> None:
    page.route("**/_v/snapshot-*", lambda route: route.fulfill(**answer))
    open_demo(page, demo.origin, user=BUILDER)
    assert booted(page) == "plain"
    generate(page)


@pytest.mark.parametrize("path", ["/", "/sync.html", "/worker.html"])
def test_without_its_python_files_the_page_says_python_could_not_start(
        page: Page, demo: Demo, path: str) -> None:
    """Nothing to fall back on: the page says so in words, not only in the console."""
    page.route("**/_v/page-files-*", lambda route: route.fulfill(status=404, body="gone"))
    page.set_default_timeout(RUN_TIMEOUT_MS)
    page.goto(demo.origin + path)
    status = page.get_by_test_id("status")
    expect(status).to_have_attribute("data-state", "error", timeout=BOOT_TIMEOUT_MS)
    expect(status).to_contain_text("Python could not start: Python's files could not be loaded")
    expect(status).to_contain_text("HTTP 404")


# Run in a PyScript page with the demo's config, after PyScript imported its own
# package: for each of its modules, how the import found its bytecode.
PYC_PROBE = """
import importlib.util, json, os, sys
import js
found = {}
for name, module in sorted(sys.modules.items()):
    if name.split(".")[0] != "pyscript" or not getattr(module, "__file__", None):
        continue
    if not os.path.exists(module.__cached__):
        found[name] = {"pyc": False}
        continue
    with open(module.__cached__, "rb") as f:
        pyc = f.read()
    with open(module.__file__, "rb") as f:
        source = f.read()
    found[name] = {
        "checked_hash": int.from_bytes(pyc[4:8], "little") == 0b11,
        "matches_source": pyc[8:16] == importlib.util.source_hash(source),
        # Shipped: unpacked before PyScript wrote the source. Compiled at
        # import time instead, it would have been written after it.
        "shipped": os.stat(module.__cached__).st_mtime_ns < os.stat(module.__file__).st_mtime_ns,
    }
js.document.body.dataset.pyc = json.dumps(found)
"""


@pytest.mark.parametrize("demo_page", ["index.html", "worker.html", "sync.html"])
def test_pyscript_imports_its_own_package_from_the_shipped_bytecode(
        page: Page, demo: Demo, site_dir: Path, demo_page: str) -> None:
    """Every page unpacks bytecode of PyScript's package (checked-hash pycs
    compiled by Pyodide at build time) where PyScript writes that package."""
    found = json.loads(run_probe(page, demo, site_dir, demo_page, PYC_PROBE, "pyc"))
    assert {"pyscript", "pyscript.context", "pyscript.display"} <= set(found), found
    assert all(all(checks.values()) for checks in found.values()), found


def test_writing_the_pages_files_imports_nothing_more(page: Page, demo: Demo,
                                                       site_dir: Path) -> None:
    """The boot module writes the page's files and drops the import system's
    folder listings without importlib.invalidate_caches(), which imports
    importlib.metadata (about 0.35 s in a page, for caches it would not
    have); the page's script then imports its module from those files."""
    script = ("import sys, js, demo_ui\n"
              "js.document.body.dataset.found = ','.join(sorted(\n"
              "    name for name in ('importlib.metadata', 'email', 'csv', 'demo_ui')\n"
              "    if name in sys.modules))\n")
    assert run_probe(page, demo, site_dir, "index.html", script, "found") == "demo_ui"


RANDOM_PROBE = """
import sys
held = "random" in sys.modules  # pf_browser imports it: in the snapshot
import js, json, logging, random, tempfile
js.document.body.dataset.draws = json.dumps({
    "boot": getattr(js, "pfPythonBoot", None), "held": held,
    "since_logging_ms": logging.makeLogRecord({}).relativeCreated,
    "random": [random.random() for _ in range(3)],
    "tempfile": next(tempfile._get_candidate_names())})
"""


# The sync page's boot module is the same, its snapshot made with JSPI as
# the kernel's is (test_lite_kernel.py draws from two kernels).
@pytest.mark.parametrize("demo_page", ["index.html", "worker.html"])
def test_each_visit_booted_from_the_snapshot_draws_its_own_random_numbers(
        page: Page, demo: Demo, site_dir: Path, demo_page: str) -> None:
    """The snapshot was made once, with `random` imported and seeded: the
    boot module seeds it again from the browser's randomness, so two visits
    (the first from the fetched snapshot, the next from the kept copy) never
    share retry jitter or anything else drawn from it; and logging's clock
    starts with the visit."""
    visits = [json.loads(run_probe(page, demo, site_dir, demo_page, RANDOM_PROBE, "draws"))
              for _ in range(2)]
    assert [v["boot"] for v in visits] == ["snapshot", "snapshot"], visits
    assert all(v["held"] for v in visits), visits
    assert visits[0]["random"] != visits[1]["random"], visits
    assert visits[0]["tempfile"] != visits[1]["tempfile"], visits
    # logging (imported by asyncio, in the snapshot) counts from this boot,
    # not from when the snapshot was made.
    assert all(0 <= v["since_logging_ms"] < 600_000 for v in visits), visits


ZONE_PROBE = """
import datetime, js, json, time
js.document.body.dataset.zone = json.dumps({
    "boot": getattr(js, "pfPythonBoot", None),
    "zone": [list(time.tzname), time.timezone, time.altzone, time.daylight,
             time.localtime(0).tm_zone, time.strftime("%Z", time.localtime(1751328000)),
             str(datetime.datetime(2026, 1, 1).astimezone().tzinfo)]})
"""


def test_python_booted_from_the_snapshot_keeps_the_browsers_time_zone(
        chromium: Browser, demo: Demo, site_dir: Path) -> None:
    """The snapshot was made on a machine in UTC; a browser in Sydney (its
    summer in January, DST reversed) gets Sydney's zone, on the main thread
    and in a worker, as Python booted plainly there does: time's constants,
    the C library's names (localtime()'s tm_zone, strftime's %Z) and
    datetime's local zone."""
    zones = {}
    for demo_page, boot in (("index.html", "plain"), ("index.html", "snapshot"),
                            ("worker.html", "snapshot")):
        with local_only_context(chromium, timezone_id="Australia/Sydney") as (context, _):
            page = context.new_page()
            if boot == "plain":
                page.route("**/_v/snapshot-*", lambda route: route.fulfill(status=404))
            found = json.loads(run_probe(page, demo, site_dir, demo_page, ZONE_PROBE, "zone"))
        assert found["boot"] == boot, found
        zones[demo_page, boot] = found["zone"]
    plain = zones["index.html", "plain"]
    assert plain[:4] == [["UTC+1000", "UTC+1100"], -36000, -39600, 1], zones
    assert zones["index.html", "snapshot"] == plain, zones
    assert zones["worker.html", "snapshot"] == plain, zones


def run_probe(page: Page, demo: Demo, site_dir: Path, demo_page: str, script: str,
              key: str) -> str:
    """Run ``script`` on a page of the demo's origin with ``demo_page``'s
    PyScript config (its boot module); return what it set as
    ``document.body.dataset[key]``."""
    config = html.escape(json.dumps(page_config(site_dir, demo_page)))
    probe = (f'<!doctype html><script type="module" src="{pyscript_core(demo)}"></script>'
             f'<script type="py" config="{config}">{script}</script>')
    page.route(demo.origin + "/_probe.html",
               lambda route: route.fulfill(body=probe, content_type="text/html"))
    page.goto(demo.origin + "/_probe.html")
    page.wait_for_function(f"document.body.dataset.{key} !== undefined",
                           timeout=BOOT_TIMEOUT_MS)
    return str(page.evaluate(f"document.body.dataset.{key}"))


def pyscript_core(demo: Demo) -> str:
    """PyScript's core.js, as the demo page names it (its cached name)."""
    html = httpx.get(demo.origin + "/", timeout=30).text
    found = re.search(r'src="\.(/_v/pyscript-[^"/]+/core\.js)"', html)
    assert found is not None, html
    return found.group(1)


# -- caching across visits and builds -------------------------------------------

# The boot module compiles the runtime while the snapshot arrives, and hands
# that module to Pyodide: counted here, around the browser's own functions.
WASM_COUNTER = """
window.wasmCalls = {compileStreaming: 0, instantiateStreaming: 0};
for (const name of ["compileStreaming", "instantiateStreaming"]) {
  const real = WebAssembly[name];
  WebAssembly[name] = function (...args) {
    window.wasmCalls[name] += 1;
    return real.apply(WebAssembly, args);
  };
}
"""


def test_only_the_worker_page_reuses_what_it_read_of_the_page(site_dir: Path) -> None:
    """The worker page's reads of the page through PyScript's bridge are
    round trips, and PyScript's own start makes hundreds: reusing plain data
    properties for a moment cut them by more than half. The pages whose Python
    runs on the main thread read the page directly: nothing to reuse."""
    build_py = load_build_py()
    timeouts = {page: page_config(site_dir, page).get("experimental_ffi_timeout")
                for page in ("index.html", "worker.html", "sync.html")}
    assert timeouts == {"index.html": None, "worker.html": build_py.WORKER_FFI_MEMO_MS,
                        "sync.html": None}
    assert build_py.WORKER_FFI_MEMO_MS > 0


def page_archive(site: Path, page: str) -> dict[str, bytes]:
    """The files in a page's archive (build.py page_files), by path."""
    packed = gzip.decompress((site / page_files_url(site, page)).read_bytes())
    assert packed[:8] == b"PFFILES1"
    length = int.from_bytes(packed[8:12], "little")
    at, files = 12 + length, {}
    for path, size, _mtime in json.loads(packed[12:12 + length]):
        files[path] = packed[at:at + size]
        at += size
    assert at == len(packed)
    return files


@pytest.mark.parametrize(("demo_page", "script"), [
    ("index.html", "main_async"), ("sync.html", "main_sync"), ("worker.html", "main_worker")])
def test_each_page_gets_its_python_files_in_one_archive_with_their_bytecode(
        site_dir: Path, demo_page: str, script: str) -> None:
    """Each page's boot module writes the page's Python files (one archive, no
    PyScript ``files``): pf_browser and the page's modules, each with its
    bytecode for Pyodide's Python, PyScript's package's bytecode, and only on
    the worker page pyodide-http. Each page's script imports its module."""
    config = page_config(site_dir, demo_page)
    assert "files" not in config, config
    files = page_archive(site_dir, demo_page)
    modules = {p for p in files if p.endswith(".py")}
    pf_modules = {p for p in modules if p.startswith("pf_browser/")}
    assert "pf_browser/__init__.py" in pf_modules and "pf_browser/_transports/fetch.py" in files
    mine = {p for p in modules if "/" not in p}
    assert mine == {"demo_ui.py", "demo_errors.py", f"{script}.py"}
    for module in pf_modules | mine:
        folder, _, name = module.rpartition("/")
        pyc = [p for p in files if p.startswith(f"{folder}/__pycache__/" if folder
                                                 else "__pycache__/")
               and p.rsplit("/", 1)[-1].startswith(name[:-3] + ".cpython-3")]
        assert len(pyc) == 1, module
    assert any(p.startswith("pyscript/__pycache__/") for p in files)
    assert any(p.startswith("pyodide_http/") for p in files) == (demo_page == "worker.html")
    page = (site_dir / demo_page).read_text()
    code = re.findall(r"<script type=\"py\"[^>]*>(.*?)</script>", page, re.S)
    assert len(code) == 1 and re.match(rf"\s*(import {script}|from {script} import)", code[0])
    assert 'src="' not in page.split('<script type="py"')[1].split(">")[0]
    assert '<link rel="preload"' not in page  # the boot module asks for its files at once
    built = (REPO / "static" / "py" / "demo_ui.py").read_bytes()
    assert files["demo_ui.py"] == built


@pytest.mark.parametrize(("snapshot", "boot"), [(None, "snapshot"),
                                                ("as stored", "snapshot"),
                                                ({"status": 200, "body": b"\\x1f\\x8b damaged"},
                                                 "plain")])
def test_the_runtime_is_compiled_once_while_the_snapshot_arrives(
        page: Page, demo: Demo, site_dir: Path, snapshot: dict[str, Any] | str | None,
        boot: str) -> None:
    page.add_init_script(WASM_COUNTER)
    answer: dict[str, Any] | None = None
    if snapshot == "as stored":
        # A server that sends the stored gzip without Content-Encoding: the
        # boot module unzips it itself.
        stored = next((site_dir / "_v").glob("snapshot-*.bin.gz")).read_bytes()
        answer = {"status": 200, "body": stored, "headers": {"Content-Type": "application/gzip"}}
    elif isinstance(snapshot, dict):
        answer = snapshot
    if answer is not None:
        page.route("**/_v/snapshot-*", lambda route: route.fulfill(**answer))
    open_demo(page, demo.origin, user=BUILDER)
    assert booted(page) == boot
    # Compiled once by the boot module, never again from Pyodide's own
    # response, even by the plain boot after a failed snapshot boot.
    assert page.evaluate("window.wasmCalls") == {"compileStreaming": 1,
                                                 "instantiateStreaming": 0}
    # Downloaded once too (Pyodide's own fetch of it gets a stand-in), and the
    # boot module, which the page loads first, is the one PyScript boots with.
    seen = Counter(urlsplit(u).path.rsplit("/", 1)[-1]
                   for u in page.requests_seen)  # type: ignore[attr-defined]
    assert seen["pyodide.asm.wasm"] == 1 and seen["pyodide.asm.mjs"] == 1, seen
    # What Pyodide reads once it starts, the boot module asked for at once:
    # Pyodide got that answer, not a second download.
    assert seen["python_stdlib.zip"] == 1 and seen["pyodide-lock.json"] == 1, seen
    assert [n for n in seen if n.startswith("boot-")] == [
        page_config(site_dir)["interpreter"].rsplit("/", 1)[-1]], seen
    assert sum(n for name, n in seen.items() if name.startswith("boot-")) == 1, seen
    # The page's Python files: one archive, fetched once by the boot module.
    assert seen[page_files_url(site_dir).rsplit("/", 1)[-1]] == 1, seen
    assert not [name for name in seen if name.endswith(".whl") or name.startswith(
        ("pyscript_pyc", "demo_", "main_async"))], seen
    generate(page)


def test_if_compiling_early_fails_pyodide_compiles_the_runtime_itself(
        page: Page, demo: Demo) -> None:
    page.add_init_script(WASM_COUNTER + """
WebAssembly.compileStreaming = () => Promise.reject(new TypeError("not here"));
""")
    open_demo(page, demo.origin, user=BUILDER)
    assert booted(page) == "snapshot"
    assert page.evaluate("window.wasmCalls.instantiateStreaming") == 1
    generate(page)


class Counting:
    """An ASGI wrapper that counts the paths asked for."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.paths: Counter[str] = Counter()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.paths[scope["path"]] += 1
        await self.app(scope, receive, send)


def test_a_returning_visit_reuses_the_runtime_and_a_new_build_is_never_stale(
        chromium: Browser, site_dir: Path, tmp_path: Path) -> None:
    import pf_server.testing

    build_py = load_build_py()
    site = tmp_path / "site"
    shutil.copytree(site_dir, site, symlinks=True)
    snapshot = next((site_dir / "_v").glob("snapshot-*.bin.gz"))
    wheel = next((site / "wheels").glob("pf_browser-*.whl"))
    http_wheel = next((site / "wheels").glob("pyodide_http-*.whl")).name
    pyscript_pyc = next((site / "wheels").glob("pyscript_pyc-*.zip")).name

    def rebuild(snapshot: Path | None) -> dict[str, str]:
        """What build.py does after the wheel and the snapshot: the pages'
        files, names, configs, pages."""
        files = build_py.page_files(site / "wheels", wheel.name, http_wheel, pyscript_pyc,
                                    out_dir=tmp_path)
        names: dict[str, str] = build_py.cached_names(site, snapshot, python_files=files)
        build_py.copy_pages(build_py.cached_urls(names, build_py.pyscript_configs(names)),
                            site=site)
        return names

    rebuild(snapshot)
    with pf_server.testing.LiveServer(allowed_origins=[]) as api:
        counting = Counting(create_app(api_base_url=api.base_url, api_key=api.api_key,
                                       site_dir=site))
        with ThreadedServer(counting) as server, \
                profile_context(chromium, tmp_path / "profile") as context:
            api.set_allowed_origins([server.origin])
            page = context.new_page()
            page.set_default_timeout(RUN_TIMEOUT_MS)
            open_demo(page, server.origin)
            cold = Counter(counting.paths)
            assert any(p.startswith("/_v/pyodide-") for p in cold), sorted(cold)
            assert page.evaluate("window.pfBrowserBuild") is None

            # Once booted, the page keeps the snapshot unzipped, and that alone.
            snapshot_url = server.origin + next(p for p in cold if "/snapshot-" in p)
            assert page.evaluate("pfSnapshotFrom") == "network"
            wait_until(page, KEPT_SNAPSHOTS_ARE, [SNAPSHOT_DB, [snapshot_url]])

            # A returning visit: nothing under /_v/ is asked for again, and the
            # snapshot comes unzipped from the page's cache.
            counting.paths.clear()
            page = open_demo(context.new_page(), server.origin)
            again = sorted(p for p in counting.paths if p.startswith("/_v/"))
            assert again == [], again
            assert counting.paths["/"] == 1  # the page itself is revalidated
            assert booted(page) == "snapshot"
            assert page.evaluate("pfSnapshotFrom") == "cache"

            # A new build: pf_browser changed, so the cached names of the wheel
            # and of the page's files change, and the old snapshot (which holds
            # the old pf_browser) is not used.
            old_files = page_files_url(site)
            rebuild_with_marker(wheel)
            names = rebuild(None)  # the old snapshot is for the old wheel: none
            assert page_files_url(site) != old_files and names["wheels"] not in old_files
            counting.paths.clear()
            page = context.new_page()
            open_demo(page, server.origin)
            assert booted(page) == "plain"
            assert page.evaluate("window.pfBrowserBuild") == "new"
            assert counting.paths[page_files_url(site).lstrip(".")] == 1, counting.paths
            # That build has no snapshot: the old one is not kept.
            wait_until(page, KEPT_NONE, SNAPSHOT_DB)


def wait_until(page: Page, predicate: str, arg: Any = None, seconds: float = 30) -> None:
    """Until the async JavaScript ``predicate(arg)`` resolves true (wait_for_function
    takes the promise an async function returns for true at once)."""
    deadline = time.monotonic() + seconds
    while not page.evaluate(predicate, arg):
        assert time.monotonic() < deadline, f"still false after {seconds} s: {predicate}"
        page.wait_for_timeout(100)


# Where the boot module keeps the snapshot unzipped: an IndexedDB database
# of this name, whose store "snapshots" holds it as a Blob under its URL.
SNAPSHOT_DB = "pf_browser-snapshot"

# In a page: done(request), and the database, opened (made, with its store,
# if it is not there).
IDB = IDB_DONE + """
const openKept = (name) => {
  const opening = indexedDB.open(name, 1);
  opening.onupgradeneeded = () => opening.result.createObjectStore("snapshots");
  return done(opening);
};
"""

# The URLs of the snapshots the boot module keeps unzipped are `urls`.
KEPT_SNAPSHOTS_ARE = f"""async ([name, urls]) =>
  JSON.stringify(await ({KEPT_SNAPSHOTS})(name)) === JSON.stringify(urls)"""

# The boot module keeps no snapshot: its database is gone.
KEPT_NONE = """async (name) => !(await indexedDB.databases()).some((db) => db.name === name)"""


def test_a_damaged_kept_snapshot_is_passed_over_and_replaced(page: Page, demo: Demo,
                                                               site_dir: Path) -> None:
    snapshot_url = demo.origin + "/_v/" + next((site_dir / "_v").glob("snapshot-*")).name
    page.goto(demo.origin + "/config.json")  # the demo's origin, for its cache
    page.evaluate("""async ([name, url]) => {""" + IDB + """
      const db = await openKept(name);
      const writing = db.transaction("snapshots", "readwrite");
      writing.objectStore("snapshots").put(new Blob(["PFSNAP01 and then not a snapshot"]), url);
      writing.objectStore("snapshots").put(new Blob(["old"]), url + "-an-older-build");
      await new Promise((resolve) => { writing.oncomplete = resolve; });
      db.close();
      // Where builds before IndexedDB kept it: dropped too.
      await (await caches.open(name)).put(url, new Response("an earlier build's copy"));
    }""", [SNAPSHOT_DB, snapshot_url])
    open_demo(page, demo.origin, user=BUILDER)
    assert booted(page) == "snapshot"
    assert page.evaluate("pfSnapshotFrom") == "network"
    wait_until(page, KEPT_SNAPSHOTS_ARE, [SNAPSHOT_DB, [snapshot_url]])
    size = page.evaluate("""async ([name, url]) => {""" + IDB + """
      const db = await openKept(name);
      const kept = await done(db.transaction("snapshots").objectStore("snapshots").get(url));
      db.close();
      return kept.size;
    }""", [SNAPSHOT_DB, snapshot_url])
    assert size > 10_000_000, size  # the snapshot, unzipped
    wait_until(page, "async name => !(await caches.has(name))", SNAPSHOT_DB)
    generate(page)


# In a page: keeps its main thread busy (tasks of 100 ms, one after another)
# from the start until a second after Python is ready, then notes when it
# stopped; and notes when the boot module first wrote to IndexedDB.
BUSY_UNTIL_AFTER_READY = """(() => {
  const put = IDBObjectStore.prototype.put;
  IDBObjectStore.prototype.put = function (...args) {
    window.firstPutAt ??= performance.now();
    return put.apply(this, args);
  };
  let readyAt = null;
  const busy = () => {
    const until = performance.now() + 100;
    while (performance.now() < until) {}
    const status = document.getElementById("status");
    if (readyAt === null && status?.dataset.state === "ready") readyAt = performance.now();
    if (readyAt !== null && performance.now() - readyAt > 1000) {
      window.busyEndedAt = performance.now();
      return;
    }
    setTimeout(busy, 0);
  };
  setTimeout(busy, 0);
})();"""


def test_the_snapshot_is_kept_only_once_the_page_is_idle(page: Page, demo: Demo) -> None:
    """Keeping the snapshot unzipped costs the thread that booted Python about
    0.1 s: the boot module waits until that thread is idle, not busy with the
    page's start (here, a main thread kept busy until after ready)."""
    page.add_init_script(BUSY_UNTIL_AFTER_READY)
    open_demo(page, demo.origin, user=BUILDER)
    assert booted(page) == "snapshot"
    assert page.evaluate("pfSnapshotFrom") == "network"
    wait_until(page, "() => window.firstPutAt !== undefined")
    busy_ended, first_put = page.evaluate("[window.busyEndedAt, window.firstPutAt]")
    assert busy_ended is not None and first_put > busy_ended, (busy_ended, first_put)
    generate(page)


@contextmanager
def profile_context(browser: Browser, profile: Path) -> Iterator[BrowserContext]:
    """A browser profile on disk, as a person's: its HTTP cache keeps large files
    (a test context's in-memory cache does not keep the 9.6 MB runtime).
    Fails the test if any request went to a non-local host."""
    context = browser.browser_type.launch_persistent_context(
        profile, executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    seen: list[str] = []
    context.on("request", lambda request: seen.append(request.url))
    try:
        yield context
    finally:
        context.close()
    strays = [url for url in seen if not is_local(url)]
    assert not strays, strays


def rebuild_with_marker(wheel: Path) -> None:
    """The wheel as a later build would make it: pf_browser says ``new`` on import."""
    marker = "\nimport js as _js\n_js.pfBrowserBuild = 'new'\n"
    with zipfile.ZipFile(wheel) as src:
        entries = [(n, src.read(n)) for n in src.namelist()
                   if n != "pf_browser/__pycache__/" and "/__pycache__/__init__." not in n]
    tmp = wheel.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w") as dst:
        for name, data in entries:
            dst.writestr(name, data + marker.encode() if name == "pf_browser/__init__.py"
                         else data)
    tmp.replace(wheel)


# -- signing in and out without a reload -----------------------------------------

def sign_in(page: Page, user: Any) -> None:
    page.select_option("select[name=user]", user.id)
    page.get_by_test_id("signin").click()
    status = page.get_by_test_id("status")
    expect(status).to_contain_text(user.name, timeout=RUN_TIMEOUT_MS)
    expect(status).to_have_attribute("data-state", "ready", timeout=RUN_TIMEOUT_MS)


def sign_out(page: Page) -> None:
    page.get_by_test_id("signout").click()
    status = page.get_by_test_id("status")
    expect(status).to_contain_text("Sign in (top right)", timeout=RUN_TIMEOUT_MS)
    expect(status).to_have_attribute("data-state", "ready", timeout=RUN_TIMEOUT_MS)


@pytest.mark.parametrize("path", ["/", "/worker.html"])
def test_switching_users_keeps_python_and_never_the_previous_token(
        page: Page, demo: Demo, path: str) -> None:
    open_demo(page, demo.origin, path, user=BUILDER)
    page.evaluate("window.sameDocument = true")  # gone if the page reloads
    generate(page)
    api_host = urlsplit(demo.api.base_url).netloc
    seen: list[str] = page.requests_seen  # type: ignore[attr-defined]

    # Signed out: the client holds no token, so nothing reaches the API.
    sign_out(page)
    before = len(seen)
    generate(page, until="error")
    expect(page.get_by_test_id("status")).to_contain_text("signed out", timeout=RUN_TIMEOUT_MS)
    assert [u for u in seen[before:] if urlsplit(u).netloc == api_host] == []

    # Signed in as a read-only user: the builder's token would have built the app.
    sign_in(page, READER)
    generate(page, until="error")
    expect(page.get_by_test_id("status")).to_contain_text("not build them",
                                                          timeout=RUN_TIMEOUT_MS)
    # And back: the builder builds again. One document all along.
    sign_out(page)
    sign_in(page, BUILDER)
    generate(page)
    assert page.evaluate("window.sameDocument") is True
