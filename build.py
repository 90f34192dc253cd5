"""Build the self-hosted demo site, serve it, or run the tests.

    python build.py           build the wheel and assemble site/
    python build.py serve     build, then run the local PromptFloe API and the
                              demo app server on two loopback origins
    python build.py test      ruff, mypy and pytest, as CI runs them

site/ is one folder that holds everything a page loads, so not one request
leaves the machine (no CDN):

    site/vendor/pyodide/   the npm package ``pyodide`` (runtime files)
    site/vendor/pyscript/  the npm package ``@pyscript/core`` (its dist/)
    site/wheels/           our pf_browser wheel and pyodide-http from PyPI
    site/pyscript.json     the PyScript config the pages share (generated)
    site/*                 the pages, from static/

The npm versions are pinned in package.json, and package-lock.json's
``integrity`` hashes are checked by ``npm ci``. pyodide-http's wheel is pinned
here by its sha256. Each step is skipped when its inputs have not changed.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import importlib.metadata
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent
SITE = ROOT / "site"
STATIC = ROOT / "static"
NODE_MODULES = ROOT / "node_modules"
CACHE = ROOT / "build" / "cache"

PYODIDE_VERSION = "314.0.7"
PYSCRIPT_VERSION = "0.7.31"
# pyodide-http 0.2.2, the py3-none-any wheel on PyPI.
PYODIDE_HTTP = "pyodide-http==0.2.2"
PYODIDE_HTTP_WHEEL = "pyodide_http-0.2.2-py3-none-any.whl"
PYODIDE_HTTP_SHA256 = "cf006ea593c1643b5badeb4d42ed24a6eebd830276171fa1f82de0777b3fb608"

# What a page needs from the pyodide package; its docs, console pages and
# TypeScript declarations stay out of the site.
PYODIDE_SKIP = frozenset({"README.md", "console.html", "console-v2.html", "package.json"})
PYODIDE_SKIP_SUFFIXES = (".d.ts",)


def log(message: str) -> None:
    print(f"build: {message}", flush=True)


def fingerprint(paths: Iterable[Path]) -> str:
    """A hash of the files' names and contents, to tell whether a step must rerun."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def stamp_is(stamp: Path, value: str) -> bool:
    return stamp.is_file() and stamp.read_text() == value


def sync_tree(src: Path, dst: Path, *, skip: frozenset[str] = frozenset(),
              skip_suffixes: tuple[str, ...] = ()) -> int:
    """Copy src's files into dst where size or mtime differ; drop what src lacks.

    Returns the number of files copied.
    """
    copied = 0
    wanted: set[Path] = set()
    for path in src.rglob("*"):
        if not path.is_file() or path.name in skip or path.name.endswith(skip_suffixes):
            continue
        rel = path.relative_to(src)
        wanted.add(rel)
        target = dst / rel
        st = path.stat()
        if target.is_file():
            tt = target.stat()
            if tt.st_size == st.st_size and int(tt.st_mtime) == int(st.st_mtime):
                continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
        copied += 1
    if dst.is_dir():
        for path in dst.rglob("*"):
            if path.is_file() and path.relative_to(dst) not in wanted:
                path.unlink()
    return copied


# -- the steps ------------------------------------------------------------------

def npm_ci() -> None:
    """Install node_modules/ from package-lock.json (integrity-checked) when it changed."""
    lock = ROOT / "package-lock.json"
    stamp = NODE_MODULES / ".pf_lock.sha256"
    want = hashlib.sha256(lock.read_bytes()).hexdigest()
    if not stamp_is(stamp, want):
        npm = shutil.which("npm")
        if npm is None:
            sys.exit("build: npm is not installed; install Node.js 20 and npm, then retry")
        log("npm ci (Pyodide and PyScript, checked against package-lock.json)")
        subprocess.run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
                       cwd=ROOT, check=True)
        stamp.write_text(want)
    for name, version in (("pyodide", PYODIDE_VERSION), ("@pyscript/core", PYSCRIPT_VERSION)):
        found = json.loads((NODE_MODULES / name / "package.json").read_text())["version"]
        if found != version:
            sys.exit(f"build: node_modules has {name} {found}, expected {version}; "
                     "run `npm ci`")


def vendor() -> None:
    n = sync_tree(NODE_MODULES / "pyodide", SITE / "vendor" / "pyodide",
                  skip=PYODIDE_SKIP, skip_suffixes=PYODIDE_SKIP_SUFFIXES)
    n += sync_tree(NODE_MODULES / "@pyscript" / "core" / "dist", SITE / "vendor" / "pyscript")
    if n:
        log(f"vendored {n} runtime files into site/vendor/")


def pf_browser_wheel(wheels: Path) -> str:
    """Build the browser's wheel when its sources changed; return its file name.

    The distribution's wheel also carries the local server (pf_server, for
    ``pip install "pf_browser[server]"``); a page needs none of it, so the
    site gets :func:`browser_only` of it: pf_browser and its metadata.
    """
    sources = [ROOT / "pyproject.toml", ROOT / "LICENSE", ROOT / "build.py",
               *(ROOT / "pf_browser").rglob("*.py"), ROOT / "pf_browser" / "py.typed"]
    want = fingerprint(p for p in sources if p.is_file())
    stamp = ROOT / "build" / "pf_browser-wheel.sha256"  # not in site/: nothing to serve
    existing = sorted(wheels.glob("pf_browser-*.whl"))
    if len(existing) == 1 and stamp_is(stamp, want):
        return existing[0].name
    try:
        # By distribution: `import build` here would find this very file.
        importlib.metadata.version("build")
        importlib.metadata.version("hatchling")
    except importlib.metadata.PackageNotFoundError:
        sys.exit('build: building the wheel needs `build` and `hatchling`: '
                 'pip install -e ".[demo]"')
    out = ROOT / "build" / "wheel"
    shutil.rmtree(out, ignore_errors=True)
    log("building the pf_browser wheel")
    out.mkdir(parents=True)
    # --no-isolation: hatchling is installed (the demo extra), so no network.
    # cwd=out: run from the repo root, ``-m build`` would import this file.
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation",
                    "--outdir", str(out), str(ROOT)], check=True, cwd=out,
                   stdout=subprocess.DEVNULL)
    built = sorted(out.glob("pf_browser-*-py3-none-any.whl"))
    if len(built) != 1:
        sys.exit(f"build: expected one pure-Python pf_browser wheel, got {built}")
    for old in existing:
        old.unlink()
    browser_only(built[0], wheels / built[0].name)
    stamp.write_text(want)
    return built[0].name


def browser_only(wheel: Path, target: Path) -> None:
    """Copy ``wheel`` to ``target`` with only what a browser loads: the
    ``pf_browser`` package and its dist-info, without the server's extra,
    its script, or its package; RECORD rewritten to match (PEP 376/427)."""
    kept: list[tuple[str, bytes]] = []
    with zipfile.ZipFile(wheel) as src:
        dist_info = next(n.split("/")[0] for n in src.namelist()
                         if n.split("/")[0].endswith(".dist-info"))
        for name in src.namelist():
            top = name.split("/")[0]
            if name.endswith("/") or name in (f"{dist_info}/RECORD",
                                              f"{dist_info}/entry_points.txt"):
                continue
            if top != dist_info and top != "pf_browser":
                continue
            data = src.read(name)
            if name == f"{dist_info}/METADATA":
                data = _without_extras(data)
            kept.append((name, data))
    record = [f"{name},sha256={_urlsafe_digest(data)},{len(data)}" for name, data in kept]
    record.append(f"{dist_info}/RECORD,,")
    kept.append((f"{dist_info}/RECORD", ("\n".join(record) + "\n").encode()))
    tmp = target.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for name, data in kept:
            info = zipfile.ZipInfo(name, date_time=(2020, 2, 2, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(info, data)
    tmp.replace(target)


def _without_extras(metadata: bytes) -> bytes:
    """METADATA without Provides-Extra and the extras' Requires-Dist (the server's)."""
    head, sep, body = metadata.decode().partition("\n\n")
    lines = [ln for ln in head.split("\n")
             if not ln.startswith("Provides-Extra:")
             and not (ln.startswith("Requires-Dist:") and "extra ==" in ln)]
    return ("\n".join(lines) + sep + body).encode()


def _urlsafe_digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def pyodide_http_wheel(wheels: Path) -> str:
    """pyodide-http from PyPI, checked against the pinned sha256."""
    target = wheels / PYODIDE_HTTP_WHEEL
    if not (target.is_file() and sha256_of(target) == PYODIDE_HTTP_SHA256):
        cached = CACHE / PYODIDE_HTTP_WHEEL
        if not (cached.is_file() and sha256_of(cached) == PYODIDE_HTTP_SHA256):
            log(f"pip download {PYODIDE_HTTP}")
            CACHE.mkdir(parents=True, exist_ok=True)
            subprocess.run([sys.executable, "-m", "pip", "download", PYODIDE_HTTP, "--no-deps",
                            "--only-binary", ":all:", "--dest", str(CACHE), "--quiet"],
                           check=True)
        got = sha256_of(cached)
        if got != PYODIDE_HTTP_SHA256:
            cached.unlink()
            sys.exit(f"build: {PYODIDE_HTTP_WHEEL} has sha256 {got}, "
                     f"expected {PYODIDE_HTTP_SHA256}; refusing to use it")
        shutil.copy2(cached, target)
    return target.name


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def pyscript_config(pf_wheel: str, http_wheel: str) -> None:
    """The config both pages load: the local interpreter and our wheels unpacked.

    ``interpreter`` keeps PyScript off its default CDN; a ``files`` target
    ending in ``/*`` unpacks a wheel into the working folder, which is on
    sys.path, so no micropip and no network (docs/browser.md).
    """
    config = {
        "interpreter": "./vendor/pyodide/pyodide.mjs",
        "files": {
            f"./wheels/{pf_wheel}": "./*",
            f"./wheels/{http_wheel}": "./*",
            "./py/demo_ui.py": "./demo_ui.py",
            "./py/demo_errors.py": "./demo_errors.py",
        },
    }
    text = json.dumps(config, indent=2) + "\n"
    target = SITE / "pyscript.json"
    if not (target.is_file() and target.read_text() == text):
        target.write_text(text)


def build() -> Path:
    started = time.monotonic()
    npm_ci()
    SITE.mkdir(exist_ok=True)
    vendor()
    wheels = SITE / "wheels"
    wheels.mkdir(exist_ok=True)
    pf_wheel = pf_browser_wheel(wheels)
    http_wheel = pyodide_http_wheel(wheels)
    pages = copy_pages()
    pyscript_config(pf_wheel, http_wheel)
    log(f"site/ ready ({pages} page files updated, {time.monotonic() - started:.1f}s): "
        f"{pf_wheel}, {http_wheel}")
    return SITE


def copy_pages() -> int:
    """static/** into site/, beside vendor/ and wheels/ (which static/ never holds)."""
    copied = 0
    for path in STATIC.rglob("*"):
        if not path.is_file() or "__pycache__" in path.parts:
            continue
        target = SITE / path.relative_to(STATIC)
        if target.is_file() and target.read_bytes() == path.read_bytes():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
        copied += 1
    # A page removed from static/ leaves the site too.
    generated = {"vendor", "wheels", "pyscript.json"}
    for path in SITE.rglob("*"):
        rel = path.relative_to(SITE)
        if rel.parts[0] not in generated and path.is_file() and not (STATIC / rel).is_file():
            path.unlink()
    return copied


# -- serve ----------------------------------------------------------------------

def wait_until_up(url: str, proc: subprocess.Popen[bytes], what: str) -> None:
    """Poll ``url`` until it answers (any status), at most 30 s."""
    for _ in range(300):
        if proc.poll() is not None:
            sys.exit(f"build: {what} exited with status {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"build: {what} did not answer at {url} within 30 s")


def read_dev_env(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        name, sep, value = line.strip().partition("=")
        if sep and not name.startswith("#"):
            values[name.strip()] = value.strip().strip('"').strip("'")
    return values


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def check_free(host: str, port: int, flag: str) -> None:
    """Exit with a clear message if ``port`` is taken: else the server already
    there would answer our readiness checks, and we would print its URL."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            sys.exit(f"build: {host}:{port} is taken ({exc.strerror or exc}): stop what "
                     f"runs there (an earlier `build.py serve`?) or pass {flag} PORT")


def serve(host: str, api_port: int, app_port: int, db: str) -> None:
    check_free(host, api_port, "--api-port")
    check_free(host, app_port, "--app-port")
    build()
    api_url = f"http://{host}:{api_port}"
    app_url = f"http://{host}:{app_port}"
    dev_env = ROOT / ".promptfloe" / "dev.env"
    procs: list[subprocess.Popen[bytes]] = []
    # SIGTERM (a supervisor, `kill`) stops both servers the same way as Ctrl-C.
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGINT, _raise_interrupt)  # even where a shell ignored it
    try:
        api = subprocess.Popen([sys.executable, "-m", "pf_server", "serve", "--host", host,
                                "--port", str(api_port), "--db", db,
                                "--allow-origin", app_url], cwd=ROOT)
        procs.append(api)
        wait_until_up(f"{api_url}/openapi.json", api, "the PromptFloe server")
        if not dev_env.is_file():
            sys.exit(f"build: the PromptFloe server did not write {dev_env}")
        env = {**os.environ, **read_dev_env(dev_env), "PROMPTFLOE_BASE_URL": api_url}
        app = subprocess.Popen([sys.executable, "-m", "pf_demo", "--host", host,
                                "--port", str(app_port), "--site", str(SITE)],
                               cwd=ROOT, env=env)
        procs.append(app)
        wait_until_up(f"{app_url}/config.json", app, "the demo app server")
        for proc, what in ((api, "the PromptFloe server"), (app, "the demo app server")):
            if proc.poll() is not None:  # what answered was someone else's server
                sys.exit(f"build: {what} exited with status {proc.returncode}")
        print(f"\n  PromptFloe API   {api_url}\n  Demo app         {app_url}/\n"
              f"  Worker demo      {app_url}/worker.html\n"
              f"  Usage dashboard  {api_url}/dashboard\n\n"
              "Open the demo app in a browser. Ctrl-C stops both servers.\n", flush=True)
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
        sys.exit("build: a server stopped unexpectedly")
    except KeyboardInterrupt:
        print("\nstopping…", flush=True)
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.terminate()  # uvicorn shuts down gracefully on SIGTERM
        for proc in reversed(procs):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


# -- test -----------------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")


def ensure_chromium() -> None:
    """Debian's Chromium drives the browser tests (``playwright install`` cannot
    download a browser here). Install it when missing and we may; else say how."""
    if CHROMIUM.exists():
        return
    command = ["apt-get", "install", "-y", "-q", "chromium", "chromium-driver"]
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        sys.exit(f"build: the browser tests need Debian's Chromium at {CHROMIUM}: "
                 f"run `sudo apt-get update && sudo {' '.join(command)}`, then retry")
    log("installing Debian's chromium and chromium-driver for the browser tests")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env)
    subprocess.run(command, check=True, env=env)


def test_env() -> dict[str, str]:
    """The environment the checks run in: the browser tests use our site/,
    and a skipped test fails the run (tests/conftest.py), so a suite that
    skips itself for a missing dependency fails CI instead of passing unseen."""
    return {**os.environ, "PF_SITE": str(SITE), "PF_FORBID_SKIPS": "1"}


def test(pytest_args: list[str]) -> int:
    """What CI runs: lint, types, then every test (the browser ones included).

    All three run even if one fails, so one run reports every problem.
    """
    ensure_chromium()
    build()
    failed = []
    env = test_env()
    # The browser tests (and the benchmark that shares their conftest) are
    # type-checked on their own: see [tool.mypy] in pyproject.toml.
    browser_side = [*sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests" / "browser")
                            .glob("*.py")), "benchmarks/bench_browser.py"]
    for cmd in (["ruff", "check", "."], ["mypy"], ["mypy", *browser_side],
                ["pytest", *pytest_args]):
        log(" ".join(cmd))
        if subprocess.run([sys.executable, "-m", *cmd], cwd=ROOT, env=env).returncode != 0:
            failed.append(cmd[0])
    if failed:
        log(f"FAILED: {', '.join(failed)}")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("build", help="build the wheel and site/ (the default)")
    p_serve = sub.add_parser("serve", help="build, then run the API and the demo app")
    p_serve.add_argument("--host", default="127.0.0.1")
    p_serve.add_argument("--api-port", type=int, default=8787)
    p_serve.add_argument("--app-port", type=int, default=8000)
    p_serve.add_argument("--db", default=str(ROOT / ".promptfloe" / "promptfloe.db"))
    sub.add_parser("test", help="ruff, mypy and pytest; extra arguments go to pytest")
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "test":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command == "serve":
        serve(args.host, args.api_port, args.app_port, args.db)
        return 0
    if args.command == "test":
        return test(extra)
    build()
    return 0


if __name__ == "__main__":
    sys.exit(main())
