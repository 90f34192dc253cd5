"""A scripted PromptFloe API on pf_browser's own ``MockTransport``, for unit tests.

Tests above the transport line run against this, as users test their code;
the httpx transport itself is tested in ``test_transport_httpx.py``, the real
server over real sockets in ``tests/server/`` and in Chromium in
``tests/browser/``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from pf_browser import APIConnectionError, AsyncPromptFloe, PromptFloe
from pf_browser.transports import AsyncMockTransport, MockTransport, Request, Response

Handler = Callable[[Request], Response]


def sse(events: list[tuple[str, Any]], start: int = 1) -> bytes:
    """An event stream: ``id``, ``event`` and one-line JSON ``data`` per event."""
    out = []
    for i, (kind, data) in enumerate(events, start):
        payload = data if isinstance(data, str) else json.dumps(data)
        out.append(f"id: {i}\nevent: {kind}\ndata: {payload}\n\n")
    return "".join(out).encode()


RUN = ("run", {"runId": "run_1", "appId": "app_1"})
READY = ("ready", {"appId": "app_1", "previewUrl": "http://api/preview/app_1/"})


def file_event(n: int) -> tuple[str, Any]:
    return ("file", {"path": f"f{n}.txt", "size": 1, "content": str(n)})


def error(status: int, code: str, message: str = "nope", **extra: Any) -> Response:
    headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'} if status == 401 else {}
    if "retry_after" in extra:
        headers["Retry-After"] = str(extra.pop("retry_after"))
    body = {"error": {"type": "error", "code": code, "message": message, **extra}}
    return Response(status, json=body, headers=headers)


class Dropping:
    """A body that sends ``data`` in pieces then breaks like a dropped connection
    (or ends cleanly with ``drop=False``), and records being closed."""

    def __init__(self, pieces: list[bytes], drop: bool = True) -> None:
        self.pieces = pieces
        self.drop = drop
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        yield from self.pieces
        if self.drop:
            raise APIConnectionError("connection reset")

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self.pieces:
            yield piece
        if self.drop:
            raise APIConnectionError("connection reset")

    def close(self) -> None:
        self.closed = True

    async def aclose(self) -> None:
        self.closed = True


def no_sleep(seconds: float) -> None:
    return None  # retries are tested by what they ask for, not by waiting


async def async_no_sleep(seconds: float) -> None:
    return None


def sync_client(handler: Handler, api_key: str | None = "pf_sess_static", **kw: Any
                ) -> PromptFloe:
    kw.setdefault("base_url", "http://api")
    kw.setdefault("sleep", no_sleep)
    return PromptFloe(api_key=api_key, transport=MockTransport(handler), **kw)


def async_client(handler: Handler, api_key: str | None = "pf_sess_static", **kw: Any
                 ) -> AsyncPromptFloe:
    kw.setdefault("base_url", "http://api")
    kw.setdefault("sleep", async_no_sleep)
    return AsyncPromptFloe(api_key=api_key, transport=AsyncMockTransport(handler), **kw)


def bearer(request: Request) -> str | None:
    value = request.headers.get("authorization")
    return value.removeprefix("Bearer ") if value else None
