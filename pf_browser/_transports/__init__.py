"""Transports: the part that moves bytes, one short module per runtime.

- ``httpx.py`` — CPython (sync and async).
- ``fetch.py`` — Pyodide, async, on a page's main thread or in a worker.
- ``jspi.py`` — Pyodide, sync, wherever ``run_sync`` may suspend (JSPI).
- ``pyodide_http.py`` — Pyodide, sync, in a worker of a cross-origin isolated page.
- ``pyodide_sync.py`` — Pyodide, sync: picks one of the two per request (``choice.py``).

The default is chosen by runtime, and imported only when needed, so the
browser never imports httpx and CPython never imports ``js``.
"""

from __future__ import annotations

import sys
from typing import Any

from .base import AsyncTransport, SyncTransport

__all__ = ["default_async_transport", "default_sync_transport"]


def default_async_transport(http_client: Any = None) -> AsyncTransport:
    if http_client is None and sys.platform == "emscripten":
        from .fetch import FetchTransport
        return FetchTransport()
    from .httpx import AsyncHttpxTransport
    return AsyncHttpxTransport(http_client)


def default_sync_transport(http_client: Any = None) -> SyncTransport:
    if http_client is None and sys.platform == "emscripten":
        from .pyodide_sync import PyodideSyncTransport
        return PyodideSyncTransport()
    from .httpx import HttpxTransport
    return HttpxTransport(http_client)
