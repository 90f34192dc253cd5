"""``PromptFloe`` and ``AsyncPromptFloe``: the same resources, sync and async.

Both clients share :class:`_BaseClient` — configuration, credentials and the
request protocol (``_flow.py``) — and differ only in how they perform an
action: with a sync transport and a lock, or with an async transport and an
``asyncio.Lock``.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import os
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from functools import cached_property
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from ._auth import (
    CALL_REFRESH,
    SECRET_PREFIXES,
    RefreshResult,
    TokenState,
    check_credential,
    check_not_secret_in_browser,
    parse_session_reply,
    session_request,
)
from ._exceptions import APIStatusError, PromptFloeError, RefreshError
from ._flow import Endpoint, Refresh, Send, Sleep, adrive, drive, request_flow
from ._replies import Reply, json_body
from ._resources import (
    Apps,
    AsyncApps,
    AsyncSessions,
    AsyncUsageResource,
    AsyncWithRawResponse,
    Op,
    Sessions,
    UsageResource,
    WithRawResponse,
)
from ._response import RawResponse
from ._retry import RetryPolicy
from ._streaming import AsyncStream, Stream
from ._transports.base import AsyncResponse, AsyncTransport, SyncResponse, SyncTransport

if TYPE_CHECKING:  # for annotations only: the browser never imports httpx
    import httpx

__all__ = ["DEFAULT_BASE_URL", "AsyncPromptFloe", "PromptFloe"]

DEFAULT_BASE_URL = "http://127.0.0.1:8787"
T = TypeVar("T")


def new_idempotency_key() -> str:
    """A fresh ``Idempotency-Key`` for one generate call (128 random bits)."""
    return "pf_idem_" + os.urandom(16).hex()


class _BaseClient:
    def __init__(
        self,
        api_key: str | None,
        *,
        base_url: str | None,
        session_url: str | None,
        refresh_fn: Callable[[], object] | None,
        timeout: float | None,
        max_retries: int,
        dangerously_allow_browser: bool,
        clock: Callable[[], float] | None,
        transport: object,
        http_client: object,
        wall_clock: Callable[[], float] | None,
    ) -> None:
        if session_url is not None and refresh_fn is not None:
            raise ValueError("pass session_url= or refresh_fn=, not both")
        if transport is not None and http_client is not None:
            raise ValueError("pass transport= or http_client=, not both: a transport "
                             "would never use the http_client")
        if api_key is None and session_url is None and refresh_fn is None:
            # On a server, as openai-python does. Never in a browser: a secret
            # key has no business there, whatever the page's environment says.
            if sys.platform != "emscripten":
                api_key = os.environ.get("PROMPTFLOE_API_KEY") or None
            if api_key is None:
                raise PromptFloeError(
                    "No credential: pass api_key= or set PROMPTFLOE_API_KEY (on your "
                    "server), or pass session_url= / refresh_fn= so the client can fetch "
                    "session tokens itself.")
        if api_key is not None:
            # Checked before anything is sent: a stray newline would otherwise
            # end up in the HTTP library's error (and its chain) with the key.
            api_key = check_credential(api_key, "api_key")
            check_not_secret_in_browser(api_key, dangerously_allow_browser)
        url = base_url or os.environ.get("PROMPTFLOE_BASE_URL") or DEFAULT_BASE_URL
        self.base_url = url.rstrip("/")
        self.timeout = timeout
        self._session_url = session_url
        self._refresh_fn = refresh_fn
        self._auth = TokenState(
            api_key,
            can_refresh=session_url is not None or refresh_fn is not None,
            clock=clock or time.monotonic,
            wall=wall_clock or time.time,
            allow_secret_in_browser=dangerously_allow_browser,
            source="the session endpoint" if session_url is not None else "refresh_fn",
        )
        self._endpoint = Endpoint(self.base_url, timeout, RetryPolicy(max_retries), self._auth)

    def __repr__(self) -> str:
        # Never the credential itself: only what kind of credential it is.
        token = self._auth.token
        kind = ("secret key" if token and token.startswith(SECRET_PREFIXES)
                else "session token" if token else "no token yet")
        renew = (" session_url" if self._session_url else
                 " refresh_fn" if self._refresh_fn else "")
        return f"<{type(self).__name__} base_url={self.base_url!r} {kind}{renew}>"

    def _generate_flow(self, body: Any, path: str | None,
                       headers: dict[str, str] | None, idempotency_key: str) -> Any:
        if path is None:
            return request_flow(self._endpoint, "POST", "/v1/apps/generate", body=body,
                                headers={"idempotency-key": idempotency_key}, stream=True)
        return request_flow(self._endpoint, "GET", path, headers=headers, stream=True)


class PromptFloe(_BaseClient):
    """The sync client: CPython (httpx) and Pyodide (JSPI, or pyodide-http in a worker).

    ``api_key`` is a secret key (server side) or a session token; without
    any credential, CPython reads ``$PROMPTFLOE_API_KEY`` (Pyodide never
    does). With ``session_url`` (the app's own endpoint that mints sessions)
    or ``refresh_fn`` (returns a *newly minted* token, a :class:`SessionGrant`
    or a :class:`Session`), tokens are fetched on first use and renewed before
    they expire and on a 401.

    ``timeout`` also bounds ``refresh_fn`` and the session endpoint: one that
    hangs raises :class:`RefreshError` (see :class:`_BoundedCall`).

    ``transport`` or ``http_client`` (not both) choose how bytes move. The
    test seams are ``clock`` (monotonic seconds, for token renewal),
    ``wall_clock`` (Unix seconds, to read an ``expiresAt``) and ``sleep`` (how
    retries wait).
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        session_url: str | None = None,
        refresh_fn: Callable[[], RefreshResult] | None = None,
        timeout: float | None = 60.0,
        max_retries: int = 2,
        transport: SyncTransport | None = None,
        http_client: httpx.Client | None = None,
        dangerously_allow_browser: bool = False,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
        wall_clock: Callable[[], float] | None = None,
    ) -> None:
        if refresh_fn is not None and inspect.iscoroutinefunction(refresh_fn):
            raise TypeError("PromptFloe needs a sync refresh_fn; use AsyncPromptFloe for "
                            "an async one")
        super().__init__(api_key, base_url=base_url, session_url=session_url,
                         refresh_fn=refresh_fn, timeout=timeout, max_retries=max_retries,
                         dangerously_allow_browser=dangerously_allow_browser, clock=clock,
                         transport=transport, http_client=http_client,
                         wall_clock=wall_clock)
        if transport is None:
            from ._transports import default_sync_transport
            transport = default_sync_transport(http_client)
        self._transport = transport
        self._lock = threading.Lock()
        # Under JSPI, calls on one thread interleave while they wait on the
        # network; the transport's pause() lets the page (and them) run.
        self._pause: Callable[[float], bool] | None = getattr(transport, "pause", None)
        self._sleep: Callable[[float], None] = sleep or time.sleep
        self._bounded = _BoundedCall()
        self.sessions = Sessions(self)
        self.apps = Apps(self)
        self.usage = UsageResource(self)

    def refresh_token(self) -> None:
        """Get a new token now (say, after the end user signs in again)."""
        if not self._auth.can_refresh:
            raise PromptFloeError("refresh_token() needs session_url= or refresh_fn=")
        self._perform(Refresh(self._auth.generation, force=True))

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> PromptFloe:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- performing actions --------------------------------------------------------

    @cached_property
    def with_raw_response(self) -> WithRawResponse:
        """The same calls, each returning a :class:`RawResponse`: status, headers,
        ``request_id``, and ``parse()`` for the result."""
        return WithRawResponse(self)

    def _call(self, op: Op[T]) -> T:
        return _parse(op, self._reply(op))

    def _call_raw(self, op: Op[T]) -> RawResponse[T]:
        reply = self._reply(op)
        return RawResponse(reply.status_code, reply.headers, reply.content,
                           lambda: _parse(op, reply))

    def _reply(self, op: Op[Any]) -> Reply:
        reply: Reply = drive(request_flow(self._endpoint, op.method, op.path, body=op.body),
                             self._perform)
        return reply

    def _stream(self, body: Any) -> Stream:
        key = new_idempotency_key()
        # A transport that cannot stream from this call (PyodideSyncTransport
        # outside JSPI and the worker path) says so before a token is fetched.
        check_stream = getattr(self._transport, "check_stream", None)

        def open_(path: str | None, headers: dict[str, str] | None) -> SyncResponse:
            if check_stream is not None:
                check_stream()
            response: SyncResponse = drive(self._generate_flow(body, path, headers, key),
                                           self._perform)
            return response
        return Stream(open_)

    def _perform(self, action: Any) -> Any:
        if isinstance(action, Send):
            return self._send(action.request, action.stream)
        if isinstance(action, Sleep):
            return self._sleep(action.seconds)
        if isinstance(action, Refresh):
            self._acquire_refresh_lock()  # one refresh at a time; waiters use its result
            try:
                return drive(self._auth.refresh_flow(action.generation, force=action.force),
                             self._refresh_once)
            finally:
                self._lock.release()
        raise AssertionError(action)

    def _acquire_refresh_lock(self) -> None:
        if self._pause is None:
            self._lock.acquire()
            return
        # The holder may be another call on this very thread, suspended while
        # it waits on the network (JSPI): blocking would stop it for ever.
        while not self._lock.acquire(blocking=False):
            if not self._pause(0.01):
                raise RefreshError(
                    "Another call is renewing the token and this one cannot wait for it "
                    "here (it was not entered through an async door); try again, or "
                    "call from an `async def` function or handler.")

    def _send(self, request: Any, stream: bool) -> Reply | SyncResponse:
        response = self._transport.send(request)
        if stream and 200 <= response.status_code < 300:
            return response
        try:
            return Reply(response.status_code, response.headers, response.read())
        finally:
            response.close()

    def _refresh_once(self, action: str) -> Any:
        assert action == CALL_REFRESH
        if self._refresh_fn is not None:
            return self._bounded(self._refresh_fn, self.timeout)
        assert self._session_url is not None
        # The transport's timeout bounds connecting and each read.
        reply = self._send(session_request(self._session_url, self.timeout), stream=False)
        assert isinstance(reply, Reply)
        return parse_session_reply(reply)


class AsyncPromptFloe(_BaseClient):
    """The async client: CPython (httpx) and a page's main thread (fetch).

    See :class:`PromptFloe` for the arguments; ``refresh_fn`` may be sync or
    async here. In a page, ``AsyncPromptFloe(session_url="/api/promptfloe/session",
    base_url=API)`` is all it takes.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        session_url: str | None = None,
        refresh_fn: Callable[[], RefreshResult | Awaitable[RefreshResult]] | None = None,
        timeout: float | None = 60.0,
        max_retries: int = 2,
        transport: AsyncTransport | None = None,
        http_client: httpx.AsyncClient | None = None,
        dangerously_allow_browser: bool = False,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        wall_clock: Callable[[], float] | None = None,
    ) -> None:
        super().__init__(api_key, base_url=base_url, session_url=session_url,
                         refresh_fn=refresh_fn, timeout=timeout, max_retries=max_retries,
                         dangerously_allow_browser=dangerously_allow_browser, clock=clock,
                         transport=transport, http_client=http_client,
                         wall_clock=wall_clock)
        if transport is None:
            from ._transports import default_async_transport
            transport = default_async_transport(http_client)
        self._transport = transport
        self._lock = asyncio.Lock()
        self._sleep: Callable[[float], Awaitable[None]] = sleep or asyncio.sleep
        self.sessions = AsyncSessions(self)
        self.apps = AsyncApps(self)
        self.usage = AsyncUsageResource(self)

    async def refresh_token(self) -> None:
        """Get a new token now (say, after the end user signs in again)."""
        if not self._auth.can_refresh:
            raise PromptFloeError("refresh_token() needs session_url= or refresh_fn=")
        await self._perform(Refresh(self._auth.generation, force=True))

    async def aclose(self) -> None:
        await self._transport.aclose()

    close = aclose

    async def __aenter__(self) -> AsyncPromptFloe:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.aclose()

    # -- performing actions --------------------------------------------------------

    @cached_property
    def with_raw_response(self) -> AsyncWithRawResponse:
        """The same calls, each returning a :class:`RawResponse`: status, headers,
        ``request_id``, and ``parse()`` for the result."""
        return AsyncWithRawResponse(self)

    async def _call(self, op: Op[T]) -> T:
        return _parse(op, await self._reply(op))

    async def _call_raw(self, op: Op[T]) -> RawResponse[T]:
        reply = await self._reply(op)
        return RawResponse(reply.status_code, reply.headers, reply.content,
                           lambda: _parse(op, reply))

    async def _reply(self, op: Op[Any]) -> Reply:
        reply: Reply = await adrive(
            request_flow(self._endpoint, op.method, op.path, body=op.body), self._perform)
        return reply

    def _stream(self, body: Any) -> AsyncStream:
        key = new_idempotency_key()

        async def open_(path: str | None, headers: dict[str, str] | None) -> AsyncResponse:
            response: AsyncResponse = await adrive(
                self._generate_flow(body, path, headers, key), self._perform)
            return response
        return AsyncStream(open_)

    async def _perform(self, action: Any) -> Any:
        if isinstance(action, Send):
            return await self._send(action.request, action.stream)
        if isinstance(action, Sleep):
            return await self._sleep(action.seconds)
        if isinstance(action, Refresh):
            async with self._lock:  # one refresh at a time; waiters use its result
                return await adrive(
                    self._auth.refresh_flow(action.generation, force=action.force),
                    self._refresh_once)
        raise AssertionError(action)

    async def _send(self, request: Any, stream: bool) -> Reply | AsyncResponse:
        response = await self._transport.send(request)
        if stream and 200 <= response.status_code < 300:
            return response
        try:
            return Reply(response.status_code, response.headers, await response.aread())
        finally:
            await response.aclose()

    async def _refresh_once(self, action: str) -> Any:
        assert action == CALL_REFRESH
        # The whole call gets the client's timeout: a session endpoint that
        # trickles bytes, or an async refresh_fn that never returns, raises
        # RefreshError instead of holding the lock every request waits on.
        # (A sync refresh_fn runs on the event loop, so nothing can interrupt
        # it: pass an async one if it does I/O.)
        try:
            return await asyncio.wait_for(self._refresh_call(), self.timeout)
        except TimeoutError:
            raise _refresh_timeout(self._auth.source, self.timeout) from None

    async def _refresh_call(self) -> Any:
        if self._refresh_fn is not None:
            result = self._refresh_fn()
            if not inspect.isawaitable(result):
                return result
            try:
                return await result
            except TimeoutError as exc:  # its own, not the bound's: say so
                raise RefreshError(f"refresh_fn timed out ({exc or 'TimeoutError'}).") from exc
        assert self._session_url is not None
        reply = await self._send(session_request(self._session_url, self.timeout),
                                 stream=False)
        assert isinstance(reply, Reply)
        return parse_session_reply(reply)


def _refresh_timeout(source: str, timeout: float | None) -> RefreshError:
    return RefreshError(
        f"{source[0].upper()}{source[1:]} did not answer within {timeout:g} seconds (the "
        "client's timeout), so no new session token was fetched. Check that it can reach "
        "the app's server; requests will try again after a short cool-down.")


class _BoundedCall:
    """Calls a sync ``refresh_fn`` so that a hung one cannot block the client.

    The sync client holds a lock while it refreshes (every request that hit a
    401 waits for that one call), so a ``refresh_fn`` that never returns would
    block every later request of the client for good. A Python thread cannot
    be interrupted, so the call runs in a daemon helper thread and the caller
    waits for it at most ``timeout`` seconds; then it raises
    :class:`RefreshError` (and the usual cool-down applies).

    A call that timed out is abandoned, not repeated: while it still runs,
    the next refresh waits on *it* again instead of starting another, so a
    hung ``refresh_fn`` holds one thread, never one per attempt. Whatever it
    returns after its caller gave up is dropped (it may be long stale by then).
    The helper thread runs in a copy of the caller's context (contextvars).

    Where threads cannot start (Pyodide, ``timeout=None``), ``refresh_fn`` is
    called directly and is not bounded.
    """

    def __init__(self) -> None:
        self._hung: threading.Thread | None = None
        self._box: list[Any] = []

    def __call__(self, fn: Callable[[], Any], timeout: float | None) -> Any:
        if timeout is None or sys.platform == "emscripten":
            return fn()
        if self._hung is not None and self._hung.is_alive():
            thread, box = self._hung, self._box  # still running: wait on it again
        else:
            box = []
            context = contextvars.copy_context()

            def run() -> None:
                try:
                    box.append((True, context.run(fn)))
                except BaseException as exc:  # handed to the caller's thread
                    box.append((False, exc))

            thread = threading.Thread(target=run, name="pf_browser refresh_fn", daemon=True)
            thread.start()
        thread.join(timeout)
        if thread.is_alive():
            self._hung, self._box = thread, box
            raise _refresh_timeout("refresh_fn", timeout)
        self._hung, self._box = None, []
        ok, value = box[0]
        if ok:
            return value
        raise value


def _parse(op: Op[T], reply: Reply) -> T:
    body = json_body(reply)
    try:
        return op.parse(body)
    except (KeyError, TypeError, ValueError) as exc:
        raise APIStatusError(
            f"The API's answer to {op.method} {op.path.split('?')[0]} lacks what this client "
            f"expects ({type(exc).__name__}: {exc}); upgrade pf_browser or check base_url.",
            status_code=reply.status_code, body=body) from None
