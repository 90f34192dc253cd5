"""The transport line.

Everything above this module (requests, auth and refresh, retries, errors, the
event-stream decoder) is written once and does no I/O. Everything below it
only moves bytes: a transport takes a :class:`Request` and returns a response
whose body is an iterator of byte chunks, as they arrive.

Like httpx's ``_transports/base.py``, this strict cut-off is what lets one core
run on CPython (httpx), on a page's main thread (``fetch``) and in a worker
(pyodide-http), and lets unit tests run without a network.

A transport raises :class:`~pf_browser.APIConnectionError` when it cannot
reach the server (or the connection drops while the body is read) and
:class:`~pf_browser.APITimeoutError` when a timeout expires. It never raises
for an HTTP status: statuses are the core's business.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any, Protocol, runtime_checkable

from .._frozen import Frozen, set_field

__all__ = [
    "AsyncResponse",
    "AsyncTransport",
    "Request",
    "ResponseHead",
    "SyncResponse",
    "SyncTransport",
]


class Request(Frozen):
    """One HTTP request, fully formed by the core.

    ``headers`` keys are lower-case. ``timeout`` is in seconds (``None``: no
    timeout) and bounds connecting and each wait for the next chunk, not the
    whole body, so a long event stream is not cut off. ``stream`` says the
    caller reads the body as it arrives (an event stream): a transport that
    could only deliver it whole must refuse rather than buffer it.
    """

    __slots__ = __match_args__ = ("method", "url", "headers", "content", "timeout", "stream")
    method: str
    url: str
    headers: Mapping[str, str]
    content: bytes | None
    timeout: float | None
    stream: bool

    def __init__(self, method: str, url: str, headers: Mapping[str, str] | None = None,
                 content: bytes | None = None, timeout: float | None = None,
                 stream: bool = False) -> None:
        set_field(self, "method", method)
        set_field(self, "url", url)
        set_field(self, "headers", {} if headers is None else headers)
        set_field(self, "content", content)
        set_field(self, "timeout", timeout)
        set_field(self, "stream", stream)

    def __repr__(self) -> str:
        # Headers carry the bearer credential: never print them.
        return f"<Request {self.method} {self.url}>"

    # For test handlers (transports.MockTransport); imported when used, so
    # that `import pf_browser` stays light in a page.

    @property
    def path(self) -> str:
        """The URL's path, without its query: ``/v1/apps``."""
        from urllib.parse import urlsplit
        return urlsplit(self.url).path

    @property
    def params(self) -> dict[str, str]:
        """The URL's query parameters: ``{"limit": "20"}``."""
        from urllib.parse import parse_qsl, urlsplit
        return dict(parse_qsl(urlsplit(self.url).query))

    def json(self) -> Any:
        """The body as JSON (None if there is none)."""
        import json
        return None if self.content is None else json.loads(self.content)


class ResponseHead:
    """What each transport's response has before its body: the status and the
    headers (names lower-case). Its repr shows the status only: headers may
    carry credentials, such as a minted session in ``set-cookie``."""

    def __init__(self, status_code: int, headers: Mapping[str, str]) -> None:
        self._status_code = status_code
        self._headers = headers

    @property
    def status_code(self) -> int:
        return self._status_code

    @property
    def headers(self) -> Mapping[str, str]:
        return self._headers

    def __repr__(self) -> str:
        return f"<{type(self).__name__} [{self._status_code}]>"


class SyncResponse(Protocol):
    """A response whose body has not been read yet.

    ``headers`` keys are lower-case.
    """

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    def iter_bytes(self) -> Iterator[bytes]:
        """The body, chunk by chunk as it arrives; each chunk non-empty."""
        ...

    def read(self) -> bytes:
        """The whole body."""
        ...

    def close(self) -> None:
        """Release the connection; safe to call twice, or mid-body."""
        ...


class AsyncResponse(Protocol):
    """The async twin of :class:`SyncResponse`."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    def aiter_bytes(self) -> AsyncIterator[bytes]: ...

    async def aread(self) -> bytes: ...

    async def aclose(self) -> None:
        """Release the connection (aborting the fetch mid-body if need be)."""
        ...


@runtime_checkable
class SyncTransport(Protocol):
    """A transport for the sync client.

    It may also have ``check_stream()``, which raises when an event stream
    could not be read as it arrives from the current call: the client calls it
    before it fetches a token for a stream.
    """

    def send(self, request: Request) -> SyncResponse: ...

    def close(self) -> None: ...


@runtime_checkable
class AsyncTransport(Protocol):
    async def send(self, request: Request) -> AsyncResponse: ...

    async def aclose(self) -> None: ...
