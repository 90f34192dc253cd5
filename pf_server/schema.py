"""The database schema, as numbered migrations.

``schema_migrations`` records which have run; :func:`migrate` applies the rest
in order, each in its own transaction, so a database file survives upgrades.
Add a migration at the end; never edit one that has shipped.
"""

from __future__ import annotations

import sqlite3

__all__ = ["MIGRATIONS", "migrate"]

MIGRATIONS: tuple[str, ...] = (
    # 1: workspaces, their keys and sessions (hashes only), apps, runs, usage.
    """
    CREATE TABLE workspaces (
        id TEXT PRIMARY KEY,
        daily_quota INTEGER NOT NULL,
        allowed_origins TEXT NOT NULL DEFAULT '[]',   -- JSON list of origins
        created_at REAL NOT NULL
    );
    CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        workspace_id TEXT NOT NULL REFERENCES workspaces(id),
        secret_hash TEXT NOT NULL UNIQUE,             -- sha256 of the key
        scopes TEXT NOT NULL,                         -- space-separated
        created_at REAL NOT NULL,
        revoked_at REAL
    );
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        workspace_id TEXT NOT NULL REFERENCES workspaces(id),
        key_id TEXT NOT NULL REFERENCES api_keys(id),
        token_hash TEXT NOT NULL UNIQUE,              -- sha256 of the token
        end_user_id TEXT NOT NULL,
        scopes TEXT NOT NULL,
        created_at REAL NOT NULL,
        expires_at REAL NOT NULL,
        revoked_at REAL
    );
    CREATE INDEX sessions_by_end_user ON sessions(workspace_id, end_user_id);
    CREATE TABLE apps (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,        -- listing order and cursor
        id TEXT NOT NULL UNIQUE,
        workspace_id TEXT NOT NULL REFERENCES workspaces(id),
        end_user_id TEXT,
        prompt TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at REAL NOT NULL,
        deployed_url TEXT,
        deployed_at REAL
    );
    CREATE INDEX apps_by_owner ON apps(workspace_id, end_user_id, seq);
    CREATE TABLE app_files (
        app_id TEXT NOT NULL REFERENCES apps(id),
        path TEXT NOT NULL,
        position INTEGER NOT NULL,
        content BLOB NOT NULL,
        PRIMARY KEY (app_id, path)
    );
    CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        app_id TEXT NOT NULL REFERENCES apps(id),
        workspace_id TEXT NOT NULL REFERENCES workspaces(id),
        end_user_id TEXT,
        status TEXT NOT NULL,
        created_at REAL NOT NULL,
        finished_at REAL
    );
    CREATE TABLE run_events (
        run_id TEXT NOT NULL REFERENCES runs(id),
        seq INTEGER NOT NULL,
        type TEXT NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (run_id, seq)
    ) WITHOUT ROWID;
    CREATE TABLE quota_days (
        workspace_id TEXT NOT NULL REFERENCES workspaces(id),
        day TEXT NOT NULL,
        used INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (workspace_id, day)
    ) WITHOUT ROWID;
    CREATE TABLE usage_by_end_user (
        workspace_id TEXT NOT NULL REFERENCES workspaces(id),
        day TEXT NOT NULL,
        end_user_id TEXT NOT NULL,                    -- '' for calls made with a key
        calls INTEGER NOT NULL DEFAULT 0,
        runs INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (workspace_id, day, end_user_id)
    ) WITHOUT ROWID;
    """,
    # 2: the dashboard's sign-in sessions (a hash of the cookie's token, never the key).
    """
    CREATE TABLE dashboard_sessions (
        id TEXT PRIMARY KEY,
        token_hash TEXT NOT NULL UNIQUE,              -- sha256 of the cookie's token
        workspace_id TEXT NOT NULL REFERENCES workspaces(id),
        key_id TEXT NOT NULL REFERENCES api_keys(id), -- the key that signed in
        created_at REAL NOT NULL,
        expires_at REAL NOT NULL,
        ended_at REAL,                                -- signed out
        notice TEXT                                   -- shown once, on the next page
    );
    CREATE INDEX runs_by_workspace ON runs(workspace_id, created_at);
    """,
    # 3: several servers on one database (each owns its runs; a dead one's runs
    # are interrupted and refunded), and idempotent generate calls.
    """
    ALTER TABLE runs ADD COLUMN server_id TEXT;       -- the server driving it
    ALTER TABLE runs ADD COLUMN quota_day TEXT;       -- the day its quota was spent
    CREATE INDEX runs_by_status ON runs(status, server_id);
    CREATE TABLE servers (
        id TEXT PRIMARY KEY,
        pid INTEGER NOT NULL,
        host TEXT NOT NULL,                           -- socket.gethostname()
        started_at REAL NOT NULL,
        seen_at REAL NOT NULL                         -- its last heartbeat (wall clock)
    );
    CREATE TABLE idempotency_keys (
        owner TEXT NOT NULL,                          -- key:<id> or user:<workspace>:<end user>
        key TEXT NOT NULL,
        body_hash TEXT NOT NULL,
        run_id TEXT NOT NULL REFERENCES runs(id),
        created_at REAL NOT NULL,
        PRIMARY KEY (owner, key)
    ) WITHOUT ROWID;
    CREATE INDEX idempotency_keys_by_age ON idempotency_keys(created_at);
    """,
)


def migrate(db: sqlite3.Connection) -> int:
    """Apply the migrations this database lacks; return its schema version."""
    db.execute("CREATE TABLE IF NOT EXISTS schema_migrations ("
               "version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
    done = {row[0] for row in db.execute("SELECT version FROM schema_migrations")}
    for version, script in enumerate(MIGRATIONS, start=1):
        if version in done:
            continue
        # executescript commits first; the BEGIN makes the migration all-or-nothing.
        db.executescript(
            f"BEGIN IMMEDIATE;\n{script}\n"
            f"INSERT INTO schema_migrations VALUES ({version}, datetime('now'));\nCOMMIT;")
    return len(MIGRATIONS)
