"""The browser's ``fetch``, as an :class:`~pf_browser._transports.base.AsyncTransport`.

Works wherever Pyodide has ``fetch``: a page's main thread and any worker.
The body is read with ``response.body.getReader()``, so each network chunk
reaches Python as it arrives and an event stream is decoded live.

Every request gets its own ``AbortController``. Closing the response, leaving
an ``async for`` over its body, cancelling the task, or a timeout all call
``abort()``, which cancels the HTTP request itself: the server sees the
disconnect (WHATWG Fetch, "abort the fetch() call").

Imports only ``js`` and ``pyodide``: load this module under Pyodide only.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Mapping
from typing import Any, TypeVar

import js
from pyodide.ffi import JsException, to_js

from .._exceptions import APIConnectionError, APITimeoutError
from .base import Request, ResponseHead

__all__ = ["FetchResponse", "FetchTransport"]

T = TypeVar("T")

_UNREACHABLE = ("Could not reach the PromptFloe API: the network is down, base_url is "
                "wrong, or the API does not allow this page's origin (CORS). Check them, "
                "then try again.")


class FetchTransport:
    """``AsyncTransport`` over ``js.fetch``.

    ``credentials`` is fetch's own option. The default, ``"same-origin"``,
    sends the page's cookies to its own origin (the app's session endpoint,
    which knows the signed-in user by cookie) and none to the API's origin,
    which authenticates by bearer token alone.

    Relative URLs resolve against the document (or, in a worker, the worker
    script's URL), as fetch does.
    """

    def __init__(self, *, credentials: str = "same-origin") -> None:
        self._credentials = credentials

    async def send(self, request: Request) -> FetchResponse:
        controller = js.AbortController.new()
        try:
            response = await _bounded(
                js.fetch(request.url, _init(request, self._credentials, controller)),
                request.timeout, controller)
        except JsException as exc:
            # fetch rejects with a bare TypeError on network and CORS
            # failures alike; the browser deliberately tells the page nothing more.
            raise APIConnectionError(_UNREACHABLE) from _without_detail(exc)
        except asyncio.CancelledError:
            controller.abort()
            raise
        return FetchResponse(int(response.status), _headers(response), response, controller,
                             request.timeout)

    async def aclose(self) -> None:
        # Each request owns its controller and closes through its response;
        # the transport holds nothing between requests.
        return None


def _init(request: Request, credentials: str, controller: Any) -> Any:
    """fetch's options for ``request`` (a JavaScript object), aborted through ``controller``."""
    options: dict[str, Any] = {
        "method": request.method,
        "headers": dict(request.headers),
        "credentials": credentials,
        "signal": controller.signal,
    }
    if request.content is not None:
        options["body"] = to_js(request.content)
    return to_js(options, dict_converter=js.Object.fromEntries)


def _headers(response: Any) -> dict[str, str]:
    """A fetch Response's headers (names already lower-case, WHATWG Fetch "header list")."""
    return dict(js.Object.fromEntries(response.headers).to_py())


class FetchResponse(ResponseHead):
    """An ``AsyncResponse`` whose body is still on the wire."""

    def __init__(self, status_code: int, headers: Mapping[str, str], response: Any,
                 controller: Any, timeout: float | None) -> None:
        # Fetch's Headers already lower-cases names (WHATWG Fetch, "header list").
        super().__init__(status_code, headers)
        self._response = response
        self._controller = controller
        self._timeout = timeout
        self._reader: Any = None
        self._done = False

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        # Fetch allows a null body for 204, 304 and HEAD (Chromium gives an empty one).
        body = self._response.body
        if self._done or body is None:
            self._done = True
            return
        self._reader = body.getReader()
        try:
            while True:
                try:
                    result = await _bounded(self._reader.read(), self._timeout,
                                            self._controller)
                except JsException as exc:
                    if self._done:  # aborted by aclose() while we waited
                        return
                    raise APIConnectionError(
                        "The connection to the PromptFloe API dropped while reading "
                        "the response; try again."
                    ) from _without_detail(exc)
                if result.done:
                    self._done = True
                    return
                chunk: bytes = result.value.to_bytes()
                if chunk:
                    yield chunk
        finally:
            # Leaving early (break, an exception, cancellation) aborts the
            # request, so the server sees the client go.
            await self.aclose()

    async def aread(self) -> bytes:
        return b"".join([chunk async for chunk in self.aiter_bytes()])

    async def aclose(self) -> None:
        if not self._done:
            self._done = True
            self._controller.abort()


async def _bounded(promise: Awaitable[T], seconds: float | None, controller: Any) -> T:
    """Await a JS promise; on timeout, abort the request and raise APITimeoutError."""
    try:
        async with asyncio.timeout(seconds):
            return await promise
    except TimeoutError:
        controller.abort()
        raise APITimeoutError() from None


def _without_detail(exc: JsException) -> Exception:
    # The JS error's message may quote the URL; a URL carries no credential
    # here, but keep the chained cause to the error's name to be safe.
    return ConnectionError(getattr(exc, "name", "JsException"))
