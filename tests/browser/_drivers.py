"""One small facade over three browser engines, so a test is written once.

- ``chromium``: Debian's Chromium through Python Playwright
  (``executable_path="/usr/bin/chromium"``; ``playwright install`` is never run).
- ``firefox``: Debian's ``firefox-esr``, driven over WebDriver BiDi (its
  built-in remote agent) by the small client below, on websocket-client.
- ``webkit``: WebKitGTK's ``MiniBrowser``, driven through Debian's
  ``WebKitWebDriver`` by Selenium with both paths given (so Selenium Manager
  downloads nothing), under an ``Xvfb`` display of our own.

:func:`launch` starts one engine and returns a :class:`Browser`;
``Browser.new_page()`` gives a :class:`Page` with fresh cookies and storage.
A page offers what the tests need: ``goto``, ``evaluate`` (a JavaScript
expression, awaited, its value back through JSON), ``fill``, ``click``,
``select``, ``wait_for`` (a bounded poll of an expression), ``frame_text``
(the text inside an iframe, cross-origin or not), ``block`` (make requests to
one host fail as a dropped network would), ``requests`` (what the page asked
for) and ``strays()`` (what it asked of any host that is not loopback).

Nothing leaves the machine: Chromium resolves only loopback names, and Firefox
and WebKit send every non-loopback URL to :class:`StrayCatcher`, a loopback
proxy that records the request and refuses it. Whatever the page or its
workers ask of another host therefore shows up in ``strays()``.
"""

from __future__ import annotations

import itertools
import json
import os
import queue
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ENGINES = ("chromium", "firefox", "webkit")

CHROMIUM = "/usr/bin/chromium"
FIREFOX = "/usr/bin/firefox-esr"
MINIBROWSER = "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser"
WEBKIT_DRIVER = "/usr/bin/WebKitWebDriver"
WEBKIT_SESSION_TIMEOUT = 60  # s: MiniBrowser starts in a few, even on a busy machine
XVFB = "/usr/bin/Xvfb"

# What to install when an engine is missing (build.py test installs these as root).
APT_PACKAGES = {
    "chromium": ("chromium", "chromium-driver"),
    "firefox": ("firefox-esr",),
    "webkit": ("webkit2gtk-driver", "xvfb", "xauth"),
}
EXECUTABLES = {
    "chromium": (CHROMIUM,),
    "firefox": (FIREFOX,),
    "webkit": (MINIBROWSER, WEBKIT_DRIVER, XVFB),
}

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
LOCAL_SCHEMES = {"blob", "data", "about"}

# These flags keep Chromium from calling home. The resolver rule makes every
# other host fail to resolve, so a stray URL cannot leave the machine.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # *.localhost stays: generated apps are previewed on origins of their own
    # such as app-<id>.localhost, which Chromium resolves to loopback itself.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost, "
    "EXCLUDE *.localhost",
]

POLL = 0.1  # seconds between two looks in wait_for


def is_local(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in LOCAL_SCHEMES:
        return True
    host = parts.hostname or ""
    return parts.scheme in {"http", "https", "ws", "wss"} and (
        host in LOCAL_HOSTS or host.endswith(".localhost"))


def missing(engine: str) -> str | None:
    """Why ``engine`` cannot run here (with the command that fixes it), or None."""
    absent = [path for path in EXECUTABLES[engine] if not Path(path).exists()]
    if not absent:
        return None
    return (f"{engine}: {', '.join(absent)} missing; install with "
            f"`apt-get install -y {' '.join(APT_PACKAGES[engine])}`")


class ScriptError(Exception):
    """JavaScript evaluated in the page threw; the message is the browser's."""


class Unsupported(Exception):
    """The engine's driver cannot do this (the test says so and skips)."""


# -- the proxy that catches what tries to leave ---------------------------------

class StrayCatcher:
    """A loopback HTTP proxy that refuses every request and records its target.

    Firefox and WebKit use it for every URL that is not loopback, so a request
    that tried to leave the machine is recorded here (``seen``: absolute URLs,
    or ``host:port`` for CONNECT) and answered 403 instead.
    """

    def __init__(self) -> None:
        self.seen: list[str] = []
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True,
                                        name="stray-catcher")

    @property
    def port(self) -> int:
        return int(self._sock.getsockname()[1])

    def __enter__(self) -> StrayCatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    head = conn.recv(8192).split(b"\r\n", 1)[0].decode("latin-1")
                    parts = head.split()
                    if len(parts) >= 2:
                        self.seen.append(parts[1])
                    conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n"
                                 b"Connection: close\r\n\r\n")
                except OSError:
                    pass


# -- the facade -----------------------------------------------------------------

_NO_ARG = object()


def _expression(js: str, arg: Any) -> str:
    return js if arg is _NO_ARG else f"({js})({json.dumps(arg)})"


class Page:
    """One tab with fresh cookies; see the module docstring for what it offers."""

    engine = ""

    def __init__(self) -> None:
        self.requests: list[str] = []  # URLs the page asked for, where the driver sees them
        self.errors: list[str] = []  # uncaught errors and console errors, where it sees them

    # What each engine implements.
    def goto(self, url: str) -> None:
        raise NotImplementedError

    def _evaluate_json(self, expression: str, timeout: float) -> str:
        """Evaluate ``expression`` awaited; return JSON.stringify of its value."""
        raise NotImplementedError

    def frame_text(self, selector: str) -> str:
        """The text of the body of the iframe at ``selector`` ("" if none yet)."""
        raise NotImplementedError

    def block(self, netloc: str) -> None:
        """From now on, requests to ``netloc`` fail as if the network were down."""
        raise Unsupported(f"{self.engine}'s driver cannot intercept requests")

    def strays(self) -> list[str]:
        """Requests that went (or tried to go) to a host that is not loopback."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    # Built on evaluate, the same in every engine.
    def evaluate(self, js: str, arg: Any = _NO_ARG, *, timeout: float = 120) -> Any:
        """The value of a JS expression (or of ``js`` called with ``arg``), awaited."""
        text = self._evaluate_json(_expression(js, arg), timeout)
        return None if text in ("", "undefined") else json.loads(text)

    def fill(self, selector: str, text: str) -> None:
        self.evaluate("""([sel, text]) => {
            const el = document.querySelector(sel);
            el.focus(); el.value = text;
            el.dispatchEvent(new Event("input", {bubbles: true}));
            el.dispatchEvent(new Event("change", {bubbles: true}));
        }""", [selector, text])

    def click(self, selector: str) -> None:
        self.evaluate("sel => document.querySelector(sel).click()", selector)

    def select(self, selector: str, value: str) -> None:
        self.fill(selector, value)

    def count(self, selector: str) -> int:
        return int(self.evaluate("sel => document.querySelectorAll(sel).length", selector))

    def attr(self, selector: str, name: str) -> str | None:
        value = self.evaluate("([sel, name]) => document.querySelector(sel)?.getAttribute(name)",
                              [selector, name])
        return None if value is None else str(value)

    def text(self, selector: str) -> str:
        return str(self.evaluate("sel => document.querySelector(sel)?.textContent ?? ''",
                                 selector))

    def wait_for(self, js: str, arg: Any = _NO_ARG, *, timeout: float = 60,
                 what: str = "") -> None:
        """Poll ``js`` until it is truthy (in JavaScript's sense); bounded by ``timeout`` s."""
        deadline = time.monotonic() + timeout
        value: Any = None
        while True:
            try:
                value = self.evaluate(f"Boolean({_expression(js, arg)})",
                                      timeout=max(1.0, deadline - time.monotonic()))
            except ScriptError as exc:
                value = f"(threw: {exc})"
            else:
                if value:
                    return
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"{self.engine}: gave up after {timeout:.0f} s waiting for "
                    f"{what or js!r} (last: {value!r}); {self.describe()}")
            time.sleep(POLL)

    def wait_for_frame_text(self, selector: str, needle: str, *, timeout: float = 60) -> str:
        """Poll the iframe's text until it contains ``needle`` (case-insensitive)."""
        deadline = time.monotonic() + timeout
        text = ""
        while True:
            try:
                text = self.frame_text(selector)
            except ScriptError as exc:
                text = f"(threw: {exc})"
            if needle.lower() in text.lower():
                return text
            if time.monotonic() >= deadline:
                raise AssertionError(f"{self.engine}: the iframe {selector} never showed "
                                     f"{needle!r} in {timeout:.0f} s; it shows {text[:300]!r}")
            time.sleep(POLL * 3)

    def describe(self) -> str:
        """The page's status line and errors, for a failure message."""
        try:
            status = self.evaluate(
                "(() => { const s = document.querySelector('[data-testid=status]');"
                " const b = document.getElementById('boot-step');"
                " return s ? `${s.dataset.state}: ${s.textContent}`"
                " + (b && s.dataset.state === 'booting' ? ` (boot step: ${b.textContent})` : '')"
                " : document.title })()",
                timeout=10)
        except Exception as exc:  # the page itself may be the problem
            status = f"(could not read the page: {exc})"
        asked = [url.rsplit("/", 1)[-1][:60] for url in self.requests[-12:]]
        return f"page says {status!r}; errors {self.errors[-5:]!r}; last requests {asked!r}"


class Browser:
    """One running engine. ``new_page()`` opens a page with fresh cookies."""

    engine = ""

    def new_page(self) -> Page:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    #: restart() starts the engine afresh (Firefox).
    can_restart = False

    def restart(self) -> None:
        """Start this engine afresh (a new process, a new profile), where
        :attr:`can_restart`. Pages opened before are gone."""
        raise NotImplementedError(f"{self.engine} is not restarted: it starts a browser "
                                  "per page or shares the test session's")

    @contextmanager
    def page(self) -> Iterator[Page]:
        page = self.new_page()
        try:
            yield page
        finally:
            page.close()


def launch(engine: str, catcher: StrayCatcher, *, playwright_browser: Any = None) -> Browser:
    """Start ``engine``; raise RuntimeError saying what to install if it is missing.

    For Chromium, ``playwright_browser`` (a running Playwright Browser) is used
    instead of starting another.
    """
    if why := missing(engine):
        raise RuntimeError(why)
    if engine == "chromium":
        return ChromiumBrowser(playwright_browser)
    if engine == "firefox":
        return FirefoxBrowser(catcher)
    if engine == "webkit":
        return WebKitBrowser(catcher)
    raise ValueError(f"unknown engine {engine!r}; one of {ENGINES}")


# -- Chromium: Playwright ---------------------------------------------------------

class ChromiumBrowser(Browser):
    """Playwright's Chromium; wraps ``playwright_browser`` if given (a test
    session's own), else starts one (sync Playwright runs once per thread)."""

    engine = "chromium"

    def __init__(self, playwright_browser: Any = None) -> None:
        self._pw: Any = None
        if playwright_browser is not None:
            self.playwright = playwright_browser
            return
        from playwright.sync_api import sync_playwright

        self._pw = sync_playwright().start()
        try:
            self.playwright = self._pw.chromium.launch(executable_path=CHROMIUM,
                                                       args=CHROMIUM_ARGS)
        except BaseException:
            self._pw.stop()
            raise

    def new_page(self) -> Page:
        return ChromiumPage(self.playwright.new_context())

    def close(self) -> None:
        if self._pw is None:
            return  # not ours to close
        try:
            self.playwright.close()
        finally:
            self._pw.stop()


class ChromiumPage(Page):
    engine = "chromium"

    def __init__(self, context: Any) -> None:
        super().__init__()
        self.context = context
        context.on("request", lambda request: self.requests.append(request.url))
        self.pw_page = context.new_page()
        self.pw_page.set_default_timeout(60_000)
        self.pw_page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.pw_page.on("console", self._on_console)

    def _on_console(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def goto(self, url: str) -> None:
        self.pw_page.goto(url)

    def _evaluate_json(self, expression: str, timeout: float) -> str:
        from playwright.sync_api import Error

        try:
            return str(self.pw_page.evaluate(
                f"async () => JSON.stringify((await ({expression})) ?? null)"))
        except Error as exc:
            raise ScriptError(exc.message) from None

    def fill(self, selector: str, text: str) -> None:
        self.pw_page.fill(selector, text)

    def click(self, selector: str) -> None:
        self.pw_page.click(selector)

    def select(self, selector: str, value: str) -> None:
        self.pw_page.select_option(selector, value)

    def frame_text(self, selector: str) -> str:
        handle = self.pw_page.query_selector(selector)
        frame = handle.content_frame() if handle else None
        if frame is None:
            return ""
        return str(frame.evaluate("document.body ? document.body.innerText : ''"))

    def block(self, netloc: str) -> None:
        self.pw_page.route(lambda url: urlsplit(url).netloc == netloc,
                           lambda route: route.abort())

    def strays(self) -> list[str]:
        return [url for url in self.requests if not is_local(url)]

    def close(self) -> None:
        self.context.close()


# -- Firefox: WebDriver BiDi ------------------------------------------------------

# Prefs for a profile that stays on the machine: every non-loopback URL goes to
# the StrayCatcher; the remote agent's own recommended prefs do the rest.
def _firefox_prefs(proxy_port: int) -> dict[str, Any]:
    return {
        "network.proxy.type": 1,
        "network.proxy.http": "127.0.0.1",
        "network.proxy.http_port": proxy_port,
        "network.proxy.ssl": "127.0.0.1",
        "network.proxy.ssl_port": proxy_port,
        "network.proxy.no_proxies_on": "127.0.0.1,localhost,.localhost,[::1]",
        "network.proxy.allow_hijacking_localhost": False,
        "network.proxy.share_proxy_settings": True,
        "browser.shell.checkDefaultBrowser": False,
        "browser.startup.homepage_override.mstone": "ignore",
        "datareporting.policy.dataSubmissionEnabled": False,
        "toolkit.telemetry.reportingpolicy.firstRun": False,
        "app.update.disabledForTesting": True,
        "remote.prefs.recommended": True,
        # What Firefox fetches on its own: remote settings, captive-portal and
        # connectivity checks, Safe Browsing lists, region lookup.
        "services.settings.server": "data:,#remote-settings-dummy/v1",
        "network.captive-portal-service.enabled": False,
        "network.connectivity-service.enabled": False,
        "browser.safebrowsing.update.enabled": False,
        "browser.safebrowsing.downloads.remote.enabled": False,
        "browser.region.network.url": "",
        "browser.region.update.enabled": False,
        "extensions.update.enabled": False,
        "extensions.getAddons.cache.enabled": False,
        "browser.newtabpage.enabled": False,
        "browser.topsites.contile.enabled": False,
        # Media plugin (Widevine, OpenH264) and system add-on update checks.
        "media.gmp-manager.updateEnabled": False,
        "media.gmp-provider.enabled": False,
        "media.gmp-manager.url": "data:text/plain,",
        "media.gmp-manager.chromium-update-url": "data:text/plain,",
        "extensions.systemAddon.update.enabled": False,
        "extensions.systemAddon.update.url": "",
    }


class BiDiConnection:
    """A minimal WebDriver BiDi client: commands by id, events to listeners."""

    def __init__(self, url: str) -> None:
        import websocket  # websocket-client, the dev extra's (Selenium needs it too)

        self._ws = websocket.create_connection(url, suppress_origin=True, timeout=30)
        self._ws.settimeout(None)
        self._ids = itertools.count(1)
        self._waiting: dict[int, queue.Queue[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self.listeners: list[Callable[[str, dict[str, Any]], None]] = []
        self._reader = threading.Thread(target=self._read, daemon=True, name="bidi-reader")
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                message = json.loads(self._ws.recv())
            except Exception:  # closed: wake every waiter
                with self._lock:
                    for box in self._waiting.values():
                        box.put({"type": "error", "error": "closed",
                                 "message": "the BiDi connection closed"})
                    self._waiting.clear()
                return
            if "id" in message and message.get("type") in ("success", "error"):
                with self._lock:
                    waiter = self._waiting.pop(message["id"], None)
                if waiter is not None:
                    waiter.put(message)
            elif message.get("type") == "event":
                for listener in list(self.listeners):
                    try:
                        listener(message["method"], message["params"])
                    except Exception:  # a listener's bug must not stop the reader
                        pass

    def send(self, method: str, params: dict[str, Any]) -> int:
        """Send without waiting (from an event listener, say)."""
        command_id = next(self._ids)
        self._ws.send(json.dumps({"id": command_id, "method": method, "params": params}))
        return command_id

    def call(self, method: str, params: dict[str, Any], timeout: float = 120) -> dict[str, Any]:
        box: queue.Queue[dict[str, Any]] = queue.Queue()
        command_id = next(self._ids)
        with self._lock:
            self._waiting[command_id] = box
        self._ws.send(json.dumps({"id": command_id, "method": method, "params": params}))
        try:
            reply = box.get(timeout=timeout)
        except queue.Empty:
            with self._lock:
                self._waiting.pop(command_id, box)
            raise TimeoutError(f"BiDi {method} got no answer in {timeout:.0f} s") from None
        if reply["type"] == "error":
            raise RuntimeError(f"BiDi {method}: {reply.get('error')}: {reply.get('message')}")
        return dict(reply["result"])

    def close(self) -> None:
        try:
            self._ws.close()
        except Exception:
            pass


class FirefoxBrowser(Browser):
    engine = "firefox"

    def __init__(self, catcher: StrayCatcher) -> None:
        self._start(catcher)

    can_restart = True

    def restart(self) -> None:
        self.close()
        self._start(self.catcher)

    def _start(self, catcher: StrayCatcher) -> None:
        self.catcher = catcher
        self._profile = tempfile.mkdtemp(prefix="pf-firefox-")
        prefs = _firefox_prefs(catcher.port)
        Path(self._profile, "user.js").write_text("".join(
            f"user_pref({json.dumps(k)}, {json.dumps(v)});\n" for k, v in prefs.items()))
        self._log = open(Path(self._profile, "firefox.log"), "w+b")
        self._proc = subprocess.Popen(
            [FIREFOX, "--headless", "--no-remote", "--profile", self._profile,
             "--remote-debugging-port", "0"],
            stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            # Release builds take services.settings.server only with this set.
            env={**os.environ, "MOZ_CRASHREPORTER_DISABLE": "1",
                 "MOZ_REMOTE_SETTINGS_DEVTOOLS": "1"})
        try:
            url = self._wait_for_endpoint(60)
            self.bidi = BiDiConnection(url + "/session")
            self.bidi.call("session.new", {"capabilities": {}})
            self.bidi.listeners.append(self._on_event)
            self.bidi.call("session.subscribe", {"events": [
                "network.beforeRequestSent", "network.fetchError", "log.entryAdded"]})
        except BaseException:
            self.close()
            raise
        self.pages: dict[str, FirefoxPage] = {}

    def _wait_for_endpoint(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._log.seek(0)
            for line in self._log.read().decode(errors="replace").splitlines():
                if "WebDriver BiDi listening on " in line:
                    return line.split("listening on ", 1)[1].strip()
            if self._proc.poll() is not None:
                break
            time.sleep(0.1)
        self._log.seek(0)
        raise RuntimeError("firefox-esr did not start its WebDriver BiDi endpoint: "
                           + self._log.read().decode(errors="replace")[-2000:])

    def _on_event(self, method: str, params: dict[str, Any]) -> None:
        page = self.pages.get(str(params.get("context") or params.get("source", {})
                                  .get("context")))
        if method == "network.beforeRequestSent":
            url = params["request"]["url"]
            if params.get("isBlocked"):  # our intercepts only block; whoever asked
                self.bidi.send("network.failRequest", {"request": params["request"]
                                                       ["request"]})
            if page is not None:
                page.requests.append(url)
                if not is_local(url):  # who asked: for the failure message
                    page.errors.append(f"request to {url} from "
                                       f"{json.dumps(params.get('initiator'))[:2000]}")
        elif method == "network.fetchError" and page is not None:
            page.errors.append(f"{params['request']['url']} failed: {params.get('errorText')}")
        elif method == "log.entryAdded" and page is not None:
            if params.get("type") == "javascript" or params.get("level") == "error":
                page.errors.append(str(params.get("text")))

    def new_page(self) -> Page:
        user_context = self.bidi.call("browser.createUserContext", {})["userContext"]
        context = self.bidi.call("browsingContext.create",
                                 {"type": "tab", "userContext": user_context})["context"]
        page = FirefoxPage(self, context, user_context)
        self.pages[context] = page
        return page

    def close(self) -> None:
        if hasattr(self, "bidi"):
            try:
                self.bidi.call("browser.close", {}, timeout=10)
            except Exception:
                pass
            self.bidi.close()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(timeout=10)
        self._log.close()
        shutil.rmtree(self._profile, ignore_errors=True)


class FirefoxPage(Page):
    engine = "firefox"

    def __init__(self, browser: FirefoxBrowser, context: str, user_context: str) -> None:
        super().__init__()
        self.browser = browser
        self.bidi = browser.bidi
        self.context = context
        self.user_context = user_context
        self._strays_before = len(browser.catcher.seen)
        self._intercepts: list[str] = []

    def describe(self) -> str:
        # The page's workers, by the URL they were started from: a worker
        # page that never gets ready says here how far its workers got.
        try:
            realms = self.bidi.call("script.getRealms", {"context": self.context},
                                    timeout=10)["realms"]
            workers = [r["origin"].rsplit("/", 1)[-1][:12] for r in realms
                       if r.get("type") != "window"]
            started = f"; {len(workers)} worker(s) running"
        except (RuntimeError, TimeoutError) as exc:
            started = f"; workers unknown ({exc})"
        return super().describe() + started

    def goto(self, url: str) -> None:
        self.bidi.call("browsingContext.navigate",
                       {"context": self.context, "url": url, "wait": "complete"})

    def _evaluate_in(self, context: str, expression: str, timeout: float) -> str:
        try:
            result = self.bidi.call("script.evaluate", {
                "expression": f"(async () => JSON.stringify((await ({expression})) ?? null))()",
                "target": {"context": context}, "awaitPromise": True,
                "resultOwnership": "none"}, timeout=timeout)
        except RuntimeError as exc:  # say, the page navigated away meanwhile
            raise ScriptError(str(exc)) from None
        if result["type"] == "exception":
            details = result["exceptionDetails"]
            raise ScriptError(str(details.get("text") or details))
        return str(result["result"].get("value", ""))

    def _evaluate_json(self, expression: str, timeout: float) -> str:
        return self._evaluate_in(self.context, expression, timeout)

    def frame_text(self, selector: str) -> str:
        src = self.attr(selector, "src")
        if not src:
            return ""
        tree = self.bidi.call("browsingContext.getTree", {"root": self.context})
        for child in tree["contexts"][0].get("children") or []:
            if child["url"].rstrip("/").startswith(src.rstrip("/")):
                return str(json.loads(self._evaluate_in(
                    child["context"], "document.body ? document.body.innerText : ''", 30)))
        return ""

    def block(self, netloc: str) -> None:
        host, _, port = netloc.partition(":")
        pattern: dict[str, str] = {"type": "pattern", "hostname": host}
        if port:
            pattern["port"] = port
        # An intercept outlives its page in the BiDi session: close() removes it.
        self._intercepts.append(self.bidi.call("network.addIntercept", {
            "phases": ["beforeRequestSent"], "urlPatterns": [pattern],
            "contexts": [self.context]})["intercept"])

    def strays(self) -> list[str]:
        mine = [url for url in self.requests if not is_local(url)]
        return mine + self.browser.catcher.seen[self._strays_before:]

    def close(self) -> None:
        self.browser.pages.pop(self.context, None)
        try:
            for intercept in self._intercepts:
                self.bidi.call("network.removeIntercept", {"intercept": intercept}, timeout=30)
            self.bidi.call("browsingContext.close", {"context": self.context}, timeout=30)
            self.bidi.call("browser.removeUserContext", {"userContext": self.user_context},
                           timeout=30)
        except (RuntimeError, TimeoutError):
            pass


# -- WebKit: Selenium and WebKitWebDriver, under Xvfb ---------------------------

class Xvfb:
    """An X display of our own for MiniBrowser, which has no headless mode."""

    def __init__(self) -> None:
        read_end, write_end = os.pipe()
        self.proc = subprocess.Popen(
            [XVFB, "-displayfd", str(write_end), "-nolisten", "tcp", "-screen", "0",
             "1280x900x24"], pass_fds=[write_end], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        os.close(write_end)
        with os.fdopen(read_end) as pipe:
            number = pipe.readline().strip()  # Xvfb writes it once it accepts clients
        if not number:
            self.proc.kill()
            raise RuntimeError("Xvfb did not start (no display number)")
        self.display = f":{number}"

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class WebKitBrowser(Browser):
    """One Xvfb display; each page is a MiniBrowser of its own (its own
    WebDriver session), so each starts with no cookies and no storage."""

    engine = "webkit"

    def __init__(self, catcher: StrayCatcher) -> None:
        self.catcher = catcher
        self.xvfb = Xvfb()
        self.env = {**os.environ, "DISPLAY": self.xvfb.display,
                    # WebKitGTK hides SharedArrayBuffer even from an isolated page.
                    "JSC_useSharedArrayBuffer": "1"}

    def new_page(self) -> Page:
        from selenium.webdriver import WebKitGTK
        from selenium.webdriver.webkitgtk.options import Options
        from selenium.webdriver.webkitgtk.service import Service

        options = Options()
        options.binary_location = MINIBROWSER  # explicit: Selenium Manager fetches nothing
        # --automation or session creation hangs; --ignore-host takes one host each.
        for arg in ("--automation", f"--proxy=http://127.0.0.1:{self.catcher.port}",
                    "--ignore-host=127.0.0.1", "--ignore-host=localhost",
                    "--ignore-host=*.localhost", "--ignore-host=::1"):
            options.add_argument(arg)
        for attempt in (1, 2):
            log = tempfile.NamedTemporaryFile(prefix="pf-webkitdriver-", suffix=".log",
                                              delete=False)
            service = Service(executable_path=WEBKIT_DRIVER, env=self.env, log_output=log.name)
            started: dict[str, Any] = {}

            def start(service: Any = service, started: dict[str, Any] = started) -> None:
                try:
                    started["driver"] = WebKitGTK(options=options, service=service)
                except BaseException as exc:  # reported below
                    started["error"] = exc

            # Now and then WebKitWebDriver never answers the new-session
            # request (no MiniBrowser starts), and Selenium waits for ever:
            # bounded here, then the driver is killed and started once more.
            thread = threading.Thread(target=start, daemon=True, name="webkit-session")
            thread.start()
            thread.join(WEBKIT_SESSION_TIMEOUT)
            if "driver" in started:
                driver = started["driver"]
                driver.set_page_load_timeout(120)
                os.unlink(log.name)
                return WebKitPage(self, driver)
            if service.process is not None:
                service.process.kill()  # unblocks the request, if it still waits
            thread.join(10)
            why = started.get("error") or (f"no session after {WEBKIT_SESSION_TIMEOUT} s")
            logged = Path(log.name).read_text(errors="replace")[-1500:]
            os.unlink(log.name)
            if attempt == 2:
                raise RuntimeError(f"webkit: could not start MiniBrowser twice: {why}; "
                                   f"WebKitWebDriver said: {logged!r}")
            warnings.warn(f"webkit: MiniBrowser did not start ({why}); trying once more",
                          stacklevel=2)
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.xvfb.close()


class WebKitPage(Page):
    engine = "webkit"

    def __init__(self, browser: WebKitBrowser, driver: Any) -> None:
        super().__init__()
        self.browser = browser
        self.driver = driver
        self._strays_before = len(browser.catcher.seen)

    def goto(self, url: str) -> None:
        self.driver.get(url)

    def _evaluate_json(self, expression: str, timeout: float) -> str:
        from selenium.common.exceptions import TimeoutException, WebDriverException

        self.driver.set_script_timeout(timeout)
        try:
            reply = self.driver.execute_async_script(
                "const done = arguments[arguments.length - 1];"
                f"Promise.resolve().then(async () => JSON.stringify((await ({expression}))"
                " ?? null)).then(value => done({value}),"
                " error => done({error: String(error && error.stack || error)}));")
        except TimeoutException:
            raise TimeoutError(f"webkit: the script did not finish in {timeout:.0f} s") from None
        except WebDriverException as exc:  # say, the page navigated away meanwhile
            raise ScriptError(str(exc.msg)) from None
        if not isinstance(reply, dict):
            raise ScriptError(f"webkit: the script answered {reply!r}")
        if "error" in reply:
            raise ScriptError(str(reply["error"]))
        return str(reply["value"])

    @property
    def requests(self) -> list[str]:
        """The page's own performance timeline (classic WebDriver sees no network)."""
        try:
            return list(self.evaluate(
                "[location.href, ...performance.getEntriesByType('resource')"
                ".map(e => e.name)]", timeout=10))
        except Exception:
            return []

    @requests.setter
    def requests(self, value: list[str]) -> None:
        pass

    def click(self, selector: str) -> None:
        from selenium.webdriver.common.by import By

        self.driver.find_element(By.CSS_SELECTOR, selector).click()

    def block(self, netloc: str) -> None:
        # Classic WebDriver cannot intercept the network. The page's fetch is
        # made to reject for that host the way it does when the network is
        # down (a TypeError, "Load failed" in WebKit), which is all a page sees.
        self.evaluate("""host => {
            const real = window.fetch;
            window.fetch = function (input, init) {
                const url = new URL(input instanceof Request ? input.url : String(input),
                                    location.href);
                return url.host === host ? Promise.reject(new TypeError("Load failed"))
                                         : real.call(this, input, init);
            };
        }""", netloc)

    def frame_text(self, selector: str) -> str:
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.common.by import By

        try:
            frame = self.driver.find_element(By.CSS_SELECTOR, selector)
            if not frame.get_attribute("src"):
                return ""
            self.driver.switch_to.frame(frame)
            try:
                return str(self.driver.execute_script(
                    "return document.body ? document.body.innerText : ''"))
            finally:
                self.driver.switch_to.default_content()
        except WebDriverException as exc:
            raise ScriptError(str(exc.msg)) from None

    def strays(self) -> list[str]:
        return self.browser.catcher.seen[self._strays_before:]

    def close(self) -> None:
        self.driver.quit()
