"""Loopback HTTP servers for the browser tests, on the standard library only.

:class:`StaticServer` serves folders (the built site, the test pages) as one
origin, optionally cross-origin isolated. :class:`PeerServer` is a second
origin that behaves like the PromptFloe API at the transport level: CORS and
CORP on every answer, event streams flushed chunk by chunk with pauses, error
statuses, a request that never answers, and it notices when a client goes
away. It writes HTTP/1.1 chunked bodies itself, so each flush is one chunk on
the wire and nothing buffers it.
"""

from __future__ import annotations

import json
import mimetypes
import select
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pf_demo.app import accepts_gzip

# Pyodide's files need these types: a module script must be JavaScript and
# WebAssembly.instantiateStreaming insists on application/wasm.
_TYPES = {".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm",
          ".json": "application/json", ".whl": "application/zip", ".zip": "application/zip",
          ".html": "text/html; charset=utf-8", ".css": "text/css", ".py": "text/plain"}

# What cross-origin isolation needs (HTML, "cross-origin isolated").
ISOLATION_HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class _Base:
    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._httpd = _Server(("127.0.0.1", 0), handler)
        self._httpd.owner = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def __enter__(self) -> Any:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


class StaticServer(_Base):
    """Serve ``mounts`` (URL prefix -> folder) on one loopback origin, uncached;
    paths under a prefix in ``immutable`` are cached for good, as the demo app
    server serves the site's content-named files, and its gzipped ones
    (``*.bin.gz``) go out as they are, with ``Content-Encoding: gzip``."""

    def __init__(self, mounts: Mapping[str, Path], *, isolated: bool = False,
                 immutable: tuple[str, ...] = ()) -> None:
        self.mounts = sorted(mounts.items(), key=lambda kv: -len(kv[0]))
        self.isolated = isolated
        self.immutable = immutable
        super().__init__(_StaticHandler)


class _StaticHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        owner: StaticServer = self.server.owner  # type: ignore[attr-defined]
        path = urlsplit(self.path).path
        for prefix, folder in owner.mounts:
            if path.startswith(prefix):
                target = (folder / path[len(prefix):].lstrip("/")).resolve()
                if target.is_dir():
                    target = target / "index.html"
                if folder.resolve() in target.parents and target.is_file():
                    return self._send_file(target, owner.isolated,
                                           path.startswith(owner.immutable))
        self.send_error(404)

    def _send_file(self, target: Path, isolated: bool, immutable: bool) -> None:
        body = target.read_bytes()
        ctype = _TYPES.get(target.suffix) or mimetypes.guess_type(target.name)[0]
        gzipped = immutable and target.name.endswith(".bin.gz")
        encoded = gzipped and accepts_gzip(self.headers.get("Accept-Encoding"))
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream" if encoded
                         else ctype or "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "public, max-age=31536000, immutable"
                         if immutable else "no-store")
        if gzipped:
            self.send_header("Vary", "Accept-Encoding")
        if encoded:
            self.send_header("Content-Encoding", "gzip")
        if isolated:
            for name, value in ISOLATION_HEADERS.items():
                self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


class PeerServer(_Base):
    """A second origin for transport tests; see the handler for its routes.

    ``seen`` holds each request's lower-cased headers by its ``tag`` query
    parameter; ``disconnected(tag)`` is an Event set when that client went
    away before the body ended.
    """

    def __init__(self) -> None:
        self.seen: dict[str, dict[str, str]] = {}
        self.generate: dict[str, float] = {"n": 4, "size": 100, "delay": 0, "stamp": 0}
        self._gone: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        super().__init__(_PeerHandler)

    def disconnected(self, tag: str) -> threading.Event:
        with self._lock:
            return self._gone.setdefault(tag, threading.Event())


class _PeerHandler(BaseHTTPRequestHandler):
    """Routes (every answer carries CORS for the calling origin, and CORP):

    - ``/echo``: JSON of the method, headers and body received.
    - ``/stream?n=4&delay=0.2&size=0``: ``n`` SSE events, one flush each,
      ``delay`` seconds apart; ``size`` pads each event's data.
    - ``/v1/apps/generate`` (POST): ``n`` ``file`` events in the API's shape,
      between ``run`` and ``ready``; ``n``, ``size``, ``delay`` as above, from
      the query or else from ``PeerServer.generate``. With ``stamp``, each
      file's content starts with the server's ``time.time()`` at its flush.
    - ``/status/<code>[/…]``: that status with the API's JSON error body.
    - ``/nocors``: an answer without CORS headers, which a page may not read.
    - ``/tag/<tag>/…``: the same routes, with ``tag`` set (for a client's base_url).
    - ``/hang?phase=headers|body``: never answers, or sends headers and one
      event and then nothing.
    - ``/drop``: headers and one event, then the connection is cut mid-body.
    """

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    @property
    def owner(self) -> PeerServer:
        return self.server.owner  # type: ignore[attr-defined, no-any-return]

    def do_OPTIONS(self) -> None:  # CORS preflight (WHATWG Fetch, "CORS-preflight fetch")
        self.send_response(204)
        self._cors()
        self.send_header("Access-Control-Allow-Methods", "GET, POST, DELETE")
        self.send_header("Access-Control-Allow-Headers",
                         self.headers.get("Access-Control-Request-Headers", ""))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        self._route()

    def do_POST(self) -> None:
        self._route()

    def do_DELETE(self) -> None:
        self._route()

    def _route(self) -> None:
        url = urlsplit(self.path)
        q = {k: v[-1] for k, v in parse_qs(url.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path, tag = url.path, q.get("tag", "")
        if path.startswith("/tag/"):  # a base_url of /tag/<tag> tags a client's every call
            _, _, tag, path = path.split("/", 3)
            path = "/" + path
        self.owner.seen[tag] = {k.lower(): v for k, v in self.headers.items()}
        n, size = int(q.get("n", 4)), int(q.get("size", 0))
        delay = float(q.get("delay", 0))
        if path == "/nocors":  # an answer the browser must hide from another origin
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")
        elif path == "/echo":
            self._json(200, {"method": self.command, "body": body.decode(),
                             "headers": self.owner.seen[tag]})
        elif path == "/stream":
            self._stream(_ticks(n, size), delay, tag)
        elif path == "/v1/apps/generate":
            cfg = {**self.owner.generate, **{k: float(v) for k, v in q.items() if k != "tag"}}
            events = _generate_events(int(cfg["n"]), int(cfg["size"]), bool(cfg["stamp"]))
            self._stream(events, cfg["delay"], tag)
        elif path == "/drop":
            self._stream(_ticks(1, 0), 0, tag, then_drop=True)
        elif path.startswith("/status/"):  # /status/<code>, or a base_url of /status/<code>
            code = int(path.split("/")[2])
            if code == 204:
                self.send_response(204)
                self._cors()
                self.end_headers()
                return
            self._json(code, {"error": {"type": "test", "code": f"status_{code}",
                                        "message": f"The peer answered {code}."}})
        elif path == "/hang":
            if q.get("phase") == "body":
                self._stream(_ticks(1, 0), 0, tag, then_hang=True)
            else:
                self._wait_gone(tag, 60)
        else:
            self._json(404, {"error": {"type": "test", "code": "not_found",
                                       "message": "No such route."}})

    def _cors(self) -> None:
        self.send_header("Access-Control-Allow-Origin", self.headers.get("Origin", "*"))
        self.send_header("Access-Control-Expose-Headers", "PromptFloe-Run-Id, X-Peer")
        self.send_header("Cross-Origin-Resource-Policy", "cross-origin")
        self.send_header("Vary", "Origin")

    def _json(self, status: int, obj: object) -> None:
        data = json.dumps(obj).encode()
        self.send_response(status)
        self._cors()
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Peer", "yes")
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, events: Iterator[bytes], delay: float, tag: str,
                then_hang: bool = False, then_drop: bool = False) -> None:
        self.send_response(200)
        self._cors()
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("PromptFloe-Run-Id", "run_peer")
        self.end_headers()
        self.wfile.flush()
        for event in events:  # the generator runs at flush time (stamps are taken then)
            try:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
                self.wfile.flush()
            except OSError:
                self.owner.disconnected(tag).set()
                return
            if delay and self._wait_gone(tag, delay):
                return
        if then_hang:
            self._wait_gone(tag, 60)
            return
        if then_drop:  # no terminating chunk: the body is cut short
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _wait_gone(self, tag: str, seconds: float) -> bool:
        """Sleep up to ``seconds``; True (and recorded) if the client closed meanwhile."""
        sock: socket.socket = self.connection
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            readable, _, _ = select.select([sock], [], [], left)
            if readable:
                try:
                    gone = sock.recv(1, socket.MSG_PEEK) == b""
                except OSError:
                    gone = True
                if gone:
                    self.owner.disconnected(tag).set()
                    self.close_connection = True
                    return True
                time.sleep(min(left, 0.05))  # the client sent bytes; don't spin on them
        return False


def _ticks(n: int, size: int) -> Iterator[bytes]:
    for i in range(1, n + 1):
        data = json.dumps({"i": i, "pad": "x" * size})
        yield f"id: {i}\nevent: tick\ndata: {data}\n\n".encode()


def _generate_events(n: int, size: int, stamp: bool = False) -> Iterator[bytes]:
    app = "app_peer"
    yield b'id: 1\nevent: run\ndata: {"runId": "run_peer", "appId": "app_peer"}\n\n'
    for i in range(n):
        head = f"{time.time():.6f}\n" if stamp else f"/* file {i} */\n"
        content = (head + "body { margin: 0 }\n" * (size // 19 + 1))[:size]
        data = json.dumps({"path": f"src/file_{i}.css", "size": len(content),
                           "content": content})
        yield f"id: {i + 2}\nevent: file\ndata: {data}\n\n".encode()
    ready = json.dumps({"appId": app, "previewUrl": "http://127.0.0.1/preview/app_peer/"})
    yield f"id: {n + 2}\nevent: ready\ndata: {ready}\n\n".encode()


class ThreadedServer:
    """Run an ASGI app with uvicorn on an ephemeral loopback port, in a thread."""

    def __init__(self, app: Any) -> None:
        import uvicorn  # only the tests that serve an ASGI app need it

        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ThreadedServer:
        self.thread.start()
        for _ in range(500):  # bounded: at most ~10 s
            if self.server.started:
                break
            self.thread.join(timeout=0.02)
        if not self.server.started:
            raise RuntimeError("the ASGI app server (uvicorn) did not start")
        return self

    @property
    def origin(self) -> str:
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
