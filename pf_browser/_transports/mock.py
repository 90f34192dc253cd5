"""A transport that calls your function instead of the network, for tests.

As httpx's ``MockTransport``: a *handler* gets each :class:`Request` and
returns a :class:`Response`. Everything above the transport line — tokens and
refresh, retries, errors, streams and their resume — runs exactly as it does
against the real API, with no network, in CPython and in Pyodide alike::

    from pf_browser import PromptFloe
    from pf_browser.transports import MockTransport, Request, Response

    def handler(request: Request) -> Response:
        assert request.path == "/v1/apps/app_1"
        return Response(404, json={"error": {"type": "error", "code": "not_found",
                                             "message": "no such app"}})

    client = PromptFloe(api_key="pf_sess_test", transport=MockTransport(handler))

:class:`AsyncMockTransport` is the same for ``AsyncPromptFloe``; its handler
may be sync or async. To cut a connection mid-body, give ``Response`` a
``stream`` that raises :class:`~pf_browser.APIConnectionError`.
"""

from __future__ import annotations

import inspect
import json as jsonlib
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
)
from typing import Any

from .base import Request

__all__ = ["AsyncMockTransport", "MockTransport", "Response"]


class Headers(dict[str, str]):
    """Header names in lower case, as transports give them, whatever case
    you set or look them up in."""

    def __init__(self, items: Mapping[str, str]) -> None:
        super().__init__((k.lower(), v) for k, v in items.items())

    def __setitem__(self, name: str, value: str) -> None:
        super().__setitem__(name.lower(), value)

    def __getitem__(self, name: str) -> str:
        return super().__getitem__(name.lower())

    def __contains__(self, name: object) -> bool:
        return super().__contains__(name.lower() if isinstance(name, str) else name)

    def get(self, name: str, default: Any = None) -> Any:
        return super().get(name.lower(), default)

    def setdefault(self, name: str, default: str) -> str:
        return super().setdefault(name.lower(), default)


class Response:
    """A response a handler returns: status, headers and a body.

    The body is ``content`` (bytes or str), or ``json`` (any JSON value, sent
    with ``content-type: application/json``), or ``stream``: chunks, from an
    iterable or (for :class:`AsyncMockTransport`) an async iterable, read as
    they come; an exception it raises reaches the client as a dropped
    connection would. It is a :class:`~pf_browser.transports.SyncResponse` and
    an :class:`~pf_browser.transports.AsyncResponse`; ``closed`` says whether
    the client released it (which closes ``stream`` too, if it can be closed).
    """

    def __init__(
        self,
        status_code: int = 200,
        *,
        headers: Mapping[str, str] | None = None,
        content: bytes | str | None = None,
        json: Any = None,
        stream: Iterable[bytes] | AsyncIterable[bytes] | None = None,
    ) -> None:
        if sum(x is not None for x in (content, json, stream)) > 1:
            raise ValueError("pass one of content=, json= or stream=")
        self.status_code = status_code
        self.headers = Headers(headers or {})
        if json is not None:
            content = jsonlib.dumps(json)
            self.headers.setdefault("content-type", "application/json")
        self._content = content.encode() if isinstance(content, str) else content or b""
        self._stream = stream
        self.request: Request | None = None  # set by the transport that returns it
        self.closed = False

    def __repr__(self) -> str:
        return f"<Response [{self.status_code}]>"

    def iter_bytes(self) -> Iterator[bytes]:
        if self._stream is None:
            if self._content:
                yield self._content
            return
        if not isinstance(self._stream, Iterable):
            raise TypeError("an async stream= needs AsyncMockTransport")
        for chunk in self._stream:
            if chunk:
                yield chunk

    def read(self) -> bytes:
        return b"".join(self.iter_bytes())

    def close(self) -> None:
        self.closed = True
        close = getattr(self._stream, "close", None)  # a generator, say
        if callable(close):
            close()

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        if isinstance(self._stream, AsyncIterable):
            async for chunk in self._stream:
                if chunk:
                    yield chunk
            return
        for chunk in self.iter_bytes():
            yield chunk

    async def aread(self) -> bytes:
        return b"".join([chunk async for chunk in self.aiter_bytes()])

    async def aclose(self) -> None:
        self.closed = True
        aclose = getattr(self._stream, "aclose", None)
        if callable(aclose):
            await aclose()
        else:
            self.close()


class MockTransport:
    """For :class:`~pf_browser.PromptFloe`: ``handler(request)`` answers each request.

    ``requests`` lists every request sent, in order.
    """

    def __init__(self, handler: Callable[[Request], Response]) -> None:
        self.handler = handler
        self.requests: list[Request] = []

    def send(self, request: Request) -> Response:
        self.requests.append(request)
        response = self.handler(request)
        if not isinstance(response, Response):
            raise TypeError(f"the handler returned {type(response).__name__}, not a "
                            "pf_browser.transports.Response")
        response.request = request
        return response

    def close(self) -> None:
        pass


class AsyncMockTransport:
    """For :class:`~pf_browser.AsyncPromptFloe`; ``handler`` may be sync or async."""

    def __init__(self, handler: Callable[[Request], Response | Awaitable[Response]]) -> None:
        self.handler = handler
        self.requests: list[Request] = []

    async def send(self, request: Request) -> Response:
        self.requests.append(request)
        response = self.handler(request)
        if inspect.isawaitable(response):
            response = await response
        if not isinstance(response, Response):
            raise TypeError(f"the handler returned {type(response).__name__}, not a "
                            "pf_browser.transports.Response")
        response.request = request
        return response

    async def aclose(self) -> None:
        pass
