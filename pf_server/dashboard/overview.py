"""What the signed-in dashboard shows, gathered in one place for its template.

The day's numbers and the charts' come from :mod:`pf_server.usage` — the code
behind ``GET /v1/usage`` — so the page and the API cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..clock import day_of, next_midnight
from ..store import Store, Workspace
from ..usage import DayUsage, day_usage, usage_days
from .charts import Chart, svg, usage_chart
from .queries import LiveSessions, RecentRun, live_sessions, recent_runs

__all__ = ["ChartView", "Overview", "overview"]


@dataclass(frozen=True, slots=True)
class ChartView:
    id: str
    chart: Chart
    svg: str
    days: tuple[DayUsage, ...]   # the table beside it: the same days, newest first


@dataclass(frozen=True, slots=True)
class Overview:
    workspace: Workspace
    today: DayUsage
    resets_at: float
    resets_in: float
    day: DayUsage               # the chosen day
    is_today: bool
    charts: tuple[ChartView, ...]
    live: tuple[LiveSessions, ...]
    runs: tuple[RecentRun, ...]
    runs_of: str | None         # recent runs of this end user only
    metric: str                 # what the charts count: "runs" or "calls"

    @property
    def percent_used(self) -> int:
        quota = self.today.quota
        return 100 if quota <= 0 else min(100, round(100 * self.today.used / quota))


def _chart(store: Store, ws: Workspace, last_day: str, days: int, metric: str) -> ChartView:
    span = usage_days(store, ws, last_day, days)
    chart = usage_chart(f"{metric.capitalize()} per day, {days} days to {last_day}", span,
                        metric)
    chart_id = f"chart-{days}"
    return ChartView(chart_id, chart, svg(chart, chart_id), tuple(reversed(span)))


def overview(store: Store, ws: Workspace, now: float, day: str | None,
             runs_of: str | None, metric: str = "runs") -> Overview:
    today_name = day_of(now)
    chosen = day or today_name
    today = day_usage(store, ws, today_name)
    resets = next_midnight(now)
    return Overview(
        workspace=ws, today=today, resets_at=resets, resets_in=resets - now,
        day=today if chosen == today_name else day_usage(store, ws, chosen),
        is_today=chosen == today_name,
        charts=(_chart(store, ws, chosen, 7, metric), _chart(store, ws, chosen, 30, metric)),
        live=tuple(live_sessions(store, ws.id, now)),
        runs=tuple(recent_runs(store, ws.id, runs_of)),
        runs_of=runs_of,
        metric=metric,
    )
