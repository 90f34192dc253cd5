"""The README's "Use pf_browser in your own page", as written, in Chromium.

Both page skeletons (PyScript with the wheel in ``files``, and plain Pyodide
with ``unpackArchive``) are taken from README.md, given the built wheel's name
and the API's address, served from one origin with a session endpoint, and
run against the real local server, which allows that origin
(``--allow-origin``'s setting): each must print the generated files.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser

from pf_browser import PromptFloe

testing = pytest.importorskip("pf_server.testing")

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
SECTION = README.split("### Use pf_browser in your own page", 1)[1].split("\n### ", 1)[0]
PAGES = re.findall(r"```html\n(.*?)```", SECTION, re.S)
BOOT_WAIT_MS = 120_000  # an upper bound for a loaded machine, not a measurement


class _App(ThreadingHTTPServer):
    daemon_threads = True
    site: Path
    pages: dict[str, bytes]
    api_key: str
    api_base: str


class _AppHandler(BaseHTTPRequestHandler):
    """Your app's origin: its pages, the built site's files, and a session endpoint."""

    server: _App

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        body = self.server.pages.get(path)
        if body is None:
            target = (self.server.site / path.lstrip("/")).resolve()
            if self.server.site.resolve() not in target.parents or not target.is_file():
                return self.send_error(404)
            body = target.read_bytes()
        types = {".html": "text/html", ".mjs": "text/javascript", ".js": "text/javascript",
                 ".wasm": "application/wasm", ".json": "application/json",
                 ".css": "text/css", ".whl": "application/zip", ".zip": "application/zip"}
        self._send(200, types.get(Path(path).suffix, "application/octet-stream"), body)

    def do_POST(self) -> None:
        if self.path != "/api/promptfloe/session":
            return self.send_error(404)
        with PromptFloe(api_key=self.server.api_key, base_url=self.server.api_base) as client:
            session = client.sessions.issue("readme_user", scopes=["build", "read"])
        self._send(200, "application/json", json.dumps(
            {"token": session.token, "expiresIn": session.expires_in}).encode())

    def _send(self, status: int, ctype: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def app_origin(site_dir: Path) -> Iterator[_App]:
    app = _App(("127.0.0.1", 0), _AppHandler)
    app.site = site_dir
    app.pages = {}
    thread = threading.Thread(target=app.serve_forever, daemon=True)
    thread.start()
    origin = f"http://127.0.0.1:{app.server_address[1]}"
    with testing.LiveServer(allowed_origins=[origin], pace=0.0) as live:
        app.api_key, app.api_base = live.api_key, live.base_url
        yield app
    app.shutdown()
    app.server_close()


def test_the_readme_has_a_pyscript_and_a_plain_pyodide_page() -> None:
    assert len(PAGES) == 2
    assert '"./*"' in PAGES[0] and "vendor/pyscript/core.js" in PAGES[0]
    assert "unpackArchive" in PAGES[1] and "pyscript" not in PAGES[1]


@pytest.mark.parametrize(("which", "last_line"), [(0, "index.html "), (1, "ready")],
                         ids=["pyscript", "pyodide"])
def test_a_readme_page_runs_as_written(chromium: Browser, app_origin: _App, site_dir: Path,
                                       which: int, last_line: str) -> None:
    [wheel] = sorted((site_dir / "wheels").glob("pf_browser-*.whl"))
    html = re.sub(r"pf_browser-[\w.]+-py3-none-any\.whl", wheel.name, PAGES[which])
    html = html.replace("http://127.0.0.1:8787", app_origin.api_base)
    app_origin.pages[f"/readme{which}.html"] = (
        f"<!doctype html><meta charset=utf-8><body>{html}</body>").encode()
    printed: list[str] = []
    context = chromium.new_context()
    try:
        page = context.new_page()
        page.on("console", lambda message: printed.append(message.text))
        # Python's print() reaches the console; the page's last line, or an
        # error, ends the wait.
        with page.expect_console_message(
                lambda m: m.text.startswith(last_line) or "Error" in m.text,
                timeout=BOOT_WAIT_MS):
            page.goto(f"http://127.0.0.1:{app_origin.server_address[1]}/readme{which}.html")
    finally:
        context.close()
    assert not [line for line in printed if "Error" in line], printed
    assert any(line.startswith(last_line) for line in printed), printed
