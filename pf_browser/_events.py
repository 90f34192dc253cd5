"""From decoded Server-Sent Events to the typed events callers see.

API.md, "Generation (SSE)": ``run``, ``file`` and ``ready`` carry one JSON
object each; ``error`` ends the stream; any other type is passed through as
:class:`UnknownEvent` (forward compatibility), never dropped.
"""

from __future__ import annotations

import json
from typing import Any

from ._exceptions import StreamError
from ._models import Event, FileEvent, ReadyEvent, RunEvent, UnknownEvent
from .sse import ServerSentEvent

__all__ = ["to_event"]

_loads = json.loads


def to_event(sse: ServerSentEvent) -> Event:
    """The typed event for ``sse``; raises :class:`StreamError` for ``error``."""
    kind = sse.event
    if kind == "file":
        d = _payload(sse)
        try:
            return FileEvent(d["path"], d["size"], d["content"])
        except (KeyError, TypeError) as exc:
            raise _malformed(sse, exc) from None
    if kind == "run":
        d = _payload(sse)
        try:
            return RunEvent(d["runId"], d["appId"])
        except (KeyError, TypeError) as exc:
            raise _malformed(sse, exc) from None
    if kind == "ready":
        d = _payload(sse)
        try:
            return ReadyEvent(d["appId"], d["previewUrl"])
        except (KeyError, TypeError) as exc:
            raise _malformed(sse, exc) from None
    if kind == "error":
        d = _payload(sse)
        code = d.get("code") if isinstance(d, dict) else None
        message = d.get("message") if isinstance(d, dict) else None
        raise StreamError(
            f"The generation failed: {message or 'the server gave no reason'}"
            f"{f' ({code})' if code else ''}. Start a new generation to try again.",
            code=code if isinstance(code, str) else None,
        )
    return UnknownEvent(kind, sse.data)


def _payload(sse: ServerSentEvent) -> Any:
    try:
        return _loads(sse.data)
    except ValueError as exc:
        raise StreamError(
            f"The server sent a {sse.event!r} event whose data is not JSON "
            f"(event id {sse.id or 'none'}); this is a server bug, please report it."
        ) from exc


def _malformed(sse: ServerSentEvent, exc: Exception) -> StreamError:
    return StreamError(
        f"The server sent a {sse.event!r} event without the fields this client expects "
        f"({type(exc).__name__}: {exc}); upgrade pf_browser, or report a server bug."
    )
