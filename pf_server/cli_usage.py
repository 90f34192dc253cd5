"""``promptfloe-server usage``: runs and calls per end user, in the terminal or as JSON.

::

    promptfloe-server usage [--date YYYY-MM-DD] [--days N] [--json] [--db FILE]
                            [--workspace ID]

The days that end with ``--date`` (default: today, UTC). The numbers come from
:mod:`pf_server.usage`, as ``GET /v1/usage`` and the dashboard's do; each
entry of the JSON's ``days`` is exactly what ``GET /v1/usage`` answers for
that day.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .clock import SystemClock, day_of
from .store import Store, UsageRow
from .usage import DayUsage, Totals, parse_day, totals, usage_days

__all__ = ["add_parser", "run"]

MAX_DAYS = 366


def add_parser(sub: Any, default_db: Path, formatter_class: Any) -> None:
    """The ``usage`` subcommand, on the CLI's subparsers."""
    usage = sub.add_parser("usage", help="runs and calls per end user, as a table or JSON",
                           formatter_class=formatter_class,
                           description="Runs and calls per end user, as GET /v1/usage and "
                                       "the dashboard count them.")
    usage.add_argument("--db", default=str(default_db), help="SQLite file of the server")
    usage.add_argument("--date", default=argparse.SUPPRESS, metavar="YYYY-MM-DD",
                       help="the (last) day, UTC (default: today)")
    usage.add_argument("--days", type=int, default=1, metavar="N",
                       help=f"that many days ending with --date, 1 to {MAX_DAYS}")
    usage.add_argument("--json", action="store_true", help="JSON for scripts")
    usage.add_argument("--workspace", default=argparse.SUPPRESS, metavar="ID",
                       help="the workspace (default: the server's first)")


def _fail(message: str) -> int:
    print(f"promptfloe-server usage: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    asked = getattr(args, "date", None)
    workspace_id = getattr(args, "workspace", None)
    day = day_of(SystemClock().now()) if asked is None else parse_day(asked)
    if day is None:
        return _fail(f"--date must be a day as YYYY-MM-DD, not {asked!r}")
    if not 1 <= args.days <= MAX_DAYS:
        return _fail(f"--days must be from 1 to {MAX_DAYS}")
    if args.db != ":memory:" and not Path(args.db).is_file():
        return _fail(f"no database at {args.db}; start the server first, or pass --db")
    store = Store(args.db, read_only=True)
    try:
        found = store.workspaces()
        ws = next((w for w in found if w.id == workspace_id), None) if workspace_id \
            else (found[0] if found else None)
        if ws is None:
            return _fail(f"no workspace {workspace_id}" if workspace_id
                         else "the database has no workspace yet")
        days = usage_days(store, ws, day, args.days)
    finally:
        store.close()
    summed = totals(days)
    if args.json:
        print(json.dumps(_json(ws.id, days, summed), indent=2))
    else:
        print(_table(ws.id, days, summed))
    return 0


def _rows(rows: tuple[UsageRow, ...]) -> list[dict[str, Any]]:
    return [{"endUserId": r.end_user_id, "runs": r.runs, "calls": r.calls} for r in rows]


def _json(workspace_id: str, days: list[DayUsage], summed: Totals) -> dict[str, Any]:
    return {"workspace": workspace_id, "from": days[0].date, "to": days[-1].date,
            "quota": days[-1].quota, "used": summed.used, "byEndUser": _rows(summed.by_end_user),
            "days": [d.to_json() for d in days]}


def _table(workspace_id: str, days: list[DayUsage], summed: Totals) -> str:
    first, last, quota = days[0].date, days[-1].date, days[-1].quota
    span = f"on {last}" if len(days) == 1 else f"from {first} to {last} ({len(days)} days)"
    lines = [f"Usage of workspace {workspace_id} {span}, UTC",
             f"Runs: {summed.used} (daily quota: {quota} runs)"
             if len(days) > 1 else f"Runs: {summed.used} of {quota} (the day's quota)", ""]
    if len(days) > 1:
        lines += [f"{'day':<12}{'runs':>8}{'calls':>8}"]
        lines += [f"{d.date:<12}{d.used:>8}{sum(r.calls for r in d.by_end_user):>8}"
                  for d in days]
        lines.append("")
    if not summed.by_end_user:
        lines.append("No end user made calls with a session token.")
        return "\n".join(lines)
    width = max(len("end user"), *(len(r.end_user_id) for r in summed.by_end_user))
    lines.append(f"{'end user':<{width}}  {'runs':>6}  {'calls':>6}")
    lines += [f"{r.end_user_id:<{width}}  {r.runs:>6}  {r.calls:>6}" for r in summed.by_end_user]
    key_runs = summed.used - sum(r.runs for r in summed.by_end_user)
    if key_runs > 0:
        lines.append(f"{'(secret keys)':<{width}}  {key_runs:>6}  {'':>6}")
    return "\n".join(lines)
