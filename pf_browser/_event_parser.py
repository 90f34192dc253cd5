"""From decoded Server-Sent Events to the typed events callers see.

docs/api.md, "Generation": ``run``, ``file`` and ``ready`` carry one JSON
object each; ``error`` ends the stream; any other type is passed through as
:class:`UnknownEvent` (forward compatibility), never dropped.

This runs once per event of every stream, so it is written for speed as well
as for reading (benchmarks/bench_sse.py measures it).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ._events import Event, FileEvent, ReadyEvent, RunEvent, UnknownEvent
from ._exceptions import StreamError
from .sse import ServerSentEvent

__all__ = ["from_fields", "to_event"]

_loads = json.loads
# The C scanner inside json.loads. json.loads(s) is: refuse a BOM, skip
# whitespace, call this scanner at that index, skip whitespace, insist on the
# end of s. Those wrapping steps cost 0.75 us a call in CPython 3.11 and 1 us
# in Pyodide, three times the scan of a small event's object
# (benchmarks/bench_sse.py): _json takes the scan alone when it reads all of s.
_scan = json.JSONDecoder().scan_once  # type: ignore[attr-defined]

#: Each type that carries a JSON object, and how to build it.
_FROM_WIRE: dict[str, Callable[[Any], Event]] = {
    "file": FileEvent.from_wire,
    "run": RunEvent.from_wire,
    "ready": ReadyEvent.from_wire,
}


def to_event(sse: ServerSentEvent) -> Event:
    """The typed event for ``sse``; raises :class:`StreamError` for ``error``."""
    return from_fields(sse.event, sse.data, sse.id)


def from_fields(event: str, data: str, id: str) -> Event:
    """:func:`to_event` of an event given by its type, data and id."""
    from_wire = _FROM_WIRE.get(event)
    if from_wire is None:
        if event == "error":
            raise _error(event, data, id)
        return UnknownEvent(event, data)
    # _json(data), spelt out: a call less for each event. Anything short of
    # one whole value goes to json.loads, for its result or its error.
    try:
        payload, end = _scan(data, 0)
    except (StopIteration, ValueError):
        end = -1
    if end != len(data):
        payload = _payload(event, data, id)
    try:
        return from_wire(payload)
    except (KeyError, TypeError) as exc:
        raise StreamError(
            f"The server sent a {event!r} event without the fields this client expects "
            f"({type(exc).__name__}: {exc}); upgrade pf_browser, or report a server bug."
        ) from None


def _json(data: str) -> Any:
    """``json.loads(data)``, with the same result and the same errors."""
    try:
        value, end = _scan(data, 0)
    except StopIteration:
        # Not a value at index 0: leading whitespace, a BOM, or not JSON at
        # all. json.loads says which, in its own words.
        return _loads(data)
    if end != len(data):
        return _loads(data)  # trailing whitespace, or extra data
    return value


def _payload(event: str, data: str, id: str) -> Any:
    try:
        return _json(data)
    except ValueError as exc:
        raise StreamError(
            f"The server sent a {event!r} event whose data is not JSON "
            f"(event id {id or 'none'}); this is a server bug, please report it."
        ) from exc


def _error(event: str, data: str, id: str) -> StreamError:
    d = _payload(event, data, id)
    code = d.get("code") if isinstance(d, dict) else None
    message = d.get("message") if isinstance(d, dict) else None
    return StreamError(
        f"The generation failed: {message or 'the server gave no reason'}"
        f"{f' ({code})' if code else ''}. Start a new generation to try again.",
        code=code if isinstance(code, str) else None,
    )

