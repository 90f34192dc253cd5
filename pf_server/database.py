"""Opening the SQLite file: for writing (the server), or for reading what is there.

The server needs to write from its first request on, so it checks at start:
a file or folder it may not write, or cannot open, is a :class:`StoreError`
whose message is one line saying which and what to do (the CLI prints it;
no traceback). Commands that only read (``keys list``, ``usage``) fall back
to reading a database they may not write, without any write: SQLite's
read-only mode, or, when even its WAL index cannot be made (a read-only
folder), ``immutable`` (the file as it is on disk).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from .schema import MIGRATIONS, migrate

__all__ = ["StoreError", "open_database"]


class StoreError(Exception):
    """The database cannot be opened as asked; the message says why, in one line."""


def open_database(path: str, *, read_only: bool = False) -> sqlite3.Connection:
    if path == ":memory:":
        return _prepared(sqlite3.connect(path, check_same_thread=False, isolation_level=None),
                         wal=False)
    try:
        return _writable(path)
    except StoreError:
        if not read_only or not Path(path).is_file():
            raise
    for query in ("mode=ro", "immutable=1"):
        try:
            db = sqlite3.connect(f"{Path(path).absolute().as_uri()}?{query}", uri=True,
                                 check_same_thread=False, isolation_level=None)
            version = db.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0]
        except sqlite3.Error:
            continue
        if version != len(MIGRATIONS):
            db.close()
            raise StoreError(f"the database {path} is read-only and its schema is older "
                             "than this version's: start promptfloe-server serve on a "
                             "writable copy once to upgrade it")
        db.execute("PRAGMA busy_timeout=5000")
        return db
    raise StoreError(f"cannot read the database {path}: check that it is a PromptFloe "
                     "database and that this user may read it")


def _writable(path: str) -> sqlite3.Connection:
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create the folder of the database {path} "
                         f"({exc.strerror or exc}): pass another --db") from None
    try:
        db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        _prepared(db, wal=True)
        _probe_write(db)
    except sqlite3.Error as exc:
        raise StoreError(_why(path, exc)) from None
    return db


def _prepared(db: sqlite3.Connection, *, wal: bool) -> sqlite3.Connection:
    if wal:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")  # WAL: durable at checkpoint
    db.execute("PRAGMA busy_timeout=5000")
    db.execute("PRAGMA foreign_keys=ON")
    migrate(db)
    return db


def _probe_write(db: sqlite3.Connection) -> None:
    """Fail now, not at the first request, if SQLite may not write the file."""
    db.execute("BEGIN IMMEDIATE")
    try:
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
        db.execute(f"PRAGMA user_version = {version}")  # a write that changes nothing
    finally:
        db.execute("ROLLBACK")


def _why(path: str, exc: sqlite3.Error) -> str:
    name = getattr(exc, "sqlite_errorname", "")
    if name.startswith("SQLITE_READONLY") or "readonly" in str(exc):
        return (f"the database {path} is read-only: make it and its folder writable by "
                "this user, or pass another --db")
    if name.startswith("SQLITE_CANTOPEN") or "unable to open" in str(exc):
        return (f"cannot open the database {path}: check that its folder exists and that "
                "this user may write the file and the folder, or pass another --db")
    if name.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT")):
        return f"{path} is not a usable SQLite database: pass another --db"
    return f"cannot use the database {path} ({exc}): pass another --db"
