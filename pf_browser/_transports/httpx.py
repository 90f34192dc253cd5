"""httpx, as the CPython transport (sync and async).

``timeout`` bounds connecting and each wait for the next chunk, not the whole
body (httpx's read timeout is per read), so a long event stream lives on.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator, Mapping

import httpx

from .._exceptions import APIConnectionError, APITimeoutError
from .base import Request

__all__ = ["AsyncHttpxTransport", "HttpxTransport"]


def _lower(headers: httpx.Headers) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def _error(exc: httpx.TransportError | httpx.StreamError) -> APIConnectionError:
    # The message names the failure, never a header: nothing secret leaks.
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError()
    if isinstance(exc, httpx.UnsupportedProtocol):
        return APIConnectionError("base_url must start with http:// or https://.",
                                  request_sent=False)
    if _unresolved(exc):
        return APIConnectionError(
            "The PromptFloe API's host name does not resolve; check base_url.",
            request_sent=False)
    return APIConnectionError(
        f"Could not reach the PromptFloe API ({type(exc).__name__}); check the network "
        "and base_url, then try again.")


def _unresolved(exc: BaseException) -> bool:
    """A DNS failure (socket.gaierror) somewhere in the exception's chain."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, socket.gaierror):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return False


class HttpxResponse:
    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        self.status_code = response.status_code
        self.headers: Mapping[str, str] = _lower(response.headers)

    def __repr__(self) -> str:
        return f"<HttpxResponse [{self.status_code}]>"

    def iter_bytes(self) -> Iterator[bytes]:
        try:
            for chunk in self._response.iter_bytes():
                if chunk:
                    yield chunk
        except (httpx.TransportError, httpx.StreamError) as exc:
            raise _error(exc) from exc

    def read(self) -> bytes:
        return b"".join(self.iter_bytes())

    def close(self) -> None:
        self._response.close()


class AsyncHttpxResponse:
    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        self.status_code = response.status_code
        self.headers: Mapping[str, str] = _lower(response.headers)

    def __repr__(self) -> str:
        return f"<AsyncHttpxResponse [{self.status_code}]>"

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.aiter_bytes():
                if chunk:
                    yield chunk
        except (httpx.TransportError, httpx.StreamError) as exc:
            raise _error(exc) from exc

    async def aread(self) -> bytes:
        return b"".join([chunk async for chunk in self.aiter_bytes()])

    async def aclose(self) -> None:
        await self._response.aclose()


class HttpxTransport:
    """Sync transport over an ``httpx.Client`` (yours, or one it makes and owns)."""

    def __init__(self, client: httpx.Client | None = None) -> None:
        if client is not None and not isinstance(client, httpx.Client):
            raise TypeError(f"PromptFloe needs an httpx.Client, not {type(client).__name__}")
        self._owns = client is None
        self._client = client if client is not None else httpx.Client()

    def send(self, request: Request) -> HttpxResponse:
        req = self._client.build_request(request.method, request.url,
                                         headers=dict(request.headers),
                                         content=request.content,
                                         timeout=httpx.Timeout(request.timeout))
        try:
            return HttpxResponse(self._client.send(req, stream=True))
        except httpx.TransportError as exc:
            raise _error(exc) from exc

    def close(self) -> None:
        if self._owns:
            self._client.close()


class AsyncHttpxTransport:
    """Async transport over an ``httpx.AsyncClient`` (yours, or one it makes and owns)."""

    def __init__(self, client: httpx.AsyncClient | None = None) -> None:
        if client is not None and not isinstance(client, httpx.AsyncClient):
            raise TypeError("AsyncPromptFloe needs an httpx.AsyncClient, not "
                            f"{type(client).__name__}")
        self._owns = client is None
        self._client = client if client is not None else httpx.AsyncClient()

    async def send(self, request: Request) -> AsyncHttpxResponse:
        req = self._client.build_request(request.method, request.url,
                                         headers=dict(request.headers),
                                         content=request.content,
                                         timeout=httpx.Timeout(request.timeout))
        try:
            return AsyncHttpxResponse(await self._client.send(req, stream=True))
        except httpx.TransportError as exc:
            raise _error(exc) from exc

    async def aclose(self) -> None:
        if self._owns:
            await self._client.aclose()
