"""What the dashboard reads beyond usage: recent runs, and live sessions per end user.

Read-only queries over the server's tables, through the store's locked
helpers. Preview links are the ``previewUrl`` each run's ``ready`` event
carried, as stored in its event log: the dashboard never builds one itself,
so it shows exactly what the client was given.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..store import Store

__all__ = ["LiveSessions", "RecentRun", "live_sessions", "recent_runs"]


@dataclass(frozen=True, slots=True)
class RecentRun:
    id: str
    end_user_id: str | None     # None: made with a secret key
    status: str                 # running, succeeded, failed, interrupted
    started_at: float
    finished_at: float | None
    files: int
    prompt: str
    preview_url: str | None     # from the run's ready event


@dataclass(frozen=True, slots=True)
class LiveSessions:
    end_user_id: str
    count: int
    last_expires_at: float
    scopes: tuple[str, ...]


def recent_runs(store: Store, workspace_id: str, end_user_id: str | None = None,
                limit: int = 15) -> list[RecentRun]:
    """Newest first; only ``end_user_id``'s when given."""
    where, args = "r.workspace_id = ?", [workspace_id]
    if end_user_id is not None:
        where += " AND r.end_user_id = ?"
        args.append(end_user_id)
    rows = store._all(
        "SELECT r.id, r.end_user_id, r.status, r.created_at, r.finished_at, a.prompt, "
        "(SELECT COUNT(*) FROM app_files f WHERE f.app_id = r.app_id), "
        "(SELECT json_extract(e.data, '$.previewUrl') FROM run_events e "
        " WHERE e.run_id = r.id AND e.type = 'ready' LIMIT 1) "
        f"FROM runs r JOIN apps a ON a.id = r.app_id WHERE {where} "
        "ORDER BY r.created_at DESC, r.rowid DESC LIMIT ?", [*args, limit])
    return [RecentRun(str(r[0]), None if r[1] is None else str(r[1]), str(r[2]), float(r[3]),
                      None if r[4] is None else float(r[4]), int(r[6]), str(r[5]),
                      None if r[7] is None else str(r[7])) for r in rows]


def live_sessions(store: Store, workspace_id: str, now: float) -> list[LiveSessions]:
    """End users with sessions that would be accepted now (as ``auth.authenticate`` rules)."""
    rows = store._all(
        "SELECT s.end_user_id, COUNT(*), MAX(s.expires_at), GROUP_CONCAT(s.scopes, ' ') "
        "FROM sessions s JOIN api_keys k ON k.id = s.key_id "
        "WHERE s.workspace_id = ? AND s.revoked_at IS NULL AND s.expires_at > ? "
        "AND k.revoked_at IS NULL GROUP BY s.end_user_id ORDER BY s.end_user_id",
        (workspace_id, now))
    order = ("read", "build", "deploy")
    return [LiveSessions(str(r[0]), int(r[1]), float(r[2]),
                         tuple(s for s in order if s in str(r[3]).split())) for r in rows]
