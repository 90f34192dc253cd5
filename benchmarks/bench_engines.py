"""The demo page in Chromium, Firefox and WebKit: page-ready and generate times.

    python benchmarks/bench_engines.py              (builds site/ with build.py first)
    PF_SITE=path python benchmarks/bench_engines.py [ROUNDS]   (uses a built site as is)
    python benchmarks/bench_engines.py --boot [ROUNDS]   (Firefox: page ready vs a bare page)
    python benchmarks/bench_engines.py --webkit [ROUNDS] (WebKit: snapshot boots vs plain ones)

The real demo: the local PromptFloe API and the demo app server on two
loopback origins (one set for all engines), the main-thread page with the
async client, driven through the browser tests' facade (tests/browser/
_drivers.py). The engines take turns, round after round, on a machine whose
load moves, and each figure is also given as a ratio to Chromium in the same
round (paired), then as the median of those ratios.

- page ready: from the start of the navigation to the page saying "ready"
  (Python booted, pf_browser imported, the client made), by the page's own
  clock (``performance.now()``, stamped by a MutationObserver), fresh profile;
- generate, first file / done: from the click on Generate to the first file
  listed, and to the run done with its preview, by the page's clock (the
  median of three runs in one page, signed in).

``--boot``: bench_browser.py's page-ready figures in Firefox (which the
facade can start afresh, with an empty profile, for each cold load): the
main and worker pages against the bare PyScript page, alternating, each
cold (a new Firefox, a new profile) and then returning (the same page
opened again in that tab, its cache warm).

``--webkit``: what the snapshots made without JSPI give WebKit, which has
no JSPI, against a plain boot of the same page (its snapshot refused), cold
(each WebKit page is a new MiniBrowser), alternating: the sync page's time
to say in words that it cannot stream (by its clock), and the notebook
kernel's time from starting its worker to ``import pyodide_kernel`` done,
as the kernel's worker starts (the test harness tests/browser/pages/
kernel_worker.mjs, on the site's kernel boot module).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests" / "browser"))
sys.path.insert(0, str(REPO))

from _drivers import ENGINES, Browser, Page, StrayCatcher, launch, missing  # noqa: E402
from _local_servers import ThreadedServer  # noqa: E402

from pf_demo import DemoUser, create_app  # noqa: E402
from pf_server.testing import LiveServer  # noqa: E402

USER = DemoUser("ada", "Ada (builder)", ("build", "read", "deploy"))
RUNS_PER_PAGE = 3
TIMEOUT = 180


def watch_state(state: str) -> str:
    """JS: stamps the moment the status line's state is ``state`` (or at
    once, if it already is), by the page's clock."""
    return """new Promise(resolve => {
  const status = document.querySelector('[data-testid="status"]');
  const done = () => status.dataset.state === STATE;
  if (done()) return resolve(performance.now());
  new MutationObserver((_, observer) => {
    if (done()) { observer.disconnect(); resolve(performance.now()); }
  }).observe(status, {attributes: true});
})""".replace("STATE", json.dumps(state))


WATCH_READY = watch_state("ready")

# Click Generate, then stamp the first file listed and the run's end.
GENERATE = """new Promise((resolve, reject) => {
  const status = document.querySelector('[data-testid="status"]');
  const files = document.querySelector('[data-testid="files"]');
  const runs = Number(status.dataset.runs || 0);
  let first = null;
  const look = () => {
    if (Number(status.dataset.runs || 0) !== runs + 1) return;
    if (first === null && files.querySelector("li")) first = performance.now();
    const state = status.dataset.state;
    if (state === "done" && first !== null) {
      observer.disconnect(); resolve({first: first - started, done: performance.now() - started});
    } else if (state === "error") {
      observer.disconnect(); reject(new Error(status.textContent));
    }
  };
  const observer = new MutationObserver(look);
  observer.observe(document.body, {attributes: true, childList: true, subtree: true});
  document.querySelector('[data-testid="prompt"]').value = "A landing page for a bakery";
  const started = performance.now();
  document.querySelector('[data-testid="generate"]').click();
})"""


# The bare page stamps window.pyReadyAt once its Python ran; a demo page's
# status turns "ready" (stamped as it happens).
READY_AT = ("""(document.querySelector('[data-testid="status"]') === null
  ? new Promise(resolve => {
      const poll = () => window.pyReadyAt !== undefined ? resolve(window.pyReadyAt)
                                                       : setTimeout(poll, 2);
      poll();
    })
  : """ + WATCH_READY + ")")
BOOT_PAGES = {"bare": "/_bench/bare.html", "main": "/", "worker": "/worker.html"}
BOOT_TIMEOUT = 90


def boot_rounds(rounds: int, site: Path) -> None:
    from bench_browser import bare_page, runtime_urls
    from starlette.responses import HTMLResponse
    from starlette.routing import Route

    engine = "firefox"
    if missing(engine):
        raise SystemExit(f"bench_engines --boot: {missing(engine)}")
    bare = bare_page(*runtime_urls(site))
    got: dict[str, list[float]] = {}
    with StrayCatcher() as catcher, LiveServer(allowed_origins=[]) as api:
        app = create_app(api_base_url=api.base_url, api_key=api.api_key, site_dir=site,
                         users=[USER])
        app.router.routes.insert(0, Route("/_bench/bare.html",
                                          lambda request: HTMLResponse(bare)))
        with ThreadedServer(app) as app_server:
            api.set_allowed_origins([app_server.origin])
            browser = launch(engine, catcher)
            try:
                for n in range(rounds):
                    this: dict[str, float] = {}
                    for name, path in BOOT_PAGES.items():
                        browser.restart()  # a new Firefox with an empty profile: cold
                        try:
                            with browser.page() as page:
                                for visit in ("cold", "again"):
                                    page.goto(app_server.origin + path)
                                    this[f"{name}_{visit}"] = float(
                                        page.evaluate(READY_AT, timeout=BOOT_TIMEOUT))
                                if page.strays():
                                    raise SystemExit(f"{name}: asked non-local hosts")
                        except TimeoutError:
                            # Firefox's worker page now and then never boots
                            # (docs/browser.md): the round is left out, and said so.
                            print(f"round {n + 1} {name}: never ready (left out)", flush=True)
                            break
                        print(f"round {n + 1} {name}: cold {this[f'{name}_cold']:.0f} ms, "
                              f"returning {this[f'{name}_again']:.0f} ms", flush=True)
                    else:
                        for key, value in this.items():
                            got.setdefault(key, []).append(value)
                hung = rounds - len(got.get("bare_cold", []))
            finally:
                browser.close()
    if not got:
        raise SystemExit("bench_engines --boot: no round completed")
    med = {k: statistics.median(v) for k, v in got.items()}
    print(f"\n{engine}, page ready, medians of {rounds - hung} alternating rounds (page clock; "
          f"{hung} left out, a page never ready); paired = the median of each round's own ratios")
    print(f"  bare PyScript page: cold {med['bare_cold']:.0f} ms, "
          f"returning {med['bare_again']:.0f} ms")
    for name in ("main", "worker"):
        paired = statistics.median(o / b for o, b in zip(got[f"{name}_cold"], got["bare_cold"],
                                                         strict=True))
        again = statistics.median(a / c for a, c in zip(got[f"{name}_again"],
                                                        got[f"{name}_cold"], strict=True))
        print(f"  {name + ' page:':13} cold {med[f'{name}_cold']:5.0f} ms = "
              f"{med[f'{name}_cold'] / med['bare_cold']:.2f}x bare (paired {paired:.2f}x); "
              f"returning {med[f'{name}_again']:5.0f} ms = "
              f"{med[f'{name}_again'] / med[f'{name}_cold']:.2f}x its cold load "
              f"(paired {again:.2f}x)")


# The sync page's status turns "error", with its words.
SAYS_IT_CANNOT = watch_state("error")

# Starts the kernel's worker, waits for Python, then imports what the
# kernel's worker imports: ms from the worker's start (page clock), and how
# it booted.
KERNEL_READY = """async (url) => {
  const started = performance.now();
  const worker = new Worker(url, { type: "module" });
  const next = () => new Promise((resolve, reject) => {
    worker.onmessage = ({ data }) => resolve(data);
    worker.onerror = (event) => reject(new Error(event.message || "the worker failed"));
  });
  const { ready } = await next();
  worker.postMessage("import pyodide_kernel, piplite.piplite");
  const answer = await next();
  worker.terminate();
  if (answer.error) throw new Error(answer.error);
  return { ms: performance.now() - started, boot: ready };
}"""


def plain_kernel_site(site: Path, into: Path) -> tuple[Path, str]:
    """A copy of ``site`` (hard links) whose kernel boot module names no
    snapshot (the same module, so it boots plainly and writes the same
    files); and that module's path."""
    module = json.loads((site / "lite" / "jupyter-lite.json").read_text())[
        "jupyter-config-data"]["litePluginSettings"][
        "@jupyterlite/pyodide-kernel-extension:kernel"]["pyodideUrl"].removeprefix("./..")
    copy = into / "site"
    shutil.copytree(site, copy, symlinks=True, copy_function=os.link)
    target = copy / module.lstrip("/")
    text = re.sub(r'"\./kernel-snapshot-[\w-]+\.bin\.gz"', '""', target.read_text())
    target.unlink()  # a hard link: the site's own file stays as it is
    target.write_text(text)
    return copy, module


def webkit_rounds(rounds: int, site: Path) -> None:
    from _local_servers import StaticServer
    from bench_browser import refusing_snapshots

    engine = "webkit"
    if missing(engine):
        raise SystemExit(f"bench_engines --webkit: {missing(engine)}")
    pages = REPO / "tests" / "browser" / "pages"
    got: dict[str, list[float]] = {}
    with StrayCatcher() as catcher, LiveServer(allowed_origins=[]) as api, \
            tempfile.TemporaryDirectory() as scratch:
        plain_site, module = plain_kernel_site(site, Path(scratch))
        app = create_app(api_base_url=api.base_url, api_key=api.api_key, site_dir=site,
                         users=[USER])
        with ThreadedServer(app) as app_server, \
                ThreadedServer(refusing_snapshots(app)) as plain_server, \
                StaticServer({"/": site, "/_test/": pages}) as kernel_server, \
                StaticServer({"/": plain_site, "/_test/": pages}) as plain_kernel_server:
            api.set_allowed_origins([app_server.origin, plain_server.origin])
            browser = launch(engine, catcher)
            try:
                for n in range(rounds):
                    runs = [("sync", app_server), ("sync_plain", plain_server),
                            ("kernel", kernel_server), ("kernel_plain", plain_kernel_server)]
                    for name, server in (runs if n % 2 == 0 else runs[::-1]):
                        with browser.page() as page:
                            if name.startswith("sync"):
                                page.goto(server.origin + "/sync.html")
                                ms = float(page.evaluate(SAYS_IT_CANNOT, timeout=BOOT_TIMEOUT))
                                boot = page.evaluate("globalThis.pfPythonBoot ?? null")
                            else:
                                origin = server.origin
                                page.goto(f"{origin}/_test/pyodide.html")
                                answer = page.evaluate(
                                    KERNEL_READY,
                                    f"{origin}/_test/kernel_worker.mjs?module={origin}{module}"
                                    f"&lock={origin}/lite/kernel-packages/pyodide-lock.json",
                                    timeout=BOOT_TIMEOUT)
                                ms, boot = float(answer["ms"]), answer["boot"]
                            if page.strays():
                                raise SystemExit(f"{name}: asked non-local hosts")
                        if boot != ("plain" if name.endswith("_plain") else "snapshot"):
                            raise SystemExit(f"{name}: booted {boot!r}")
                        got.setdefault(name, []).append(ms)
                        print(f"round {n + 1} {name}: {ms:.0f} ms ({boot})", flush=True)
            finally:
                browser.close()
    print(f"\nwebkit, cold, medians of {rounds} alternating rounds (page clock); paired = "
          "the median of each round's own ratio")
    for name, what in (("sync", "sync page, to its words that it cannot stream"),
                       ("kernel", "notebook kernel, to import pyodide_kernel done")):
        snap, plain = got[name], got[f"{name}_plain"]
        paired = statistics.median(s / p for s, p in zip(snap, plain, strict=True))
        print(f"  {what}: from the snapshot {statistics.median(snap):.0f} ms, plainly "
              f"{statistics.median(plain):.0f} ms = "
              f"{statistics.median(snap) / statistics.median(plain):.2f}x (paired {paired:.2f}x)")


def site_dir() -> Path:
    if env := os.environ.get("PF_SITE"):
        return Path(env)
    subprocess.run([sys.executable, "build.py"], cwd=REPO, check=True)
    return REPO / "site"


def one_round(browser: Browser, origin: str) -> dict[str, float]:
    with browser.page() as page:
        page.goto(origin + "/")
        ready = float(page.evaluate(WATCH_READY, timeout=TIMEOUT))
        sign_in(page)
        runs = []
        for _ in range(RUNS_PER_PAGE):
            # Generate comes back a moment after the last run's "done".
            page.wait_for("!document.querySelector('[data-testid=\"generate\"]').disabled",
                          timeout=TIMEOUT)
            runs.append(page.evaluate(GENERATE, timeout=TIMEOUT))
        strays = page.strays()
        if strays:
            raise SystemExit(f"{browser.engine}: the page asked non-local hosts: {strays}")
    return {"page ready": ready,
            "first file": statistics.median(r["first"] for r in runs),
            "done": statistics.median(r["done"] for r in runs)}


def sign_in(page: Page) -> None:
    page.select("select[name=user]", USER.id)
    page.click('[data-testid="signin"]')
    page.wait_for("document.querySelector('[data-testid=\"user\"]')", timeout=TIMEOUT)
    # Ready for this user: the page signs in without a reload.
    page.wait_for("document.querySelector('[data-testid=\"status\"]').dataset.state"
                  " === 'ready' && document.querySelector('[data-testid=\"status\"]')"
                  f".textContent.includes({json.dumps(USER.name)})", timeout=TIMEOUT)


def main() -> None:
    args = [a for a in sys.argv[1:] if a not in ("--boot", "--webkit")]
    rounds = int(args[0]) if args else 3
    if "--boot" in sys.argv[1:]:
        boot_rounds(rounds, site_dir())
        return
    if "--webkit" in sys.argv[1:]:
        webkit_rounds(rounds, site_dir())
        return
    engines = [e for e in ENGINES if not missing(e)]
    for engine in ENGINES:
        if engine not in engines:
            print(f"skipping {missing(engine)}")
    site = site_dir()
    results: dict[str, list[dict[str, float]]] = {e: [] for e in engines}
    with StrayCatcher() as catcher, LiveServer(allowed_origins=[]) as api:
        app = create_app(api_base_url=api.base_url, api_key=api.api_key, site_dir=site,
                         users=[USER])
        with ThreadedServer(app) as app_server:
            api.set_allowed_origins([app_server.origin])
            browsers = {e: launch(e, catcher) for e in engines}
            try:
                for n in range(rounds):
                    for engine in engines:
                        results[engine].append(one_round(browsers[engine], app_server.origin))
                        print(f"round {n + 1} {engine}: " + ", ".join(
                            f"{k} {v / 1000:.2f} s" for k, v in results[engine][-1].items()),
                            flush=True)
            finally:
                for browser in browsers.values():
                    browser.close()
    report(results, rounds)


def report(results: dict[str, list[dict[str, float]]], rounds: int) -> None:
    print(f"\nmedians of {rounds} alternating rounds; ratio = engine / Chromium in the same "
          "round, median of the rounds' ratios")
    print(f"{'':10} {'page ready':>22} {'generate → first file':>24} {'generate → done':>22}")
    base = results.get("chromium")
    for engine, rows in results.items():
        cells = []
        for key in ("page ready", "first file", "done"):
            median = statistics.median(r[key] for r in rows)
            if base is not None:
                ratio = statistics.median(r[key] / b[key] for r, b in zip(rows, base, strict=True))
                cells.append(f"{median / 1000:7.2f} s ({ratio:4.2f}x)")
            else:
                cells.append(f"{median / 1000:7.2f} s")
        print(f"{engine:10} {cells[0]:>22} {cells[1]:>24} {cells[2]:>22}")


if __name__ == "__main__":
    main()
