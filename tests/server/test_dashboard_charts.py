"""The dashboard's charts: who gets a colour, and bars that say their numbers."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from pf_server.dashboard.charts import KEYS_COLOR, OTHERS_COLOR, svg, usage_chart
from pf_server.store import UsageRow
from pf_server.usage import DayUsage


def day(date: str, used: int, **runs: int) -> DayUsage:
    """Each end user made that many runs, and twice as many calls plus one."""
    return DayUsage(date, 100, used,
                    tuple(UsageRow(u, 2 * n + 1, n) for u, n in sorted(runs.items())))


def test_the_five_busiest_end_users_get_colours_the_rest_and_key_runs_share_two() -> None:
    days = [day("2026-11-28", 10, a=1, b=2, c=3), day("2026-11-29", 14, d=4, e=5, f=1, g=1)]
    chart = usage_chart("Runs", days)
    labels = [s.label for s in chart.series]
    assert labels == ["e", "d", "c", "b", "a", "other end users", "secret keys"]
    others = chart.series[5]
    assert others.color == OTHERS_COLOR and others.values == (0, 2)
    keys = chart.series[6]
    assert keys.color == KEYS_COLOR and keys.values == (4, 3)  # used minus end users' runs
    assert [chart.total(i) for i in range(2)] == [10, 14]  # each bar is the day's `used`


def test_a_calls_chart_counts_each_end_users_calls_and_has_no_key_series() -> None:
    chart = usage_chart("Calls", [day("2026-11-28", 9, a=1, b=3), day("2026-11-29", 0, a=2)],
                        "calls")
    assert [(s.label, s.values) for s in chart.series] == [("a", (3, 5)), ("b", (7, 0))]
    assert chart.unit == "call"
    assert "2026-11-28: b, 7 calls" in svg(chart, "c")


def test_the_svg_is_well_formed_with_one_titled_bar_per_value() -> None:
    chart = usage_chart("Runs <7 days>", [day("2026-11-28", 3, ada=3), day("2026-11-29", 0),
                                          day("2026-11-30", 1, bob=1)])
    drawn = svg(chart, "c7")
    root = ET.fromstring(drawn)  # well-formed, the title escaped
    ns = "{http://www.w3.org/2000/svg}" if root.tag.startswith("{") else ""
    assert root.findtext(f"{ns}title") == "Runs <7 days>"
    bars = root.findall(f"{ns}rect")
    assert [b.findtext(f"{ns}title") for b in bars] == [
        "2026-11-28: ada, 3 runs", "2026-11-30: bob, 1 run"]
    heights = [float(b.get("height", "nan")) for b in bars]
    assert abs(heights[0] / heights[1] - 3) < 0.01
    assert re.findall(r">(11-\d\d)<", drawn) == ["11-28", "11-29", "11-30"]


def test_an_empty_chart_still_draws_its_axis() -> None:
    drawn = svg(usage_chart("Runs", [day("2026-11-29", 0)]), "c1")
    root = ET.fromstring(drawn)
    assert not [e for e in root.iter() if e.tag.endswith("rect")]
    assert "0 runs in 1 days" in drawn
