"""One request, as a flow of actions — and the two loops that drive flows.

A request is a *flow*: a generator that yields actions — :class:`Send` a
request, :class:`Refresh` the token, :class:`Sleep` — and receives each
action's result (or has the action's exception thrown into it). The sync and
async clients each drive flows with a loop of a few lines (:func:`drive`,
:func:`adrive`), so retries, the 401 → refresh → retry rule and the mapping
from statuses to exceptions are written once, as in httpx's ``Auth.auth_flow``.

:func:`request_flow` is the whole per-request protocol: renew a stale token
first, send, retry connection errors and 429 ``rate_limited`` with backoff,
and on a 401 refresh once and retry once (a second 401 is final: Ably's RSA4b
added that rule after an endless refresh loop). A connection error from a
request that never left (a bad scheme, DNS) is final too. A retry sends the
same headers, so a generate call's ``Idempotency-Key`` (one per call, from
the client) makes the server answer a retried request with the run the first
try started, instead of starting and charging a second one. It does no I/O; :func:`drive`
and :func:`adrive` run it against a sync or async ``perform``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Generator, Mapping
from typing import Any, TypeVar

from ._auth import TokenState
from ._exceptions import APIConnectionError, AuthenticationError, RateLimitError
from ._frozen import Frozen, set_field
from ._replies import error_from_reply
from ._retry import RetryPolicy
from ._transports.base import Request

__all__ = ["Action", "Endpoint", "Refresh", "Send", "Sleep", "adrive", "drive", "request_flow"]

log = logging.getLogger("pf_browser")

T = TypeVar("T")
Flow = Generator[Any, Any, T]


# -- actions a flow yields ------------------------------------------------------

class Send(Frozen):
    """Send ``request``. The driver answers with a :class:`Reply` (body read),
    or, when ``stream`` is true and the status is 2xx, with the live response."""

    __slots__ = __match_args__ = ("request", "stream")
    request: Request
    stream: bool

    def __init__(self, request: Request, stream: bool = False) -> None:
        set_field(self, "request", request)
        set_field(self, "stream", stream)
class Refresh(Frozen):
    """Get a new token, unless one newer than ``generation`` already arrived."""

    __slots__ = __match_args__ = ("generation", "force")
    generation: int
    force: bool

    def __init__(self, generation: int, force: bool = False) -> None:
        set_field(self, "generation", generation)
        set_field(self, "force", force)
class Sleep(Frozen):
    """Wait ``seconds`` before the next attempt."""

    __slots__ = __match_args__ = ("seconds",)
    seconds: float

    def __init__(self, seconds: float) -> None:
        set_field(self, "seconds", seconds)
Action = Send | Refresh | Sleep


class Endpoint(Frozen):
    """Where and how to send: what every request of one client shares."""

    __slots__ = __match_args__ = ("base_url", "timeout", "retry", "auth")
    base_url: str
    timeout: float | None
    retry: RetryPolicy
    auth: TokenState

    def __init__(self, base_url: str, timeout: float | None, retry: RetryPolicy,
                 auth: TokenState) -> None:
        set_field(self, "base_url", base_url)
        set_field(self, "timeout", timeout)
        set_field(self, "retry", retry)
        set_field(self, "auth", auth)


def request_flow(
    endpoint: Endpoint,
    method: str,
    path: str,
    *,
    body: Any = None,
    headers: Mapping[str, str] | None = None,
    stream: bool = False,
) -> Generator[Action, Any, Any]:
    """Send one API request; returns its :class:`Reply` (or live response if ``stream``)."""
    auth = endpoint.auth
    scheme, sep, _ = endpoint.base_url.partition("://")
    if sep and scheme.lower() not in ("http", "https"):  # a relative URL is the page's own
        raise APIConnectionError("base_url must start with http:// or https://.",
                                 request_sent=False)
    content = None if body is None else _json_bytes(body)
    attempt = 0
    refreshed = False
    while True:
        if auth.can_refresh and not refreshed and not auth.fresh():
            # No token yet, or due for renewal: a stream never starts on a
            # token about to expire. This counts as the request's one refresh
            # (docs/api.md): a 401 for the token it brought is final.
            refreshed = True
            yield Refresh(auth.generation)
        # Generation first: a refresh in another thread sets the token, then
        # bumps the generation, so this pair never labels an old token as new.
        generation = auth.generation
        token = auth.token
        request = Request(method, endpoint.base_url + path,
                          _headers(token, content is not None, stream, headers),
                          content, endpoint.timeout, stream)
        try:
            reply = yield Send(request, stream)
        except APIConnectionError as exc:
            if not exc.request_sent:
                raise  # it never left: the same request would fail the same way
            attempt += 1
            if attempt > endpoint.retry.max_retries:
                raise
            delay = endpoint.retry.backoff(attempt)
            log.info("%s %s: %s; retry %d in %.1fs", method, path, type(exc).__name__,
                     attempt, delay)
            yield Sleep(delay)
            continue
        if reply.status_code < 300:
            return reply
        if reply.status_code == 401 and auth.can_refresh and not refreshed:
            refreshed = True
            log.info("%s %s: 401; refreshing the token once", method, path)
            yield Refresh(generation)
            continue
        error = error_from_reply(reply)
        if isinstance(error, AuthenticationError) and refreshed:
            error = AuthenticationError(
                f"{error.message} A freshly refreshed token was refused too: check that "
                "refresh_fn returns a newly minted token on each call.",
                status_code=error.status_code, code=error.code,
                request_id=error.request_id, body=error.body)
        if isinstance(error, RateLimitError):
            attempt += 1
            delay_or_none = endpoint.retry.delay_for(attempt, error)
            if delay_or_none is not None:
                log.info("%s %s: 429; retry %d in %.1fs", method, path, attempt, delay_or_none)
                yield Sleep(delay_or_none)
                continue
        raise error


def _json_bytes(body: Any) -> bytes:
    """``body`` as compact UTF-8 JSON: a character is sent as its 1 to 4 UTF-8
    bytes, not as a 6- or 12-byte ``\\u`` escape, so every prompt within the
    API's 8,000 characters fits its body cap."""
    try:
        return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate is not text: send it escaped, for the API's own 400.
        return json.dumps(body, separators=(",", ":")).encode("ascii")


def _headers(token: str | None, has_body: bool, stream: bool,
             extra: Mapping[str, str] | None) -> dict[str, str]:
    headers = {"accept": "text/event-stream" if stream else "application/json"}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    if has_body:
        headers["content-type"] = "application/json"
    if extra:
        headers.update(extra)
    return headers


def drive(flow: Flow[T], perform: Callable[[Any], Any]) -> T:
    """Run ``flow`` to its end, performing each action with ``perform``."""
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            action = flow.send(value) if error is None else flow.throw(error)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        value, error = None, None
        try:
            value = perform(action)
        except Exception as exc:  # thrown into the flow, which decides
            error = exc


async def adrive(flow: Flow[T], perform: Callable[[Any], Awaitable[Any]]) -> T:
    """The async twin of :func:`drive`."""
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            action = flow.send(value) if error is None else flow.throw(error)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        value, error = None, None
        try:
            value = await perform(action)
        except Exception as exc:
            error = exc


