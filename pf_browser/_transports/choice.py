"""How the sync client moves bytes under Pyodide: the rule, with no I/O.

A synchronous call in a browser can wait for the network in two ways, and
which one works depends on where the call came from, so the choice is made
per request, from :class:`Conditions` read just before it:

1. **JSPI** (``pyodide.ffi.run_sync``): wherever ``can_run_sync()`` is true,
   which needs an engine with JavaScript Promise Integration (Chromium,
   Firefox; not WebKit/Safari) *and* a Python call stack entered through an
   async door: ``runPythonAsync`` (PyScript's top-level script, a JupyterLite
   cell), an ``async def`` function (an ``async def`` event handler), or
   ``callPromising``. A plain synchronous event-handler proxy is none of these.
   Works on the main thread and in workers; no isolation needed.
2. **The worker path** (pyodide-http's helper worker and a
   ``SharedArrayBuffer``): in a worker of a cross-origin isolated page, once
   the helper worker is running.
3. Otherwise an **event stream cannot be read as it arrives**: raise a
   :class:`~pf_browser.PromptFloeError` that says why and what to do, rather
   than buffer the whole stream in silence. Any other call may be *buffered*
   (a synchronous XMLHttpRequest; the caller warns once).

:func:`choose_route` is the whole rule; :func:`cannot_stream_message` its words.
Imports nothing from Pyodide, so both are unit-tested under CPython.
"""

from __future__ import annotations

from dataclasses import dataclass

from .._exceptions import PromptFloeError

__all__ = ["BUFFERED", "JSPI", "WORKER", "Conditions", "cannot_stream_message",
           "choose_route"]

JSPI = "jspi"
WORKER = "worker"
BUFFERED = "buffered"


@dataclass(frozen=True)
class Conditions:
    """What the runtime offers at the moment of a request."""

    #: ``pyodide.ffi.can_run_sync()`` now: JSPI exists and this call stack may suspend.
    can_run_sync: bool
    #: The engine has JSPI at all (``WebAssembly.Suspending``); only for the words.
    engine_has_jspi: bool
    #: Running in a web worker (not the page's main thread).
    in_worker: bool
    #: ``crossOriginIsolated``: SharedArrayBuffer may be shared with a helper worker.
    cross_origin_isolated: bool
    #: pyodide-http's helper worker is running, so the worker path streams.
    helper_ready: bool


def choose_route(conditions: Conditions, *, stream: bool) -> str:
    """:data:`JSPI`, :data:`WORKER` or :data:`BUFFERED` for one request.

    Raises :class:`~pf_browser.PromptFloeError` for a ``stream`` that could
    only be buffered.
    """
    if conditions.can_run_sync:
        return JSPI
    if conditions.helper_ready:
        return WORKER
    if stream:
        raise PromptFloeError(cannot_stream_message(conditions))
    return BUFFERED


def cannot_stream_message(conditions: Conditions) -> str:
    """Why the sync client cannot stream here, and what to do instead."""
    if not conditions.engine_has_jspi:
        no_jspi = ("this browser has no JavaScript Promise Integration (JSPI; "
                   "WebKit/Safari lack it)")
    else:
        no_jspi = ("this call was not entered through an async door, so it may not "
                   "wait on the network (a plain `def` event handler or JavaScript "
                   "callback is not; an `async def` handler, PyScript's top-level "
                   "script and a notebook cell are)")
    if not conditions.in_worker:
        no_worker = "it runs on the page's main thread, where no helper worker can stream"
    elif not conditions.cross_origin_isolated:
        no_worker = ("the page is not cross-origin isolated, so no helper worker can "
                     "stream (serve it with Cross-Origin-Opener-Policy: same-origin and "
                     "Cross-Origin-Embedder-Policy: require-corp)")
    else:
        no_worker = ("the helper worker has not started yet (await transport.ready() "
                     "once after creating the client)")
    return (f"PromptFloe (the sync client) cannot stream events here: {no_jspi}, and "
            f"{no_worker}. Use AsyncPromptFloe with `async for`, or call this from an "
            "`async def` function or handler, or run it in a worker of a "
            "cross-origin isolated page. The stream was not started.")
