"""Time for the server, passed in so expiry and quota days are testable.

Every "now" the server uses comes from a :class:`Clock`. Production uses
:class:`SystemClock`; tests use :class:`AdjustableClock`, which follows real
time plus an offset that a test moves forward to expire a token without
sleeping.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["AdjustableClock", "Clock", "SystemClock", "day_of", "next_midnight", "rfc3339"]


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the Unix epoch, UTC."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.time()


class AdjustableClock:
    """Real time plus an offset: ``advance(3600)`` is an hour later, at once."""

    def __init__(self, offset: float = 0.0) -> None:
        self._offset = offset
        self._lock = threading.Lock()  # tests move it from their own thread

    def now(self) -> float:
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds

    def set(self, when: datetime) -> None:
        """Jump to ``when`` (timezone-aware); time goes on from there."""
        with self._lock:
            self._offset = when.timestamp() - time.time()


def rfc3339(ts: float) -> str:
    """``2026-11-28T19:30:00Z``: whole seconds, UTC, as the API writes times."""
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def day_of(ts: float) -> str:
    """The quota day (UTC) a moment belongs to, ``YYYY-MM-DD``."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


def next_midnight(ts: float) -> float:
    """When the quota day containing ``ts`` ends (the next 00:00 UTC)."""
    day = datetime.fromtimestamp(ts, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return (day + timedelta(days=1)).timestamp()
