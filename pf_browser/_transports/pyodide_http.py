"""pyodide-http, as a :class:`~pf_browser._transports.base.SyncTransport`.

For the sync client (``PromptFloe``) in a worker, where Python may block.

Streaming needs a cross-origin isolated page (COOP ``same-origin`` + COEP
``require-corp``): pyodide-http 0.2.2 then runs each ``fetch`` in a helper
worker and blocks on ``Atomics.wait`` until the helper copies the next chunk
into a ``SharedArrayBuffer``. Otherwise (main thread, or a page that is not
isolated) the only synchronous request is a synchronous XMLHttpRequest, which
returns the whole body at once: the transport then *buffers*, and warns once.
Events of a generation still all arrive, but only when the run has ended.

The helper worker is ours (``_HELPER``), written after pyodide-http 0.2.2's
(MIT, Koen Vossen), which this module no longer imports to stream: importing
``pyodide_http._streaming`` imports ``urllib.request`` (about half a second in
Pyodide, on the worker page's way to ready) and starts a second helper of its
own. What we found in pyodide-http's, and do differently (each has a test in
``tests/browser/test_transports_pyodide_http.py``):

1. **Why its streaming hung.** It creates its helper worker when imported and
   then blocks the creating thread in ``Atomics.wait``. A worker created by a
   thread does not start until that thread returns to its event loop, so a
   request sent before that never reaches the helper: the wait runs to its
   timeout (forever, without one). Ours answers a handshake, and we stream
   only once the helper has said it is running; until then a request is
   buffered (with a warning saying to ``await transport.ready()`` once after
   creating the client).
2. Its helper reports a failed ``reader.read()`` with an undefined
   ``encoder`` (a ReferenceError), so Python is never woken; and had it
   woken, the handler then goes on to store 0 (end of body) over the error
   it signalled, so a cut connection would read, now and then, as a normal
   end. Ours signals each outcome once, and a dropped connection always
   becomes ``APIConnectionError``.
3. Closing a response, or giving up on one at a timeout, only forgot the
   reader and left the fetch running: ours gives each fetch an
   ``AbortController`` and aborts it then, so the server sees the disconnect.
4. ``_ReadStream.readinto`` writes nothing into the raw-memory ``memoryview``
   that ``RawIOBase.read()`` hands it under Pyodide's CPython 3.14, so
   ``read()`` returns uninitialised bytes: we copy each chunk out of the
   shared buffer ourselves (:class:`_HelperBody`).
5. Its streaming ``send`` logs the fetch options, ``Authorization`` included,
   to the console: ours logs nothing.

The buffered fallback (a synchronous XMLHttpRequest) is pyodide-http's
``_core``, imported only when a response is buffered.

Imports only the standard library, ``js``, ``pyodide`` and (for a buffered
response only) ``pyodide_http``: load this module under Pyodide only.
"""

from __future__ import annotations

import itertools
import json
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

import js
from pyodide.ffi import JsException, to_js

from .._exceptions import APIConnectionError, APITimeoutError
from .base import Request, ResponseHead
from .fetch import _UNREACHABLE

__all__ = ["PyodideHttpResponse", "PyodideHttpTransport"]

_SHARED_BYTES = 1 << 20  # the helper copies at most this much per wake-up

# What a helper's answer in the shared buffer's first Int32 means (pyodide-http's
# values); a positive number is the length of a chunk of the body.
_HEAD, _EOF, _FAILED = -1, -2, -4

# The helper worker: it fetches for the blocked worker and copies the answer
# into each request's SharedArrayBuffer: [state, length, bytes...], waking
# the waiting thread with Atomics.notify. Messages: {hello} (the handshake),
# {start, buffer, url, fetchParams}, {getMore: id}, {abandon: id}.
_HELPER = """
const HEAD = -1, EOF = -2, FAILED = -4;
const encoder = new TextEncoder();
const connections = {};
function signal(ints, state) {
  Atomics.store(ints, 0, state);
  Atomics.notify(ints, 0);
}
function fail(ints, bytes, error) {
  const words = encoder.encode(String(error && error.message));
  const length = Math.min(words.length, bytes.length);
  bytes.set(words.subarray(0, length));
  ints[1] = length;
  signal(ints, FAILED);
}
async function start(data) {
  const id = data.start, ints = new Int32Array(data.buffer);
  const bytes = new Uint8Array(data.buffer, 8), controller = new AbortController();
  const conn = { ints, bytes, controller, reader: null, value: null, offset: 0 };
  connections[id] = conn;
  try {
    const response = await fetch(data.url, { ...data.fetchParams, signal: controller.signal });
    const head = encoder.encode(JSON.stringify(
      { status: response.status, headers: [...response.headers.entries()] }));
    conn.reader = response.body ? response.body.getReader() : null;
    const length = Math.min(head.length, bytes.length);
    bytes.set(head.subarray(0, length));
    ints[1] = length;
    signal(ints, HEAD);
  } catch (error) {
    delete connections[id];
    fail(ints, bytes, error);
  }
}
async function sendMore(id) {
  const conn = connections[id];
  if (!conn) return;
  try {
    while (!conn.value || conn.offset >= conn.value.length) {
      const part = conn.reader ? await conn.reader.read() : { done: true };
      if (part.done) {
        delete connections[id];
        signal(conn.ints, EOF);
        return;
      }
      conn.value = part.value;
      conn.offset = 0;
    }
  } catch (error) {
    delete connections[id];
    fail(conn.ints, conn.bytes, error);
    return;
  }
  const length = Math.min(conn.value.length - conn.offset, conn.bytes.length);
  conn.bytes.set(conn.value.subarray(conn.offset, conn.offset + length), 0);
  conn.offset += length;
  signal(conn.ints, length);
}
self.addEventListener("message", (event) => {
  const data = event.data;
  if (data.hello) {
    signal(new Int32Array(data.hello), 1);
  } else if (data.start) {
    start(data);
  } else if (data.getMore) {
    sendMore(data.getMore);
  } else if (data.abandon) {
    const conn = connections[data.abandon];
    delete connections[data.abandon];
    if (conn) conn.controller.abort();
  }
});
"""


def _in_worker() -> bool:
    # Not `hasattr(js, "document")`: PyScript's workers define a `document`
    # (a proxy to the page's). WorkerGlobalScope exists only in workers.
    return hasattr(js, "WorkerGlobalScope")


class PyodideHttpTransport:
    """``SyncTransport`` over pyodide-http: streaming in an isolated worker, else buffered.

    Create it (or the client that holds it), then ``await transport.ready()``
    once before the first request, so the helper worker can start.
    """

    def __init__(self) -> None:
        self._helper: Any = None
        self._started: Any = None
        self._request_ids = itertools.count(1)
        if _in_worker() and bool(getattr(js, "crossOriginIsolated", False)):
            self._helper, self._started = _start_helper()

    @property
    def streaming(self) -> bool:
        """True once responses arrive chunk by chunk (the helper is running)."""
        return self._started is not None and js.Atomics.load(self._started, 0) == 1

    async def ready(self, within: float = 5.0) -> bool:
        """Let this worker's event loop run until the helper worker is up.

        Returns :attr:`streaming`. Call it once after creating the client, from
        any ``async`` code in the worker (PyScript allows top-level ``await``).
        """
        import asyncio

        for _ in range(max(1, int(within / 0.005))):  # bounded: about `within` seconds
            if self.streaming or self._helper is None:
                break
            await asyncio.sleep(0.005)
        return self.streaming

    def send(self, request: Request) -> PyodideHttpResponse:
        if self.streaming:
            return self._send_streaming(request)
        _warn_buffered(self._why_buffered())
        return self._send_buffered(request)

    def _send_buffered(self, request: Request) -> PyodideHttpResponse:
        from pyodide_http import _core

        # A synchronous XMLHttpRequest. pyodide-http sets its timeout only in a
        # worker: the main thread's XHR waits as long as the browser lets it.
        py_request = _core.Request(
            request.method, request.url, body=request.content,
            headers=dict(request.headers), timeout=request.timeout or 0)
        try:
            response = _core.send(py_request, stream=False)
        except JsException as exc:
            if getattr(exc, "name", "") == "TimeoutError":
                raise APITimeoutError() from None
            raise APIConnectionError(_UNREACHABLE) from None
        return PyodideHttpResponse(response.status_code, response.headers,
                                   body=bytes(response.body))

    def _send_streaming(self, request: Request) -> PyodideHttpResponse:
        shared = js.SharedArrayBuffer.new(_SHARED_BYTES)
        ints, data = js.Int32Array.new(shared), js.Uint8Array.new(shared, 8)
        params: dict[str, Any] = {"method": request.method, "headers": dict(request.headers)}
        if request.content is not None:
            params["body"] = to_js(request.content)
        request_id = next(self._request_ids)
        self._helper.postMessage(to_js(
            {"start": request_id, "buffer": shared,
             "url": js.URL.new(request.url, js.location).href, "fetchParams": params},
            dict_converter=js.Object.fromEntries))
        abandon = _Abandon(self._helper, request_id)
        timeout_ms = int(request.timeout * 1000) if request.timeout else None
        if js.Atomics.wait(ints, 0, 0, timeout_ms) == "timed-out":
            abandon()
            raise APITimeoutError()
        if ints[0] != _HEAD:
            abandon()
            raise APIConnectionError(_UNREACHABLE)
        head = json.loads(js.TextDecoder.new().decode(data.slice(0, ints[1])))
        body = _HelperBody(self._helper, request_id, ints, data, timeout_ms)
        return PyodideHttpResponse(head["status"], dict(head["headers"]), abandon=abandon,
                                   stream=body)

    def _why_buffered(self) -> str:
        if not _in_worker():
            return "it runs on the page's main thread, which may not block"
        if self._helper is None:
            return ("the page is not cross-origin isolated (serve it with "
                    "Cross-Origin-Opener-Policy: same-origin and "
                    "Cross-Origin-Embedder-Policy: require-corp)")
        return ("its helper worker has not started yet: let the worker's event loop "
                "run after creating the client (await transport.ready())")

    def close(self) -> None:
        if self._helper is not None:
            self._helper.terminate()
            self._helper = self._started = None


class PyodideHttpResponse(ResponseHead):
    """A ``SyncResponse``: either a body streamed by the helper or an already-read one."""

    def __init__(self, status_code: int, headers: Mapping[str, str], *,
                 body: bytes | None = None, stream: Any = None,
                 abandon: _Abandon | None = None) -> None:
        super().__init__(int(status_code), {k.lower(): v for k, v in headers.items()})
        self._body = body
        self._stream = stream
        self._abandon = abandon

    def iter_bytes(self) -> Iterator[bytes]:
        if self._body is not None:
            body, self._body = self._body, b""
            if body:
                yield body
            return
        try:
            while self._stream is not None:
                chunk = self._read1()
                if not chunk:
                    self._stream = None  # the helper already forgot the connection
                    return
                yield chunk
        finally:
            self.close()

    def _read1(self) -> bytes:
        return self._stream.next_chunk()  # type: ignore[no-any-return]

    def read(self) -> bytes:
        return b"".join(self.iter_bytes())

    def close(self) -> None:
        self._stream = None
        abandon, self._abandon = self._abandon, None
        if abandon is not None:
            abandon()


class _HelperBody:
    """One streamed body: each :meth:`next_chunk` asks the helper for more and waits."""

    def __init__(self, helper: Any, request_id: int, ints: Any, data: Any,
                 timeout_ms: int | None) -> None:
        self._helper = helper
        self._more = to_js({"getMore": request_id}, dict_converter=js.Object.fromEntries)
        self._ints = ints
        self._data = data
        self._timeout_ms = timeout_ms

    def next_chunk(self) -> bytes:
        """The next chunk of the body, as it arrives; ``b""`` at its end."""
        ints = self._ints
        js.Atomics.store(ints, 0, 0)
        self._helper.postMessage(self._more)
        if js.Atomics.wait(ints, 0, 0, self._timeout_ms) == "timed-out":
            raise APITimeoutError()
        state = ints[0]
        if state > 0:
            # A copy out of the shared buffer (decoding or to_bytes() cannot read it).
            return self._data.slice(0, state).to_bytes()  # type: ignore[no-any-return]
        if state == _EOF:
            return b""
        raise APIConnectionError("The connection to the PromptFloe API dropped while "
                                 "reading the response; try again.")


class _Abandon:
    """Tell the helper to abort one request's fetch (a no-op once it has ended)."""

    def __init__(self, helper: Any, request_id: int) -> None:
        self._helper = helper
        self._request_id = request_id

    def __call__(self) -> None:
        self._helper.postMessage(to_js({"abandon": self._request_id},
                                       dict_converter=js.Object.fromEntries))


def _start_helper() -> tuple[Any, Any]:
    """Start the helper worker (``_HELPER``); return it and its running flag."""
    blob = js.Blob.new([_HELPER], to_js({"type": "application/javascript"},
                                     dict_converter=js.Object.fromEntries))
    helper = js.Worker.new(js.URL.createObjectURL(blob))
    shared = js.SharedArrayBuffer.new(4)
    helper.postMessage(to_js({"hello": shared}, dict_converter=js.Object.fromEntries))
    return helper, js.Int32Array.new(shared)


_warned = False


def _warn_buffered(why: str) -> None:
    global _warned
    if not _warned:
        _warned = True
        warnings.warn(
            f"pf_browser's PyodideHttpTransport cannot stream here because {why}; "
            "each response is buffered, so stream events arrive only when it ends.",
            RuntimeWarning, stacklevel=4)
