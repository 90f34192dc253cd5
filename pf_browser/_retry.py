"""When to retry a request, and how long to wait first, with no I/O.

:class:`RetryPolicy` is what :func:`~pf_browser._flow.request_flow` asks
after a connection error or a 429; :func:`retry_after` reads the server's
``Retry-After`` header (RFC 9110, 10.2.3).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping

from ._exceptions import QuotaExceededError, RateLimitError
from ._frozen import Frozen, set_field
from ._http import parse_http_date

__all__ = ["RetryPolicy", "retry_after"]


class RetryPolicy(Frozen):
    """Exponential backoff with jitter; ``Retry-After`` honoured up to a cap.

    Only connection errors and 429 ``rate_limited`` are retried: any other 4xx
    will fail the same way again, and a spent daily quota will not come back
    in seconds.
    """

    __slots__ = __match_args__ = ("max_retries", "base", "cap", "max_retry_after", "rand")
    max_retries: int
    base: float
    cap: float
    max_retry_after: float
    rand: Callable[[], float]

    def __init__(self, max_retries: int = 2, base: float = 0.5, cap: float = 8.0,
                 max_retry_after: float = 60.0,
                 rand: Callable[[], float] = random.random) -> None:
        set_field(self, "max_retries", max_retries)
        set_field(self, "base", base)
        set_field(self, "cap", cap)
        set_field(self, "max_retry_after", max_retry_after)
        set_field(self, "rand", rand)

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


def retry_after(headers: Mapping[str, str]) -> float | None:
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
        return (parse_http_date(later) - parse_http_date(now)).total_seconds()
    except (TypeError, ValueError):
        return None
