"""A rate limit per credential: 429 ``rate_limited`` with ``Retry-After``.

Each secret key and each session token has a token bucket of ``burst``
requests that refills at ``rate`` a second; a request finding it empty is
refused before it is recorded or does anything, so retrying it is safe. A
session is one end user, so one busy end user cannot starve the others or
the app's own server. Off unless the server is started with
``--rate-limit``; times come from the server's :class:`~pf_server.clock.Clock`.
"""

from __future__ import annotations

import math
import threading

from .errors import ApiError

__all__ = ["RateLimiter"]

_PRUNE_AT = 10_000  # buckets kept before the full (idle) ones are forgotten


class RateLimiter:
    def __init__(self, rate: float, burst: int | None = None) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive (requests per second)")
        self.rate = rate
        self.burst = burst if burst is not None else max(1, math.ceil(rate))
        if self.burst < 1:
            raise ValueError("burst must be at least 1")
        self._buckets: dict[str, tuple[float, float]] = {}  # who -> (tokens, at)
        self._prune_at = _PRUNE_AT
        self._lock = threading.Lock()

    def wait(self, who: str, now: float) -> float:
        """Take one request for ``who``: 0.0 if allowed, else seconds until it would be."""
        with self._lock:
            tokens, at = self._buckets.get(who, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + max(0.0, now - at) * self.rate)
            if tokens >= 1.0:
                self._buckets[who] = (tokens - 1.0, now)
                if len(self._buckets) > self._prune_at:
                    self._prune(now)
                return 0.0
            self._buckets[who] = (tokens, now)
            return (1.0 - tokens) / self.rate

    def check(self, who: str, now: float) -> None:
        """Raise 429 ``rate_limited`` when ``who`` is over the limit."""
        wait = self.wait(who, now)
        if wait > 0.0:
            seconds = max(1, math.ceil(wait))
            raise ApiError(
                429, "rate_limited",
                f"Too many requests with this credential (the limit is {self.rate:g} a "
                f"second, bursts of {self.burst}); retry after {seconds} s.",
                headers={"Retry-After": str(seconds)})

    def _prune(self, now: float) -> None:
        full = [who for who, (tokens, at) in self._buckets.items()
                if tokens + (now - at) * self.rate >= self.burst]
        for who in full:
            del self._buckets[who]
        # Many busy credentials leave little to forget: wait until the table has
        # doubled before the next pass, so a pass costs O(1) a request overall.
        self._prune_at = max(_PRUNE_AT, 2 * len(self._buckets))
