"""The JupyterLite site: kernel boot, Run All to preview, size, build time.

    python benchmarks/bench_lite.py [--rounds 5] [--link 40,50]

Builds site/ first (``build.py``), then, in one run, side by side:

- **Kernel boot**, cold (a fresh browser each time, nothing cached):
  from opening a one-cell notebook to that cell's output, on our site against
  a bare JupyterLite built the same way (same build step, same Pyodide and
  kernel packages, same server: the demo app server's own file serving, so
  each file is cached as a visitor's browser caches it) without pf_browser:
  no pf_browser wheel, no ipywidgets wheels, no notebooks of ours, and its
  kernel boots Pyodide's own way (ours from the kernel's memory snapshot, as
  site/lite does; and ours has build.py's ``quicken_lite``, as site/lite
  does). Alternating rounds. Goal: <= 0.5x. Then returning visits: in each
  round a new browser profile on disk, as a person's, visited once, then
  again (the first return) and again (a later return), each page left open
  a few seconds after its output; each site's against its own cold boot:
  goal <= 0.7x for ours. The two returns are told apart because Chromium
  keeps a script's compiled code only from its second run (see build.py's
  ``warm_code_cache``). Kernels that started without JupyterLite's drive are
  counted. With ``--link
  RTT_MS,MBPS`` both sites are served over an emulated link of that round
  trip and bandwidth (``OverLink``), as a visitor's would be; otherwise over
  loopback, where downloads are all but free.
- **Run All -> preview**, beyond the server's own pace: the shipped notebook on
  the demo servers (the kernel already booted), from *Run All* to the
  generated app showing in the preview iframe, minus the time the API itself
  takes to stream that generation (measured with the CPython client against
  the same server). Goal: <= 2 s.
- **Size** of the site (ours, the bare one, the shared Pyodide) and **build
  time** of the JupyterLite step, cold (no previous build; downloads cached)
  and warm (nothing changed), and of a whole warm ``build.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests" / "browser"))

from _local_servers import ThreadedServer  # noqa: E402
from conftest import CHROMIUM, CHROMIUM_ARGS, is_local  # noqa: E402
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright  # noqa: E402
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError  # noqa: E402
from test_demo import demo_servers  # noqa: E402
from test_lite import (  # noqa: E402
    LAST_OUTPUT,
    NOTEBOOK,
    open_run_menu,
    wait_for_kernel_session,
)

from pf_browser import PromptFloe, ReadyEvent  # noqa: E402
from pf_demo.app import SiteFiles  # noqa: E402

PACE = 0.3
TIMEOUT_MS = 240_000
# A boot whose cell has not answered within this is counted as hung and run
# again. (Boots "hung" here, one in four, until run_until_answered: JupyterLab
# had dropped the cell's run, asked for before the notebook had its kernel
# session; the kernel itself was up.)
HUNG_MS = 90_000
BOOT_CELL = 'print("kernel ready")'
# What the kernel extension says when it starts a kernel without JupyterLite's
# drive: its service worker manager had not settled yet.
NO_DRIVE = "Pyodide contents will NOT be synced"
# How long a returning visit's page stays open after its output, as a
# person's tab would, before the next visit. Closing it at once (within
# 0.3 s) made the next visit's unregister() of JupyterLite's service worker
# never settle: that kernel, and every later one in the profile, started
# without the drive, and so with less to do (3 of 4 profiles of ours, none
# of the bare site's, whose kernel answers seconds after its start-up work).
# Not our snapshot's write to the browser's storage: without it, the same. After 4 s
# open, none did.
LINGER_S = 4.0


def load_build() -> Any:
    # By path: ``import build`` would find PyPA's build package.
    spec = importlib.util.spec_from_file_location("pf_build", REPO / "build.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def boot_notebook(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    nb = {"cells": [{"cell_type": "code", "execution_count": None, "id": "boot",
                     "metadata": {}, "outputs": [], "source": [BOOT_CELL]}],
          "metadata": {"kernelspec": {"display_name": "Python (Pyodide)",
                                      "language": "python", "name": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    (folder / "boot.ipynb").write_text(json.dumps(nb))
    return folder


def linked_copy(source: Path, target: Path, *, skip: str) -> None:
    """Put source's entries but ``skip`` into target, as hard links where
    the file system allows (site/ is hundreds of MB), symbolic links as they
    are (site/_v/'s runtime links into vendor/)."""
    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)
    target.mkdir(parents=True, exist_ok=True)
    for entry in source.iterdir():
        if entry.name == skip:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.copytree(entry, target / entry.name, symlinks=True, copy_function=link)
        elif entry.is_symlink():
            os.symlink(os.readlink(entry), target / entry.name)
        else:
            link(str(entry), str(target / entry.name))


# A network link: (round trip in ms, Mb/s), or None for loopback as it is.
Link = tuple[float, float] | None


class OverLink:
    """An ASGI app behind an emulated network link: each response starts a
    round trip after its request, and the bodies of all responses share the
    link's bandwidth, first come first served.

    Emulated at the server, not with Chromium's DevTools network emulation:
    that one slows a page's own requests, but not those JupyterLite's
    service worker makes for the page and the kernel's worker (every request
    of a returning visit).
    """

    def __init__(self, app: Any, rtt_ms: float, mbps: float) -> None:
        self.app = app
        self.rtt = rtt_ms / 1000
        self.bytes_per_second = mbps * 1e6 / 8
        self.free_at = 0.0  # when the link has sent all it was given

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        await asyncio.sleep(self.rtt)

        async def paced(message: Any) -> None:
            body = message.get("body", b"") if message["type"] == "http.response.body" else b""
            if body:
                now = loop.time()
                self.free_at = max(now, self.free_at) + len(body) / self.bytes_per_second
                await asyncio.sleep(self.free_at - now)
            await send(message)

        await self.app(scope, receive, paced)


def site_server(folder: Path, link: Link = None) -> ThreadedServer:
    """``folder`` served as the demo app server serves site/ (pf_demo's
    SiteFiles: content-named files immutable, the rest revalidated), over
    ``link`` if given."""
    from starlette.applications import Starlette
    from starlette.routing import Mount
    app: Any = Starlette(routes=[Mount("/", SiteFiles(directory=folder, html=True))])
    return ThreadedServer(app if link is None else OverLink(app, *link))


def size(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def boot_seconds(browser: Browser, origin: str, strays: list[str],
                 context: BrowserContext | None = None) -> tuple[float, bool]:
    """Open the one-cell notebook, run its cell, and wait for its output: in
    a fresh context (a cold visit), or in ``context`` (a returning one).
    Returns the seconds that took, and whether the kernel said it started
    without JupyterLite's drive (its files unseen by Python)."""
    own = context is None
    if context is None:
        context = browser.new_context()
        context.on("request", lambda r: strays.append(r.url) if not is_local(r.url) else None)
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        said: list[str] = []
        page.on("console", lambda m: said.append(m.text))
        started = time.perf_counter()
        page.goto(f"{origin}/lite/notebooks/index.html?path=boot.ipynb")
        run_until_answered(page)
        took = time.perf_counter() - started
        if not own:
            page.wait_for_timeout(LINGER_S * 1000)
        return took, any(text.startswith(NO_DRIVE) for text in said)
    finally:
        (context if own else page).close()


def run_until_answered(page: Page) -> None:
    """Run the notebook's cell (queued until the kernel is up) and wait for
    its output. JupyterLab drops a run asked for before the notebook has its
    kernel session: the cell's prompt stays ``[ ]:`` and nothing comes, about
    one boot in four here. So the run is asked for again while the prompt
    says it was not taken (``[*]:`` once queued)."""
    cell = page.locator(".jp-Cell").first
    output = page.locator(".jp-OutputArea-output", has_text="kernel ready")
    deadline = time.perf_counter() + HUNG_MS / 1000
    while True:
        cell.locator(".cm-content").click()
        page.keyboard.press("Control+Enter")  # run in place
        try:
            output.wait_for(timeout=2_000)
            return
        except PlaywrightTimeoutError:
            pass
        while cell.locator(".jp-InputPrompt").inner_text().strip() != "[ ]:":
            # Taken: queued or running, so wait for the output.
            try:
                output.wait_for(timeout=1_000)
                return
            except PlaywrightTimeoutError:
                if time.perf_counter() > deadline:
                    raise
        if time.perf_counter() > deadline:
            raise PlaywrightTimeoutError(f"no output within {HUNG_MS // 1000} s")


def kernel_module(site: Path) -> str | None:
    """The kernel's boot module as site/lite/jupyter-lite.json names it
    (relative to the site), or None when the build made none."""
    config = json.loads((site / "lite" / "jupyter-lite.json").read_text())
    url = config["jupyter-config-data"]["litePluginSettings"][
        "@jupyterlite/pyodide-kernel-extension:kernel"]["pyodideUrl"]
    return "." + url.removeprefix("./..") if "/_v/" in url else None  # -> "./_v/x.mjs"


def boot_until_answered(browser: Browser, origin: str, strays: list[str],
                        hangs: list[str], name: str,
                        context: BrowserContext | None = None,
                        driveless: list[str] | None = None) -> float:
    """boot_seconds, run again (at most 3 times) when the kernel hung; appends
    ``name`` to ``driveless`` for a kernel that started without the drive."""
    for _ in range(3):
        try:
            took, without_drive = boot_seconds(browser, origin, strays, context)
            if without_drive and driveless is not None:
                driveless.append(name)
            return took
        except PlaywrightTimeoutError:
            hangs.append(name)
            print(f"  {name}: the kernel did not answer within {HUNG_MS // 1000} s; again",
                  flush=True)
    raise RuntimeError(f"{name}: the kernel hung three times in a row")


def server_pace(api: Any) -> float:
    """The API's own time for one generation: POST to the ready event."""
    with PromptFloe(api_key=api.api_key, base_url=api.base_url) as client:
        started = time.perf_counter()
        with client.apps.generate_stream("A landing page for a neighbourhood bakery") as s:
            for event in s:
                if isinstance(event, ReadyEvent):
                    return time.perf_counter() - started
    raise RuntimeError("no ready event")


def run_all_to_preview(page: Page, old_src: str | None) -> tuple[float, str]:
    open_run_menu(page)
    started = time.perf_counter()
    page.locator("li[data-command='runmenu:run-all']").click()
    frame = page.locator(".jp-OutputArea-output iframe")
    page.wait_for_function(
        "old => { const f = document.querySelector('.jp-OutputArea-output iframe');"
        " return f && f.getAttribute('src') !== old; }", arg=old_src or "")
    document = frame.first.element_handle().content_frame()
    assert document is not None
    document.locator("h1").wait_for()
    took = time.perf_counter() - started
    src = frame.first.get_attribute("src") or ""
    page.locator(".jp-OutputArea-output", has_text=LAST_OUTPUT).wait_for(state="attached")
    return took, src


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--link", metavar="RTT_MS,MBPS", default=None,
        help="serve the booting sites over an emulated network link (say 40,50: "
             "a 40 ms round trip, 50 Mb/s), not over loopback as it is, where a "
             "download costs next to nothing and a returning visit has little to save")
    args = parser.parse_args()
    link: Link = None
    if args.link:
        rtt, mbps = (float(x) for x in args.link.split(","))
        link = (rtt, mbps)
    build = load_build()
    subprocess.run([sys.executable, "build.py"], cwd=REPO, check=True,
                   stdout=subprocess.DEVNULL)
    started = time.perf_counter()
    subprocess.run([sys.executable, "build.py"], cwd=REPO, check=True,
                   stdout=subprocess.DEVNULL)
    whole_warm = time.perf_counter() - started
    site = REPO / "site"
    wheel = next((site / "wheels").glob("pf_browser-*.whl"))

    with tempfile.TemporaryDirectory(prefix="bench_lite_") as tmp:
        root = Path(tmp)
        ours_contents = boot_notebook(root / "contents-ours")
        shutil.copy2(REPO / "notebooks" / NOTEBOOK, ours_contents / NOTEBOOK)
        bare_contents = boot_notebook(root / "contents-bare")
        times: dict[str, list[float]] = {}
        # Each site as the demo app server serves one: site/ with this lite/
        # (the bare one's uses only the runtime in site/vendor/).
        linked_copy(site, root / "ours", skip="lite")
        linked_copy(site, root / "bare", skip="lite")
        for name, pf_wheel, contents in (("ours", wheel, ours_contents),
                                         ("bare", None, bare_contents)):
            out, work = root / name / "lite", root / f"work-{name}"
            for kind in ("cold", "warm"):
                t0 = time.perf_counter()
                build.lite_site(out, pf_wheel, notebooks=contents, work=work)
                times[f"{name} {kind}"] = [time.perf_counter() - t0]
        # Ours boots its kernel as site/lite's does: from the kernel's boot
        # module, snapshot and files under site/_v/ (build.py made them).
        kernel_boot = kernel_module(site)
        build.set_kernel_boot(root / "ours" / "lite", kernel_boot)
        # And, as site/lite's, what build.py adds to JupyterLite's own build
        # (the bare site is JupyterLite as it comes).
        build.quicken_lite(root / "ours" / "lite")
        sizes = {"ours": size(root / "ours" / "lite"), "bare": size(root / "bare" / "lite"),
                 "site/lite": size(site / "lite"),
                 "shared pyodide": size(site / "vendor" / "pyodide")}
        kernel_files = sorted((site / "_v").glob("kernel-*"))
        sizes["kernel's boot"] = (len(kernel_files), sum(p.stat().st_size for p in kernel_files))

        strays: list[str] = []
        boots: dict[str, list[float]] = {"ours": [], "bare": []}
        returning: dict[str, list[float]] = {"ours": [], "bare": []}  # the first return
        later: dict[str, list[float]] = {"ours": [], "bare": []}  # the one after it
        hangs: list[str] = []
        driveless: list[str] = []
        run_all: list[float] = []
        paces: list[float] = []
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            with site_server(root / "ours", link) as ours, \
                    site_server(root / "bare", link) as bare:
                # Each cold boot in a browser of its own: in one browser for
                # them all, kernels (ours and the bare one's alike) hung more
                # and more often as the run went on.
                for i in range(args.rounds):
                    order = [("ours", ours), ("bare", bare)]
                    for name, server in order if i % 2 == 0 else reversed(order):
                        fresh = pw.chromium.launch(executable_path=CHROMIUM,
                                                   args=CHROMIUM_ARGS)
                        try:
                            boots[name].append(boot_until_answered(
                                fresh, server.origin, strays, hangs, name, None, driveless))
                        finally:
                            fresh.close()
                        print(f"  boot {name}: {boots[name][-1]:.1f} s", flush=True)
                # Returning visits: in each round, for each site, a browser
                # profile on disk, as a person's (a test context's in-memory
                # cache does not keep the 9.6 MB runtime, nor the kernel's
                # 15 MB snapshot), visited once (its caches, IndexedDB and
                # JupyterLite's service worker warm), then twice again, each
                # visit a new page in it.
                for i in range(args.rounds):
                    order = [("ours", ours), ("bare", bare)]
                    for name, server in order if i % 2 == 0 else reversed(order):
                        context = pw.chromium.launch_persistent_context(
                            root / f"profile-{name}-{i}", executable_path=CHROMIUM,
                            args=CHROMIUM_ARGS)
                        context.on("request", lambda r: strays.append(r.url)
                                   if not is_local(r.url) else None)
                        boot_until_answered(browser, server.origin, strays, hangs, name, context)
                        for series in (returning, later):
                            series[name].append(boot_until_answered(
                                browser, server.origin, strays, hangs, name, context,
                                driveless))
                        print(f"  returning {name}: {returning[name][-1]:.1f} s, "
                              f"then {later[name][-1]:.1f} s", flush=True)
                        context.close()

            with demo_servers(site, pace=PACE) as demo:
                context = browser.new_context(viewport={"width": 1200, "height": 1000})
                context.on("request",
                           lambda r: strays.append(r.url) if not is_local(r.url) else None)
                page = context.new_page()
                page.set_default_timeout(TIMEOUT_MS)
                page.goto(f"{demo.origin}/lite/notebooks/index.html?path={NOTEBOOK}")
                page.wait_for_selector(".jp-Notebook .jp-Cell")
                wait_for_kernel_session(page)
                _, src = run_all_to_preview(page, None)  # boots the kernel: not counted
                for _ in range(args.rounds):
                    paces.append(server_pace(demo.api))
                    took, src = run_all_to_preview(page, src)
                    run_all.append(took)
                    print(f"  Run All -> preview: {took:.2f} s (server alone "
                          f"{paces[-1]:.2f} s)", flush=True)
                context.close()
            browser.close()

    med = statistics.median
    where = (f"over an emulated link ({link[0]:g} ms round trip, {link[1]:g} Mb/s)"
             if link else "over loopback")
    print(f"\nJupyterLite, cold boot to kernel ready (open a notebook -> first output), {where}")
    print(f"  ours {med(boots['ours']):.1f} s, bare {med(boots['bare']):.1f} s (medians of "
          f"{args.rounds}): {med(boots['ours']) / med(boots['bare']):.2f}x   goal <= 0.5x")
    paired = [o / b for o, b in zip(boots["ours"], boots["bare"], strict=True)]
    print(f"  best {min(boots['ours']):.1f} s vs {min(boots['bare']):.1f} s: "
          f"{min(boots['ours']) / min(boots['bare']):.2f}x; paired rounds, median "
          f"{med(paired):.2f}x")
    print(f"  ours {[round(b, 1) for b in boots['ours']]}, "
          f"bare {[round(b, 1) for b in boots['bare']]}")
    print("  returning visits (the same browser profile, warm caches), against the "
          "site's own cold boot:")
    for name in ("ours", "bare"):
        goal = "   goal <= 0.7x" if name == "ours" else ""
        first, after = med(returning[name]), med(later[name])
        paired_first = med([r / b for r, b in zip(returning[name], boots[name], strict=True)])
        print(f"    {name}: the first return {first:.1f} s, {first / med(boots[name]):.2f}x"
              f" (paired {paired_first:.2f}x); the next {after:.1f} s, "
              f"{after / med(boots[name]):.2f}x{goal}")
    print(f"    {[round(t, 1) for t in returning['ours']]} then "
          f"{[round(t, 1) for t in later['ours']]}")
    print(f"  ours returning vs bare cold: {med(returning['ours']) / med(boots['bare']):.2f}x")
    print(f"  boots run again because the kernel hung: ours {hangs.count('ours')}, "
          f"bare {hangs.count('bare')}")
    print(f"  kernels started without the drive: ours {driveless.count('ours')}, "
          f"bare {driveless.count('bare')} (of {2 * args.rounds} each)")
    beyond = [t - p for t, p in zip(run_all, paces, strict=True)]
    print(f"\nRun All -> preview (kernel booted, API pace {PACE} s/file)")
    print(f"  median {med(run_all):.2f} s, the API's own stream {med(paces):.2f} s: "
          f"{med(beyond):.2f} s beyond the server's pace   goal <= 2 s")
    print("\nSize (files, MB)")
    for name, (n, b) in sizes.items():
        print(f"  {name:<15} {n:5d} files {b / 1e6:6.1f} MB")
    print("\nBuild time, JupyterLite step (downloads cached)")
    for name in ("ours", "bare"):
        print(f"  {name}: cold {times[name + ' cold'][0]:.1f} s, "
              f"warm {times[name + ' warm'][0]:.2f} s")
    print(f"  whole build.py, warm: {whole_warm:.2f} s")
    print(f"\nRequests to non-local hosts: {len(strays)}")


if __name__ == "__main__":
    main()
