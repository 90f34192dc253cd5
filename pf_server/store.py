"""SQLite storage: workspaces, keys, sessions, apps, runs, events, usage.

One connection, guarded by a lock: the server's event loop and a test's
thread may both use it, and every method is a short statement or a short
transaction, so the lock is never held across an ``await``. File databases
use WAL, so ``promptfloe-server keys …`` can work beside a running server.
Credentials are stored only as hashes (:mod:`credentials`).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .credentials import hash_credential, hashes_match, new_id, new_key, new_session_token
from .database import StoreError, open_database

__all__ = ["AppRecord", "Idempotency", "KeyRecord", "RunRecord", "RunStart", "ServerRecord",
           "SessionRecord", "Store", "StoreError", "UsageRow", "Workspace"]


@dataclass(frozen=True, slots=True)
class Workspace:
    id: str
    daily_quota: int
    allowed_origins: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class KeyRecord:
    id: str
    workspace_id: str
    scopes: tuple[str, ...]
    created_at: float
    revoked_at: float | None


@dataclass(frozen=True, slots=True)
class SessionRecord:
    id: str
    workspace_id: str
    key_id: str
    end_user_id: str
    scopes: tuple[str, ...]
    expires_at: float
    revoked_at: float | None


@dataclass(frozen=True, slots=True)
class AppRecord:
    seq: int
    id: str
    workspace_id: str
    end_user_id: str | None
    prompt: str
    status: str
    created_at: float
    deployed_url: str | None
    deployed_at: float | None


@dataclass(frozen=True, slots=True)
class RunRecord:
    id: str
    app_id: str
    workspace_id: str
    end_user_id: str | None
    status: str


@dataclass(frozen=True, slots=True)
class Idempotency:
    """An ``Idempotency-Key`` as stored: whose, the key, and a hash of the body it came with."""

    owner: str
    key: str
    body_hash: str


@dataclass(frozen=True, slots=True)
class RunStart:
    """What :meth:`Store.start_run` did: started ``run`` (``replayed``: the run an
    idempotency key made before), or nothing (``conflict``, or over quota)."""

    app: AppRecord | None = None
    run: RunRecord | None = None
    replayed: bool = False
    conflict: bool = False
    used: int = 0


@dataclass(frozen=True, slots=True)
class ServerRecord:
    id: str
    pid: int
    host: str
    seen_at: float


@dataclass(frozen=True, slots=True)
class UsageRow:
    end_user_id: str
    calls: int
    runs: int


def _scopes(text: str) -> tuple[str, ...]:
    return tuple(text.split())


class Store:
    """``read_only``: a command that only reads may open a database it cannot
    write (database.py); otherwise an unwritable one is a :class:`StoreError`."""

    def __init__(self, path: str | Path = ":memory:", *, read_only: bool = False) -> None:
        # Autocommit (isolation_level=None); transactions are explicit (BEGIN IMMEDIATE).
        self._db = open_database(str(path), read_only=read_only)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that takes the database's write lock up front."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # Rows are ``Any``: sqlite3 is untyped; each reader below converts its columns.
    def _one(self, sql: str, args: Sequence[object] = ()) -> Any:
        with self._lock:
            return self._db.execute(sql, args).fetchone()

    def _all(self, sql: str, args: Sequence[object] = ()) -> list[Any]:
        with self._lock:
            return list(self._db.execute(sql, args).fetchall())

    def _run(self, sql: str, args: Sequence[object] = ()) -> int:
        with self._lock:
            return self._db.execute(sql, args).rowcount

    # -- workspaces ----------------------------------------------------------------

    def create_workspace(self, daily_quota: int, origins: Sequence[str], now: float) -> Workspace:
        ws = Workspace(new_id("ws"), daily_quota, tuple(origins))
        self._run("INSERT INTO workspaces VALUES (?, ?, ?, ?)",
                  (ws.id, daily_quota, json.dumps(list(origins)), now))
        return ws

    def workspace(self, workspace_id: str) -> Workspace | None:
        row = self._one("SELECT id, daily_quota, allowed_origins FROM workspaces WHERE id = ?",
                        (workspace_id,))
        return None if row is None else _workspace(row)

    def workspaces(self) -> list[Workspace]:
        rows = self._all("SELECT id, daily_quota, allowed_origins FROM workspaces "
                         "ORDER BY created_at, id")
        return [_workspace(r) for r in rows]

    def update_workspace(self, workspace_id: str, *, origins: Sequence[str] | None = None,
                         daily_quota: int | None = None) -> None:
        if origins is not None:
            self._run("UPDATE workspaces SET allowed_origins = ? WHERE id = ?",
                      (json.dumps(list(origins)), workspace_id))
        if daily_quota is not None:
            self._run("UPDATE workspaces SET daily_quota = ? WHERE id = ?",
                      (daily_quota, workspace_id))

    # -- keys ----------------------------------------------------------------------

    def create_key(self, workspace_id: str, scopes: Sequence[str],
                   now: float) -> tuple[KeyRecord, str]:
        """A new secret key; the secret is returned once and stored only as a hash."""
        secret = new_key()
        key = KeyRecord(new_id("key"), workspace_id, tuple(scopes), now, None)
        self._run("INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, NULL)",
                  (key.id, workspace_id, hash_credential(secret), " ".join(scopes), now))
        return key, secret

    def keys(self) -> list[KeyRecord]:
        rows = self._all("SELECT id, workspace_id, scopes, created_at, revoked_at FROM api_keys "
                         "ORDER BY created_at, id")
        return [KeyRecord(str(r[0]), str(r[1]), _scopes(str(r[2])), float(r[3]),
                          None if r[4] is None else float(r[4])) for r in rows]

    def key_by_secret(self, secret: str) -> KeyRecord | None:
        digest = hash_credential(secret)
        row = self._one("SELECT id, workspace_id, scopes, created_at, revoked_at, secret_hash "
                        "FROM api_keys WHERE secret_hash = ?", (digest,))
        if row is None or not hashes_match(str(row[5]), digest):
            return None
        return KeyRecord(str(row[0]), str(row[1]), _scopes(str(row[2])), float(row[3]),
                         None if row[4] is None else float(row[4]))

    def revoke_key(self, key_id: str, now: float) -> bool:
        return self._run("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                         (now, key_id)) == 1

    # -- sessions ------------------------------------------------------------------

    def create_session(self, workspace_id: str, key_id: str, end_user_id: str,
                       scopes: Sequence[str], now: float,
                       expires_at: float) -> tuple[SessionRecord, str]:
        token = new_session_token()
        sess = SessionRecord(new_id("sess"), workspace_id, key_id, end_user_id,
                             tuple(scopes), expires_at, None)
        self._run("INSERT INTO sessions VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                  (sess.id, sess.workspace_id, key_id, hash_credential(token), end_user_id,
                   " ".join(scopes), now, expires_at))
        return sess, token

    def session_by_token(self, token: str) -> tuple[SessionRecord, KeyRecord] | None:
        """The session and the key that minted it (a revoked key ends its sessions)."""
        digest = hash_credential(token)
        row = self._one(
            "SELECT s.id, s.workspace_id, s.key_id, s.end_user_id, s.scopes, s.expires_at, "
            "s.revoked_at, s.token_hash, k.scopes, k.created_at, k.revoked_at "
            "FROM sessions s JOIN api_keys k ON k.id = s.key_id WHERE s.token_hash = ?",
            (digest,))
        if row is None or not hashes_match(str(row[7]), digest):
            return None
        r = row
        sess = SessionRecord(str(r[0]), str(r[1]), str(r[2]), str(r[3]), _scopes(str(r[4])),
                             float(r[5]), None if r[6] is None else float(r[6]))
        key = KeyRecord(str(r[2]), str(r[1]), _scopes(str(r[8])), float(r[9]),
                        None if r[10] is None else float(r[10]))
        return sess, key

    def revoke_session(self, workspace_id: str, session_id: str, now: float) -> bool | None:
        """True if revoked now, False if it already was, None if no such session here."""
        row = self._one("SELECT revoked_at FROM sessions WHERE id = ? AND workspace_id = ?",
                        (session_id, workspace_id))
        if row is None:
            return None
        return self._run("UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                         (now, session_id)) == 1

    def revoke_end_user(self, workspace_id: str, end_user_id: str, now: float) -> int:
        """Revoke every live session of one end user; how many were live."""
        return self._run(
            "UPDATE sessions SET revoked_at = ? WHERE workspace_id = ? AND end_user_id = ? "
            "AND revoked_at IS NULL AND expires_at > ?", (now, workspace_id, end_user_id, now))

    # -- apps and runs -------------------------------------------------------------

    def start_run(self, workspace_id: str, end_user_id: str | None, prompt: str, *,
                  now: float, day: str, quota: int, server_id: str | None,
                  idempotency: Idempotency | None = None,
                  idempotency_ttl: float = 24 * 3600) -> RunStart:
        """Spend one run of the day's quota and create the app and its run, in one
        transaction; or find the run an earlier call with the same idempotency
        key made (no quota spent), or refuse a key reused with another body."""
        app_id, run_id = new_id("app"), new_id("run")
        with self._tx() as db:
            if idempotency is not None:
                db.execute("DELETE FROM idempotency_keys WHERE created_at <= ?",
                           (now - idempotency_ttl,))
                row = db.execute("SELECT body_hash, run_id FROM idempotency_keys "
                                 "WHERE owner = ? AND key = ?",
                                 (idempotency.owner, idempotency.key)).fetchone()
                if row is not None:
                    if not hashes_match(str(row[0]), idempotency.body_hash):
                        return RunStart(conflict=True)
                    found = _run_record(db.execute(f"SELECT {_RUN_COLUMNS} FROM runs WHERE id = ?",
                                                   (str(row[1]),)).fetchone())
                    return RunStart(run=found, replayed=True)
            granted, used = _spend(db, workspace_id, day, quota, end_user_id)
            if not granted:
                return RunStart(used=used)
            cur = db.execute("INSERT INTO apps (id, workspace_id, end_user_id, prompt, status, "
                             "created_at) VALUES (?, ?, ?, ?, 'generating', ?)",
                             (app_id, workspace_id, end_user_id, prompt, now))
            db.execute("INSERT INTO runs (id, app_id, workspace_id, end_user_id, status, "
                       "created_at, server_id, quota_day) VALUES (?, ?, ?, ?, 'running', ?, ?, ?)",
                       (run_id, app_id, workspace_id, end_user_id, now, server_id, day))
            if idempotency is not None:
                db.execute("INSERT INTO idempotency_keys VALUES (?, ?, ?, ?, ?)",
                           (idempotency.owner, idempotency.key, idempotency.body_hash, run_id,
                            now))
        app = AppRecord(int(cur.lastrowid or 0), app_id, workspace_id, end_user_id, prompt,
                        "generating", now, None, None)
        return RunStart(app, RunRecord(run_id, app_id, workspace_id, end_user_id, "running"),
                        used=used)

    def app(self, app_id: str) -> AppRecord | None:
        row = self._one(f"SELECT {_APP_COLUMNS} FROM apps WHERE id = ?", (app_id,))
        return None if row is None else _app(row)

    def apps(self, workspace_id: str, end_user_id: str | None, *, before_seq: int | None,
             limit: int) -> list[AppRecord]:
        """Newest first; only ``end_user_id``'s apps when given (a session's view)."""
        sql = f"SELECT {_APP_COLUMNS} FROM apps WHERE workspace_id = ?"
        args: list[object] = [workspace_id]
        if end_user_id is not None:
            sql += " AND end_user_id = ?"
            args.append(end_user_id)
        if before_seq is not None:
            sql += " AND seq < ?"
            args.append(before_seq)
        rows = self._all(sql + " ORDER BY seq DESC LIMIT ?", [*args, limit])
        return [_app(r) for r in rows]

    def add_file(self, app_id: str, path: str, content: bytes) -> None:
        self._run("INSERT OR REPLACE INTO app_files VALUES (?, ?, "
                  "(SELECT COUNT(*) FROM app_files WHERE app_id = ?), ?)",
                  (app_id, path, app_id, content))

    def files(self, app_id: str) -> list[tuple[str, int]]:
        rows = self._all("SELECT path, length(content) FROM app_files WHERE app_id = ? "
                         "ORDER BY position", (app_id,))
        return [(str(r[0]), int(r[1])) for r in rows]

    def file_content(self, app_id: str, path: str) -> bytes | None:
        row = self._one("SELECT content FROM app_files WHERE app_id = ? AND path = ?",
                        (app_id, path))
        return None if row is None else bytes(row[0])

    def deploy(self, app_id: str, url: str, now: float) -> None:
        self._run("UPDATE apps SET deployed_url = ?, deployed_at = ? WHERE id = ?",
                  (url, now, app_id))

    def run(self, run_id: str) -> RunRecord | None:
        row = self._one(f"SELECT {_RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,))
        return None if row is None else _run_record(row)

    def add_event(self, run_id: str, seq: int, type_: str, data: str,
                  server_id: str | None = None) -> bool:
        """Log an event; with ``server_id``, only while that server still owns the
        run (False: it was interrupted meanwhile, and the event is not logged)."""
        if server_id is None:
            return self._run("INSERT INTO run_events VALUES (?, ?, ?, ?)",
                             (run_id, seq, type_, data)) == 1
        return self._run("INSERT INTO run_events SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 "
                         "FROM runs WHERE id = ? AND status = 'running' AND server_id = ?)",
                         (run_id, seq, type_, data, run_id, server_id)) == 1

    def events_after(self, run_id: str, seq: int) -> list[tuple[int, str, str]]:
        rows = self._all("SELECT seq, type, data FROM run_events WHERE run_id = ? AND seq > ? "
                         "ORDER BY seq", (run_id, seq))
        return [(int(r[0]), str(r[1]), str(r[2])) for r in rows]

    def finish_run(self, run: RunRecord, status: str, now: float,
                   server_id: str | None = None) -> None:
        """End a run and set its app's status (``ready`` or ``failed``) together,
        unless (with ``server_id``) that server no longer owns it."""
        owner = "" if server_id is None else " AND server_id = ?"
        with self._tx() as db:
            if db.execute(f"UPDATE runs SET status = ?, finished_at = ? WHERE id = ? "
                          f"AND status = 'running'{owner}",
                          ("succeeded" if status == "ready" else "failed", now, run.id,
                           *([] if server_id is None else [server_id]))).rowcount:
                db.execute("UPDATE apps SET status = ? WHERE id = ?", (status, run.app_id))

    def interrupt_run(self, run_id: str, message: str, now: float,
                      server_id: str | None = None) -> bool:
        """End a run that cannot go on with an ``error`` event ``run_interrupted``,
        and give its run back to the day's quota (docs/api.md: not counted in ``used``)."""
        with self._tx() as db:
            return _interrupt(db, run_id, message, now, server_id)

    # -- servers sharing the database --------------------------------------------------

    def register_server(self, server: ServerRecord, now: float) -> None:
        self._run("INSERT INTO servers VALUES (?, ?, ?, ?, ?)",
                  (server.id, server.pid, server.host, now, server.seen_at))

    def heartbeat(self, server_id: str, now: float) -> bool:
        """False if the server's row is gone (others took it for dead)."""
        return self._run("UPDATE servers SET seen_at = ? WHERE id = ?", (now, server_id)) == 1

    def unregister_server(self, server_id: str) -> None:
        self._run("DELETE FROM servers WHERE id = ?", (server_id,))

    def reap(self, is_dead: Callable[[ServerRecord], bool], message: str,
             now: float) -> list[str]:
        """Interrupt every running run whose server is dead (per ``is_dead``) or
        gone, and forget dead servers; the ids of the runs interrupted. One
        transaction: a server that registers meanwhile waits, so its runs are
        never mistaken for orphans."""
        with self._tx() as db:
            servers = [ServerRecord(str(r[0]), int(r[1]), str(r[2]), float(r[3])) for r in
                       db.execute("SELECT id, pid, host, seen_at FROM servers")]
            dead = [srv.id for srv in servers if is_dead(srv)]
            alive = {srv.id for srv in servers} - set(dead)
            orphans = [str(r[0]) for r in db.execute(
                "SELECT id, server_id FROM runs WHERE status = 'running'")
                if r[1] is None or str(r[1]) not in alive]
            for run_id in orphans:
                _interrupt(db, run_id, message, now, None)
            db.executemany("DELETE FROM servers WHERE id = ?", [(i,) for i in dead])
        return orphans

    # -- quota and usage -----------------------------------------------------------

    def spend_run(self, workspace_id: str, day: str, quota: int,
                  end_user_id: str | None) -> tuple[bool, int]:
        """Take one run from the day's quota, atomically: (granted, used after)."""
        with self._tx() as db:
            return _spend(db, workspace_id, day, quota, end_user_id)

    def record_call(self, workspace_id: str, day: str, end_user_id: str | None) -> None:
        with self._tx() as db:
            _count(db, workspace_id, day, end_user_id, "calls")

    def usage(self, workspace_id: str, day: str) -> tuple[int, list[UsageRow]]:
        used, rows = self.usage_between(workspace_id, day, day)
        return used.get(day, 0), rows.get(day, [])

    def usage_between(self, workspace_id: str, first_day: str, last_day: str
                      ) -> tuple[dict[str, int], dict[str, list[UsageRow]]]:
        """Each day's quota used and its end users' rows, from ``first_day`` to
        ``last_day`` (inclusive); days without usage are left out of both."""
        span = (workspace_id, first_day, last_day)
        used = self._all("SELECT day, used FROM quota_days WHERE workspace_id = ? "
                         "AND day BETWEEN ? AND ?", span)
        rows = self._all("SELECT day, end_user_id, calls, runs FROM usage_by_end_user "
                         "WHERE workspace_id = ? AND day BETWEEN ? AND ? AND end_user_id != '' "
                         "ORDER BY day, end_user_id", span)
        by_day: dict[str, list[UsageRow]] = {}
        for r in rows:
            by_day.setdefault(str(r[0]), []).append(UsageRow(str(r[1]), int(r[2]), int(r[3])))
        return {str(r[0]): int(r[1]) for r in used}, by_day


_APP_COLUMNS = ("seq, id, workspace_id, end_user_id, prompt, status, created_at, deployed_url, "
                "deployed_at")


_RUN_COLUMNS = "id, app_id, workspace_id, end_user_id, status"


def _run_record(row: Any) -> RunRecord:
    return RunRecord(str(row[0]), str(row[1]), str(row[2]),
                     None if row[3] is None else str(row[3]), str(row[4]))


def _spend(db: sqlite3.Connection, workspace_id: str, day: str, quota: int,
           end_user_id: str | None) -> tuple[bool, int]:
    db.execute("INSERT OR IGNORE INTO quota_days VALUES (?, ?, 0)", (workspace_id, day))
    # The guard is in the UPDATE itself, so no interleaving can spend past quota.
    granted = db.execute(
        "UPDATE quota_days SET used = used + 1 WHERE workspace_id = ? AND day = ? AND used < ?",
        (workspace_id, day, quota)).rowcount == 1
    used = int(db.execute("SELECT used FROM quota_days WHERE workspace_id = ? AND day = ?",
                          (workspace_id, day)).fetchone()[0])
    if granted:
        _count(db, workspace_id, day, end_user_id, "runs")
    return granted, used


def _interrupt(db: sqlite3.Connection, run_id: str, message: str, now: float,
               server_id: str | None) -> bool:
    owner = "" if server_id is None else " AND server_id = ?"
    row = db.execute(f"SELECT app_id, workspace_id, end_user_id, "
                     f"COALESCE(quota_day, date(created_at, 'unixepoch')) FROM runs "
                     f"WHERE id = ? AND status = 'running'{owner}",
                     (run_id, *([] if server_id is None else [server_id]))).fetchone()
    if row is None:
        return False  # finished, or another server's
    app_id, workspace_id, end_user_id, day = (str(row[0]), str(row[1]), row[2], str(row[3]))
    seq = int(db.execute("SELECT COALESCE(MAX(seq), 0) FROM run_events WHERE run_id = ?",
                         (run_id,)).fetchone()[0])
    db.execute("INSERT INTO run_events VALUES (?, ?, 'error', ?)", (run_id, seq + 1, json.dumps(
        {"code": "run_interrupted", "message": message})))
    db.execute("UPDATE runs SET status = 'interrupted', finished_at = ? WHERE id = ?",
               (now, run_id))
    db.execute("UPDATE apps SET status = 'failed' WHERE id = ?", (app_id,))
    # The run never finished: it does not count against the day's quota.
    db.execute("UPDATE quota_days SET used = used - 1 WHERE workspace_id = ? AND day = ? "
               "AND used > 0", (workspace_id, day))
    db.execute("UPDATE usage_by_end_user SET runs = runs - 1 WHERE workspace_id = ? "
               "AND day = ? AND end_user_id = ? AND runs > 0",
               (workspace_id, day, end_user_id or ""))
    return True


def _count(db: sqlite3.Connection, workspace_id: str, day: str, end_user_id: str | None,
           column: str) -> None:
    assert column in ("calls", "runs")
    db.execute("INSERT OR IGNORE INTO usage_by_end_user VALUES (?, ?, ?, 0, 0)",
               (workspace_id, day, end_user_id or ""))
    db.execute(f"UPDATE usage_by_end_user SET {column} = {column} + 1 "
               "WHERE workspace_id = ? AND day = ? AND end_user_id = ?",
               (workspace_id, day, end_user_id or ""))


def _workspace(row: Any) -> Workspace:
    return Workspace(str(row[0]), int(row[1]), tuple(json.loads(str(row[2]))))


def _app(r: Any) -> AppRecord:
    return AppRecord(int(r[0]), str(r[1]), str(r[2]),
                     None if r[3] is None else str(r[3]), str(r[4]), str(r[5]),
                     float(r[6]), None if r[7] is None else str(r[7]),
                     None if r[8] is None else float(r[8]))
