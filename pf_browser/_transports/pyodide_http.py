"""pyodide-http, as a :class:`~pf_browser._transports.base.SyncTransport`.

For the sync client (``PromptFloe``) in a worker, where Python may block.

Streaming needs a cross-origin isolated page (COOP ``same-origin`` + COEP
``require-corp``): pyodide-http 0.2.2 then runs each ``fetch`` in a helper
worker and blocks on ``Atomics.wait`` until the helper copies the next chunk
into a ``SharedArrayBuffer``. Otherwise (main thread, or a page that is not
isolated) the only synchronous request is a synchronous XMLHttpRequest, which
returns the whole body at once: the transport then *buffers*, and warns once.
Events of a generation still all arrive, but only when the run has ended.

What we found in pyodide-http 0.2.2, and work around (each has a test in
``tests/browser/test_transports_pyodide_http.py``):

1. **Why its streaming hung.** It creates its helper worker when imported and
   then blocks the creating thread in ``Atomics.wait``. A worker created by a
   thread does not start until that thread returns to its event loop, so a
   request sent before that never reaches the helper: the wait runs to its
   timeout (forever, without one). We start our own helper from the same code
   with a handshake, and stream only once the helper has said it is running;
   until then a request is buffered (with a warning saying to
   ``await transport.ready()`` once after creating the client).
2. Its helper reports a failed ``reader.read()`` with an undefined
   ``encoder`` (a ReferenceError), so Python is never woken; and had it
   woken, the handler then goes on to store 0 (end of body) over the error
   it signalled, so a cut connection would read, now and then, as a normal
   end. Our prelude answers ``getMore`` itself, signalling each outcome
   once, and a dropped connection always becomes ``APIConnectionError``.
3. Closing a response, or giving up on one at a timeout, only forgot the
   reader and left the fetch running: our prelude gives each fetch an
   ``AbortController`` and aborts it then, so the server sees the disconnect.
4. ``_ReadStream.readinto`` writes nothing into the raw-memory ``memoryview``
   that ``RawIOBase.read()`` hands it under Pyodide's CPython 3.14, so
   ``read()`` returns uninitialised bytes: we read with ``read1`` only, whose
   buffer it fills correctly.
5. Its streaming ``send`` logs the fetch options, ``Authorization`` included,
   to the console: we post the request to the helper ourselves.

Imports only the standard library, ``js``, ``pyodide`` and (lazily)
``pyodide_http``: load this module under Pyodide only.
"""

from __future__ import annotations

import io
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
_CHUNK = 1 << 16  # below the BufferedReader's size, so read1 reads into its own buffer

# Runs before pyodide-http's own helper code, in the same worker scope.
_PRELUDE = """
const encoder = new TextEncoder();
const controllers = {};
self.addEventListener("message", function (event) {
  const data = event.data;
  if (data.hello) {
    const flag = new Int32Array(data.hello);
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
    event.stopImmediatePropagation();
  } else if (data.abandon) {
    if (controllers[data.abandon]) controllers[data.abandon].abort();
    delete controllers[data.abandon];
    event.stopImmediatePropagation();
  } else if (data.getMore) {
    event.stopImmediatePropagation();
    sendMore(data.getMore);
  } else if (data.buffer) {
    controllers[data.requestId] = new AbortController();
    data.fetchParams.signal = controllers[data.requestId].signal;
  }
});
// Replaces its getMore handler, which after a failed read went on to store 0
// (end of body) over the error it had just signalled: a cut connection then
// read as a normal end, depending on which store the waiting thread saw.
async function sendMore(id) {
  const conn = connections[id];  // pyodide-http's table, declared below
  if (!conn) return;
  const shared = conn.intBuffer;
  try {
    while (!conn.value || conn.curOffset >= conn.value.length) {
      const part = await conn.reader.read();
      if (part.done) {
        delete connections[id];
        Atomics.store(shared, 0, -2);  // SUCCESS_EOF
        Atomics.notify(shared, 0);
        return;
      }
      conn.value = part.value;
      conn.curOffset = 0;
    }
  } catch (error) {
    delete connections[id];
    const words = encoder.encode(String(error && error.message));
    const length = Math.min(words.length, conn.byteBuffer.length);
    conn.byteBuffer.set(words.subarray(0, length));
    shared[1] = length;
    Atomics.store(shared, 0, -4);  // ERROR_EXCEPTION
    Atomics.notify(shared, 0);
    return;
  }
  const length = Math.min(conn.value.length - conn.curOffset, conn.byteBuffer.length);
  conn.byteBuffer.set(conn.value.subarray(conn.curOffset, conn.curOffset + length), 0);
  conn.curOffset += length;
  Atomics.store(shared, 0, length);
  Atomics.notify(shared, 0);
}
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
        # pyodide-http's own _StreamingFetcher.send logs the request's options,
        # Authorization header included, to the console: we post it ourselves.
        from pyodide_http import _streaming

        shared = js.SharedArrayBuffer.new(_SHARED_BYTES)
        ints, data = js.Int32Array.new(shared), js.Uint8Array.new(shared, 8)
        params: dict[str, Any] = {"method": request.method, "headers": dict(request.headers)}
        if request.content is not None:
            params["body"] = to_js(request.content)
        request_id = next(self._request_ids)
        self._helper.postMessage(to_js(
            {"buffer": shared, "url": js.URL.new(request.url, js.location).href,
             "fetchParams": params, "requestId": request_id},
            dict_converter=js.Object.fromEntries))
        abandon = _Abandon(self._helper, request_id)
        timeout_ms = int(request.timeout * 1000) if request.timeout else None
        if js.Atomics.wait(ints, 0, 0, timeout_ms) == "timed-out":
            abandon()
            raise APITimeoutError()
        if ints[0] != _streaming.SUCCESS_HEADER:
            abandon()
            raise APIConnectionError(_UNREACHABLE)
        head = json.loads(js.TextDecoder.new().decode(data.slice(0, ints[1])))
        raw = _streaming._ReadStream(ints, data, request.timeout or 0, self._helper,
                                     head["connectionID"])
        return PyodideHttpResponse(
            head["status"], dict(head["headers"]), abandon=abandon,
            stream=io.BufferedReader(raw, buffer_size=_SHARED_BYTES))

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
    """A ``SyncResponse``: either a pyodide-http stream or an already-read body."""

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
                    self._stream = None  # pyodide-http already freed the connection
                    return
                yield chunk
        finally:
            self.close()

    def _read1(self) -> bytes:
        from pyodide_http import _core

        try:
            return bytes(self._stream.read1(_CHUNK))
        except _core._StreamingTimeout:
            raise APITimeoutError() from None
        except _core._StreamingError:
            raise APIConnectionError(
                "The connection to the PromptFloe API dropped while reading "
                "the response; try again.") from None

    def read(self) -> bytes:
        return b"".join(self.iter_bytes())

    def close(self) -> None:
        self._stream = None
        abandon, self._abandon = self._abandon, None
        if abandon is not None:
            abandon()


class _Abandon:
    """Tell the helper to abort one request's fetch (a no-op once it has ended)."""

    def __init__(self, helper: Any, request_id: int) -> None:
        self._helper = helper
        self._request_id = request_id

    def __call__(self) -> None:
        self._helper.postMessage(to_js({"abandon": self._request_id},
                                       dict_converter=js.Object.fromEntries))


def _start_helper() -> tuple[Any, Any]:
    """Start pyodide-http's helper worker code with our prelude; return it and its flag."""
    from pyodide_http import _streaming

    code = _PRELUDE + _streaming._STREAMING_WORKER_CODE
    blob = js.Blob.new([code], to_js({"type": "application/javascript"},
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
