"""The sync client's transport under Pyodide: JSPI where it can, else the worker path.

:class:`PyodideSyncTransport` reads the runtime's :class:`~.choice.Conditions`
before each request and follows :func:`~.choice.choose_route`: ``run_sync``
over ``fetch`` (:class:`~.jspi.JspiTransport`) where ``can_run_sync()``
holds; pyodide-http's helper worker (:class:`~.pyodide_http.PyodideHttpTransport`)
where it is running; a clear error for an event stream anywhere else; a
synchronous XMLHttpRequest, with one warning, for any other call there.

pyodide-http is imported only for the worker path and that last fallback.
Imports ``js`` and ``pyodide``: load this module under Pyodide only.
"""

from __future__ import annotations

import warnings
from typing import Any

from .._exceptions import PromptFloeError
from .base import Request, SyncResponse
from .choice import BUFFERED, JSPI, WORKER, Conditions, choose_route
from .jspi import JspiTransport, jspi_conditions, pause

__all__ = ["PyodideSyncTransport"]


class PyodideSyncTransport:
    """``SyncTransport`` that picks, per request, how a synchronous call can wait.

    In a worker of a cross-origin isolated page it also starts pyodide-http's
    helper worker, for calls that cannot use JSPI (a plain ``def`` event
    handler). That helper starts only once the worker's event loop runs:
    ``await transport.ready()`` once after creating the client, if you need it.
    """

    def __init__(self, *, credentials: str = "same-origin") -> None:
        self._jspi = JspiTransport(credentials=credentials)
        self._pyodide_http: Any = None
        self._warned = False
        base = jspi_conditions()
        if base.in_worker and base.cross_origin_isolated:
            try:
                self._pyodide_http = self._worker_transport()
            except ImportError:  # no pyodide-http here: JSPI only
                self._pyodide_http = None

    def conditions(self) -> Conditions:
        """What this moment offers (read afresh: it depends on the caller's stack)."""
        base = jspi_conditions()
        helper = self._pyodide_http
        ready = helper is not None and helper.streaming
        return Conditions(base.can_run_sync, base.engine_has_jspi, base.in_worker,
                          base.cross_origin_isolated, ready)

    def route(self, *, stream: bool = True) -> str:
        """``"jspi"``, ``"worker"`` or ``"buffered"``: how a request made from
        here would go. Raises :class:`~pf_browser.PromptFloeError` for a stream
        that cannot be streamed from here."""
        return choose_route(self.conditions(), stream=stream)

    def check_stream(self) -> None:
        """Raise now if an event stream could not be read as it arrives from here
        (``PromptFloe`` calls it before it fetches a token for a stream)."""
        self.route(stream=True)

    async def ready(self, within: float = 5.0) -> bool:
        """Wait (at most ``within`` seconds) for the worker path's helper, if
        this worker has one; True if the worker path streams."""
        if self._pyodide_http is None:
            return False
        return bool(await self._pyodide_http.ready(within))

    def pause(self, seconds: float) -> bool:
        """Wait without holding the page still, if this call may (JSPI); else
        return False at once. ``PromptFloe`` waits this way for a token refresh
        that another call, suspended on this same thread, is doing (a lock's
        own wait would spin, and that call could never finish)."""
        return pause(seconds)

    def send(self, request: Request) -> SyncResponse:
        route = self.route(stream=request.stream)
        if route == JSPI:
            return self._jspi.send(request)
        if route == WORKER:
            return self._pyodide_http._send_streaming(request)  # type: ignore[no-any-return]
        assert route == BUFFERED
        try:
            fallback = self._worker_transport()
        except ImportError:
            raise PromptFloeError(
                "PromptFloe (the sync client) cannot wait for the network here: this call "
                "was not entered through an async door (JSPI), and pyodide-http, its "
                "fallback, is not installed. Call it from an `async def` function or "
                "handler, or use AsyncPromptFloe.") from None
        self._warn_buffered()
        return fallback._send_buffered(request)  # type: ignore[no-any-return]

    def close(self) -> None:
        if self._pyodide_http is not None:
            self._pyodide_http.close()

    def _worker_transport(self) -> Any:
        if self._pyodide_http is None:
            from .pyodide_http import PyodideHttpTransport

            self._pyodide_http = PyodideHttpTransport()
        return self._pyodide_http

    def _warn_buffered(self) -> None:
        if not self._warned:
            self._warned = True
            warnings.warn(
                "pf_browser's sync client cannot wait for the network here without "
                "blocking the page (no JSPI in this call, no helper worker), so it uses a "
                "synchronous XMLHttpRequest for calls that are not streams. Call it from "
                "an `async def` function or handler, or use AsyncPromptFloe.",
                RuntimeWarning, stacklevel=5)
