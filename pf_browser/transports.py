"""The transports a client can be given (``transport=``), and their interface.

A client picks its transport by runtime; pass one yourself to choose. Each
concrete transport is imported only when asked for, so importing this module
imports neither httpx nor Pyodide's ``js``:

- :class:`HttpxTransport`, :class:`AsyncHttpxTransport`: CPython (httpx).
- :class:`FetchTransport`: Pyodide, async: ``fetch`` with a streaming body
  reader and an ``AbortController`` (the default for ``AsyncPromptFloe`` there).
- :class:`PyodideSyncTransport`: Pyodide, sync (the default for ``PromptFloe``
  there). Per request, it uses :class:`JspiTransport` where
  ``pyodide.ffi.can_run_sync()`` holds, else :class:`PyodideHttpTransport`'s
  helper worker if it runs, else raises for an event stream (never buffering
  one in silence); ``transport.route()`` says which it would take from here.
- :class:`JspiTransport`: Pyodide, sync, through JavaScript Promise
  Integration (``run_sync`` over ``fetch``): on the main thread or in a
  worker, no isolation needed, in code entered through an async door (a
  PyScript top-level script, an ``async def`` handler, a notebook cell).
- :class:`PyodideHttpTransport`: Pyodide, sync, in a PyScript worker. It
  streams when the page is cross-origin isolated, through a helper worker
  that starts only once the creating worker's event loop runs, so keep it and
  wait for it once::

      transport = PyodideHttpTransport()
      client = PromptFloe(session_url=SESSION_URL, base_url=API, transport=transport)
      streaming = await transport.ready()  # PyScript allows top-level await

For tests, :class:`MockTransport` (sync) and :class:`AsyncMockTransport` call
your handler instead of the network, as httpx's ``MockTransport`` does: it gets
each :class:`Request` and returns a :class:`Response`::

    def handler(request: Request) -> Response:
        return Response(200, json={"data": [], "nextCursor": None})

    client = PromptFloe(api_key="pf_sess_test", transport=MockTransport(handler))

Your own transport needs only :class:`SyncTransport` or :class:`AsyncTransport`:
send a :class:`Request`, return a response with ``status_code``, ``headers``
and the body as an iterator of bytes.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ._transports.base import AsyncResponse, AsyncTransport, Request, SyncResponse, SyncTransport

if TYPE_CHECKING:
    from ._transports.fetch import FetchTransport
    from ._transports.httpx import AsyncHttpxTransport, HttpxTransport
    from ._transports.jspi import JspiTransport
    from ._transports.mock import AsyncMockTransport, MockTransport, Response
    from ._transports.pyodide_http import PyodideHttpTransport
    from ._transports.pyodide_sync import PyodideSyncTransport

__all__ = [
    "AsyncHttpxTransport", "AsyncMockTransport", "AsyncResponse", "AsyncTransport",
    "FetchTransport", "HttpxTransport", "JspiTransport", "MockTransport",
    "PyodideHttpTransport", "PyodideSyncTransport", "Request", "Response", "SyncResponse",
    "SyncTransport",
]

_MODULE_OF = {
    "HttpxTransport": "httpx",
    "AsyncHttpxTransport": "httpx",
    "FetchTransport": "fetch",
    "JspiTransport": "jspi",
    "PyodideHttpTransport": "pyodide_http",
    "MockTransport": "mock",
    "AsyncMockTransport": "mock",
    "Response": "mock",
    "PyodideSyncTransport": "pyodide_sync",
}


def __getattr__(name: str) -> Any:
    # PEP 562: import a transport's module on first use of its name.
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__package__}._transports.{module}"), name)
