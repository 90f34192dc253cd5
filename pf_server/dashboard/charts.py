"""Runs or calls per day as a stacked bar chart, drawn on the server as SVG (no
script, no CDN).

:func:`usage_chart` turns days of usage into a :class:`Chart` (one series per
busiest end user, then the rest, then runs made with secret keys);
:func:`svg` draws it. The page shows the same numbers in a table beside the
chart, so nothing is only in the picture. Colours are ``fill`` attributes,
not ``style``, so the page's Content-Security-Policy needs no inline styles.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from ..store import UsageRow
from ..usage import DayUsage

__all__ = ["METRICS", "Chart", "Series", "svg", "usage_chart"]

PALETTE = ("#5b4bdb", "#13795b", "#d97706", "#0e7490", "#be185d")
OTHERS_COLOR = "#9b98b0"
KEYS_COLOR = "#d4d2e0"
TOP = len(PALETTE)

WIDTH, HEIGHT = 480, 210
LEFT, RIGHT, TOP_PAD, BOTTOM = 34, 8, 10, 26


@dataclass(frozen=True, slots=True)
class Series:
    label: str
    color: str
    values: tuple[int, ...]   # one per day


@dataclass(frozen=True, slots=True)
class Chart:
    title: str
    unit: str                 # "run" or "call": what a bar counts
    days: tuple[str, ...]     # YYYY-MM-DD, oldest first
    series: tuple[Series, ...]

    def total(self, i: int) -> int:
        return sum(s.values[i] for s in self.series)


METRICS = ("runs", "calls")


def usage_chart(title: str, days: list[DayUsage], metric: str = "runs") -> Chart:
    """Runs or calls per day: the busiest end users each get a colour, the rest share
    one, and (for runs) those made with secret keys another."""
    assert metric in METRICS

    def count(row: UsageRow) -> int:
        return row.runs if metric == "runs" else row.calls

    totals: dict[str, int] = {}
    for day in days:
        for row in day.by_end_user:
            totals[row.end_user_id] = totals.get(row.end_user_id, 0) + count(row)
    busiest = [u for u, n in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0])) if n][:TOP]
    per_day = [{r.end_user_id: count(r) for r in d.by_end_user} for d in days]
    series = [Series(user, color, tuple(counts.get(user, 0) for counts in per_day))
              for user, color in zip(busiest, PALETTE, strict=False)]
    others = tuple(sum(n for u, n in counts.items() if u not in busiest) for counts in per_day)
    if any(others):
        series.append(Series("other end users", OTHERS_COLOR, others))
    if metric == "runs":  # `used` counts every run: what no end user made, a secret key did
        keys = tuple(max(0, d.used - sum(r.runs for r in d.by_end_user)) for d in days)
        if any(keys):
            series.append(Series("secret keys", KEYS_COLOR, keys))
    return Chart(title, metric[:-1], tuple(d.date for d in days), tuple(series))


def _ceiling(peak: int) -> int:
    """The axis top: the first of 4, 8, 12, 20, 40, 80, 120, 200… that holds ``peak``
    (each divides by 4, so the four grid lines fall on whole numbers)."""
    scale = 1
    while True:
        for step in (4, 8, 12, 20):
            if step * scale >= peak:
                return step * scale
        scale *= 10


def svg(chart: Chart, chart_id: str) -> str:
    """The chart as an inline ``<svg>`` with a title and a description for screen readers."""
    n = len(chart.days)
    peak = max((chart.total(i) for i in range(n)), default=0)
    top = _ceiling(peak)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP_PAD - BOTTOM
    slot = plot_w / max(n, 1)
    bar = max(2.0, slot * 0.68)
    total = sum(chart.total(i) for i in range(n))
    out = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
           f'aria-labelledby="{chart_id}-title {chart_id}-desc">',
           f'<title id="{chart_id}-title">{escape(chart.title)}</title>',
           f'<desc id="{chart_id}-desc">{total} {chart.unit}s in {n} days; '
           f'the table beside the chart lists them by day.</desc>']
    for k in range(5):  # horizontal grid lines with their values
        value = top * k // 4
        y = TOP_PAD + plot_h - plot_h * k / 4
        out.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
                   f'y1="{y:.1f}" y2="{y:.1f}"/>')
        out.append(f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" '
                   f'text-anchor="end">{value}</text>')
    every = 1 if n <= 10 else 5
    for i, day in enumerate(chart.days):
        x = LEFT + slot * i + (slot - bar) / 2
        base: float = TOP_PAD + plot_h
        for s in chart.series:
            value = s.values[i]
            if not value:
                continue
            h = plot_h * value / top
            base -= h
            label = f"{day}: {s.label}, {value} {chart.unit}{'s' if value != 1 else ''}"
            out.append(f'<rect x="{x:.1f}" y="{base:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                       f'fill="{s.color}"><title>{escape(label)}</title></rect>')
        if (n - 1 - i) % every == 0:  # label the last day, and every 5th before it
            out.append(f'<text class="tick" x="{x + bar / 2:.1f}" y="{HEIGHT - 8}" '
                       f'text-anchor="middle">{day[5:]}</text>')
    out.append("</svg>")
    return "".join(out)
