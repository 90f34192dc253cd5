"""A workspace's usage per day and per end user: the one computation behind
``GET /v1/usage``, the dashboard and ``promptfloe-server usage``.

``used`` is the day's quota spent: every run of the day, made with a key or a
session. ``by_end_user`` lists the end users that made calls or runs with
session tokens that day, by id. Days are UTC quota days (``clock.day_of``).
Everything that shows these numbers reads them from here, so they cannot
disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from .clock import next_midnight, rfc3339
from .store import Store, UsageRow, Workspace

__all__ = ["DayUsage", "Totals", "day_usage", "parse_day", "quota_resets_at", "totals",
           "usage_days"]


@dataclass(frozen=True, slots=True)
class DayUsage:
    date: str
    quota: int
    used: int
    by_end_user: tuple[UsageRow, ...]

    def to_json(self) -> dict[str, Any]:
        """The body of ``GET /v1/usage`` for this day."""
        return {"date": self.date, "quota": self.quota, "used": self.used,
                "byEndUser": [{"endUserId": r.end_user_id, "runs": r.runs, "calls": r.calls}
                              for r in self.by_end_user]}


@dataclass(frozen=True, slots=True)
class Totals:
    """Several days added up: runs and calls per end user, and the quota used."""
    used: int
    by_end_user: tuple[UsageRow, ...]   # most runs first, then by id


def parse_day(text: str) -> str | None:
    """``YYYY-MM-DD`` exactly (a real date), or None."""
    try:
        valid = len(text) == 10 and date.fromisoformat(text).isoformat() == text
    except ValueError:
        valid = False
    return text if valid else None


def day_usage(store: Store, workspace: Workspace, day: str) -> DayUsage:
    return usage_days(store, workspace, day, 1)[0]


def usage_days(store: Store, workspace: Workspace, last_day: str, days: int) -> list[DayUsage]:
    """The ``days`` days that end with ``last_day``, oldest first, empty days included
    (fewer only where the calendar starts, before 0001-01-01)."""
    last = date.fromisoformat(last_day)
    span = [last - timedelta(days=n) for n in range(days - 1, -1, -1)
            if n <= (last - date.min).days]
    first_day = span[0].isoformat()
    used, rows = store.usage_between(workspace.id, first_day, last_day)
    return [DayUsage(d, workspace.daily_quota, used.get(d, 0), tuple(rows.get(d, ())))
            for d in (day.isoformat() for day in span)]


def totals(days: list[DayUsage]) -> Totals:
    runs: dict[str, int] = {}
    calls: dict[str, int] = {}
    for day in days:
        for row in day.by_end_user:
            runs[row.end_user_id] = runs.get(row.end_user_id, 0) + row.runs
            calls[row.end_user_id] = calls.get(row.end_user_id, 0) + row.calls
    rows = sorted((UsageRow(u, calls[u], runs[u]) for u in runs),
                  key=lambda r: (-r.runs, -r.calls, r.end_user_id))
    return Totals(sum(d.used for d in days), tuple(rows))


def quota_resets_at(now: float) -> str:
    """When today's quota starts again, as the API writes times (00:00 UTC)."""
    return rfc3339(next_midnight(now))
