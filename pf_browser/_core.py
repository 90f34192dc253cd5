"""The request protocol, with no I/O: actions, retry policy, errors from replies.

A request is a *flow*: a generator that yields actions — :class:`Send` a
request, :class:`Refresh` the token, :class:`Sleep` — and receives each
action's result (or has the action's exception thrown into it). The sync and
async clients each drive flows with a loop of a few lines (``_flow.py``: ``drive``, ``adrive``), so
retries, the 401 → refresh → retry rule and the mapping from statuses to
exceptions are written once, as in httpx's ``Auth.auth_flow``.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

from ._exceptions import (
    APIStatusError,
    AuthenticationError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    QuotaExceededError,
    RateLimitError,
    ServerError,
)
from ._transports.base import Request

__all__ = [
    "Action",
    "Refresh",
    "Reply",
    "RetryPolicy",
    "Send",
    "Sleep",
    "error_from_reply",
    "json_body",
]


# -- actions a flow yields ------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Send:
    """Send ``request``. The driver answers with a :class:`Reply` (body read),
    or, when ``stream`` is true and the status is 2xx, with the live response."""

    request: Request
    stream: bool = False


@dataclass(frozen=True, slots=True)
class Refresh:
    """Get a new token, unless one newer than ``generation`` already arrived."""

    generation: int
    force: bool = False


@dataclass(frozen=True, slots=True)
class Sleep:
    seconds: float


Action = Send | Refresh | Sleep


class _HasStatus(Protocol):
    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...


@dataclass(frozen=True, slots=True)
class Reply:
    """A response whose body has been read whole."""

    status_code: int
    headers: Mapping[str, str]
    content: bytes

    def __repr__(self) -> str:
        return f"<Reply [{self.status_code}]>"


# -- retries --------------------------------------------------------------------

@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter; ``Retry-After`` honoured up to a cap.

    Only connection errors and 429 ``rate_limited`` are retried: any other 4xx
    will fail the same way again, and a spent daily quota will not come back
    in seconds.
    """

    max_retries: int = 2
    base: float = 0.5
    cap: float = 8.0
    max_retry_after: float = 60.0
    rand: Callable[[], float] = random.random

    def backoff(self, attempt: int) -> float:
        """Delay before retry number ``attempt`` (1-based), full jitter on half."""
        delay = min(self.cap, self.base * 2.0 ** (attempt - 1))
        return delay * (0.5 + self.rand() / 2)

    def delay_for(self, attempt: int, error: RateLimitError) -> float | None:
        """Seconds to wait before retrying after ``error``, or None: don't."""
        if isinstance(error, QuotaExceededError) or attempt > self.max_retries:
            return None
        if error.retry_after is None:
            return self.backoff(attempt)
        if error.retry_after > self.max_retry_after:
            return None
        return error.retry_after


# -- replies to values and errors -----------------------------------------------

def json_body(reply: Reply) -> Any:
    """The reply's JSON, or None for an empty body."""
    if not reply.content:
        return None
    try:
        return json.loads(reply.content)
    except ValueError:
        raise APIStatusError(
            f"The API answered {reply.status_code} with a body that is not JSON; "
            "check that base_url points at a PromptFloe API.",
            status_code=reply.status_code,
            request_id=_request_id(reply),
        ) from None


_BY_STATUS: dict[int, tuple[type[APIStatusError], str]] = {
    400: (InvalidRequestError, "Fix the request; sending it again as is will fail the same way."),
    413: (InvalidRequestError, "Shorten the prompt (at most 8,000 characters)."),
    422: (InvalidRequestError, "Fix the request; sending it again as is will fail the same way."),
    401: (AuthenticationError,
          "The key or session token is invalid, expired or revoked: mint a new session "
          "(pass session_url= or refresh_fn= to renew automatically)."),
    403: (PermissionDeniedError,
          "The credential is valid but may not do this: check the session's scopes "
          "and which end user owns the app."),
    404: (NotFoundError, "Check the id; a session sees only its own end user's apps."),
    409: (ConflictError, "The resource changed meanwhile; fetch it again."),
}


def error_from_reply(reply: Reply) -> APIStatusError:
    """The typed exception for an error reply (docs/api.md, "Errors")."""
    status = reply.status_code
    err: dict[str, Any] = {}
    body: Any = None
    try:
        body = json.loads(reply.content) if reply.content else None
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        err = body["error"]
    code = err.get("code") if isinstance(err.get("code"), str) else None
    said = err.get("message") if isinstance(err.get("message"), str) else None
    request_id = _request_id(reply)
    retry_after = _retry_after(reply.headers)

    if status == 429:
        if code == "quota_exceeded":
            quota, used, resets = _quota_fields(body, err)
            return QuotaExceededError(
                f"{said or 'The daily quota is used up'} ({used} of {quota} runs). "
                f"Generation is available again at {resets or 'the next daily reset'}.",
                status_code=status, code=code, request_id=request_id, body=body,
                quota=quota, used=used, resets_at=resets, retry_after=retry_after)
        wait = f"{retry_after:g} seconds" if retry_after is not None else "a moment"
        return RateLimitError(
            f"{said or 'Too many requests'}. Wait {wait}, then try again.",
            status_code=status, code=code or "rate_limited", request_id=request_id,
            body=body, retry_after=retry_after)
    cls, advice = _BY_STATUS.get(status, (None, ""))
    if cls is None:
        if status >= 500:
            cls, advice = ServerError, "The API failed; try again later."
        else:
            cls, advice = APIStatusError, ""
    head = said or f"The API answered {status}"
    message = f"{head}{'' if head.endswith('.') else '.'} {advice}".strip()
    return cls(message, status_code=status, code=code, request_id=request_id, body=body)


def _request_id(reply: _HasStatus) -> str | None:
    return reply.headers.get("promptfloe-request-id") or reply.headers.get("x-request-id")


def _retry_after(headers: Mapping[str, str]) -> float | None:
    # RFC 9110 10.2.3: delay-seconds, or an HTTP-date, which we measure against
    # the response's own Date (skew-safe, and no clock needed here).
    value = headers.get("retry-after")
    if value is None:
        return None
    seconds: float | None
    try:
        seconds = float(value)
    except ValueError:
        seconds = _http_date_delta(value, headers.get("date"))  # a past date: no wait
        seconds = None if seconds is None else max(seconds, 0.0)
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return None
    return seconds


def _http_date_delta(later: str, now: str | None) -> float | None:
    if now is None:
        return None
    try:
        return (parsedate_to_datetime(later) - parsedate_to_datetime(now)).total_seconds()
    except (TypeError, ValueError):
        return None


def _quota_fields(body: Any, err: dict[str, Any]) -> tuple[int | None, int | None, str | None]:
    # The contract puts quota, used and resetsAt in "the body"; accept them at the
    # top level or inside "error".
    def pick(name: str) -> Any:
        if name in err:
            return err[name]
        return body.get(name) if isinstance(body, dict) else None

    quota, used, resets = pick("quota"), pick("used"), pick("resetsAt")
    return (quota if isinstance(quota, int) else None,
            used if isinstance(used, int) else None,
            resets if isinstance(resets, str) else None)
