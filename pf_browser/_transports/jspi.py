"""The browser's ``fetch`` for synchronous code, through JSPI (``run_sync``).

A :class:`~pf_browser._transports.base.SyncTransport` for the sync client
(``PromptFloe``) wherever ``pyodide.ffi.can_run_sync()`` holds (see
``choice.py`` for where that is). ``run_sync`` suspends the WebAssembly stack
until a promise settles and hands control back to the browser meanwhile, so
the page stays responsive: no worker, no ``SharedArrayBuffer``, no
cross-origin isolation.

- ``js.fetch`` with the request's headers and body; the body is read with
  ``response.body.getReader()``, one ``run_sync(reader.read())`` per network
  chunk, so an event stream is decoded as it arrives.
- Every request gets its own ``AbortController``. A timer aborts it with a
  ``TimeoutError`` when the connect timeout or a per-chunk timeout runs out
  (``APITimeoutError``); ``close()`` (leaving a loop, closing a stream)
  cancels the reader and aborts, so the server sees the disconnect.
- Nothing about a request is logged: its headers carry the credential.

Imports only ``js`` and ``pyodide``: load this module under Pyodide only.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import js
from pyodide.ffi import (
    JsException,
    can_run_sync,
    create_once_callable,
    create_proxy,
    run_sync,
)

from .._exceptions import APIConnectionError, APITimeoutError, PromptFloeError
from .base import Request, ResponseHead
from .choice import cannot_stream_message
from .fetch import _UNREACHABLE, _headers, _init, _without_detail

__all__ = ["JspiResponse", "JspiTransport", "jspi_conditions", "pause"]

_DROPPED = ("The connection to the PromptFloe API dropped while reading the response; "
            "try again.")
_IGNORE = create_proxy(lambda *_: None)  # one for the process: a promise's no-op handler


class JspiTransport:
    """``SyncTransport`` over ``js.fetch`` and ``pyodide.ffi.run_sync``.

    Use it where ``can_run_sync()`` is true; elsewhere :meth:`send` raises a
    :class:`~pf_browser.PromptFloeError` saying why. ``PromptFloe`` picks it by
    itself under Pyodide when it can (``PyodideSyncTransport``).

    ``credentials`` is fetch's option, as for ``FetchTransport``: the default,
    ``"same-origin"``, sends the page's cookies to its own origin (the app's
    session endpoint) and none to the API.
    """

    def __init__(self, *, credentials: str = "same-origin") -> None:
        self._credentials = credentials

    def send(self, request: Request) -> JspiResponse:
        if not can_run_sync():
            raise PromptFloeError(cannot_stream_message(jspi_conditions()).replace(
                "cannot stream events here", "cannot wait for the network here", 1))
        controller = js.AbortController.new()
        waiter = _Waiter(controller, request.timeout)
        # fetch rejects with a bare TypeError on network and CORS failures alike.
        response = waiter.wait(js.fetch(request.url, _init(request, self._credentials,
                                                           controller)), _UNREACHABLE)
        return JspiResponse(int(response.status), _headers(response), response, waiter)

    def close(self) -> None:
        # Each request owns its controller and closes through its response.
        return None


class JspiResponse(ResponseHead):
    """A ``SyncResponse`` whose body is still on the wire."""

    def __init__(self, status_code: int, headers: Mapping[str, str], response: Any,
                 waiter: _Waiter) -> None:
        super().__init__(status_code, headers)  # fetch's Headers are lower-cased already
        self._response = response
        self._waiter = waiter
        self._reader: Any = None
        self._done = False

    def iter_bytes(self) -> Iterator[bytes]:
        body = self._response.body
        if self._done or body is None:  # fetch allows a null body (204, HEAD)
            self._done = True
            return
        self._reader = reader = body.getReader()
        wait = self._waiter.wait
        try:
            while True:
                try:
                    result = wait(reader.read(), _DROPPED)
                except _Aborted:  # close() from elsewhere while we waited
                    return
                if result.done:
                    self._done = True
                    return
                chunk: bytes = result.value.to_bytes()
                if chunk:
                    yield chunk
        finally:
            # Leaving early (break, an exception, a closed generator) aborts the
            # request, so the server sees the client go.
            self.close()

    def read(self) -> bytes:
        return b"".join(self.iter_bytes())

    def close(self) -> None:
        if self._done:
            return
        self._done = True
        if self._reader is not None:
            # Cancelling the body cancels the fetch. Its promise is not waited
            # for (we may not be able to), and a rejection is not an error here.
            self._reader.cancel().catch(_IGNORE)
        self._waiter.abort()


class _Aborted(Exception):
    """The request was aborted by ``close()``, not by the network or a timer."""


class _Waiter:
    """``run_sync`` with the request's timeout: a timer aborts the request.

    The timer aborts with a ``TimeoutError`` reason, so the rejection says
    which of a timeout, ``close()`` (``AbortError``) or the network
    (``TypeError``) ended the wait.
    """

    def __init__(self, controller: Any, timeout: float | None) -> None:
        self._controller = controller
        self._ms = None if timeout is None else max(0, int(timeout * 1000))
        self._on_timeout = None if self._ms is None else controller.abort.bind(
            controller, js.DOMException.new("The request timed out.", "TimeoutError"))
        self.aborted = False

    def wait(self, promise: Any, failed: str) -> Any:
        timer = None if self._on_timeout is None else js.setTimeout(self._on_timeout,
                                                                    self._ms)
        try:
            return run_sync(promise)
        except JsException as exc:
            if getattr(exc, "name", "") == "TimeoutError":
                raise APITimeoutError() from None
            if self.aborted:
                raise _Aborted() from None
            raise APIConnectionError(failed) from _without_detail(exc)
        finally:
            if timer is not None:
                js.clearTimeout(timer)

    def abort(self) -> None:
        self.aborted = True
        self._controller.abort()


def pause(seconds: float) -> bool:
    """Wait ``seconds`` and let the page run meanwhile, if this call may (JSPI).

    False, at once, where it may not: ``time.sleep`` would then be the only
    way to wait, and it holds the page's thread (and any suspended call) still.
    """
    if not can_run_sync():
        return False
    ms = max(0, int(seconds * 1000))
    run_sync(js.Promise.new(create_once_callable(
        lambda resolve, _reject: js.setTimeout(resolve, ms))))
    return True


def jspi_conditions() -> Any:
    """The :class:`~pf_browser._transports.choice.Conditions` of this moment."""
    from .choice import Conditions

    isolated = bool(getattr(js, "crossOriginIsolated", False))
    return Conditions(
        can_run_sync=bool(can_run_sync()),
        engine_has_jspi=hasattr(js.WebAssembly, "Suspending"),
        # PyScript's workers define a `document` (a proxy to the page's), so
        # ask for WorkerGlobalScope, which exists only in workers.
        in_worker=hasattr(js, "WorkerGlobalScope"),
        cross_origin_isolated=isolated,
        helper_ready=False,
    )
