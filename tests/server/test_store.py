"""Storage: migrations, a file that survives restarts, hashes only, interrupted runs."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import httpx
from helpers import bearer, generate, session

from pf_server.schema import MIGRATIONS
from pf_server.store import Store
from pf_server.testing import LiveServer


def test_migrations_run_once_and_are_recorded(tmp_path: Path) -> None:
    db = tmp_path / "pf.db"
    Store(db).close()
    Store(db).close()  # a second open applies nothing again
    rows = sqlite3.connect(db).execute("SELECT version FROM schema_migrations").fetchall()
    assert rows == [(v,) for v in range(1, len(MIGRATIONS) + 1)]
    assert sqlite3.connect(db).execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_a_file_database_keeps_keys_sessions_and_apps_across_restarts(tmp_path: Path) -> None:
    db = str(tmp_path / "pf.db")
    with LiveServer(db=db) as first:
        key = first.api_key
        token = session(first, "keeper")["token"]
        app_id = generate(first, token)[1][0][2]["appId"]
    with LiveServer(db=db) as second:  # a new process would open the same file
        answer = httpx.get(f"{second.base_url}/v1/apps/{app_id}", headers=bearer(token))
        assert answer.status_code == 200 and answer.json()["status"] == "ready"
        assert httpx.get(f"{second.base_url}/v1/apps", headers=bearer(key)).status_code == 200
        preview = httpx.get(f"{second.base_url}/v1/apps/{app_id}", headers=bearer(key))
        assert second.fetch_preview(preview.json()["previewUrl"]).status_code == 200


def test_only_hashes_of_keys_and_tokens_are_stored(tmp_path: Path) -> None:
    db = tmp_path / "pf.db"
    with LiveServer(db=str(db)) as server:
        secrets = [server.api_key, session(server)["token"], server.create_key(["read"])]
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())  # the db, its WAL and shm
    for secret in secrets:
        assert secret.encode() not in raw
        assert secret[8:].encode() not in raw


def test_a_run_whose_server_is_gone_ends_with_an_error_event_a_failed_app_and_a_refund(
        tmp_path: Path) -> None:
    db = str(tmp_path / "pf.db")
    store = Store(db)
    ws = store.create_workspace(10, [], 0.0)
    started = store.start_run(ws.id, "u", "a bakery", now=0.0, day="1970-01-01", quota=10,
                              server_id="srv_gone")
    assert started.app is not None and started.run is not None
    run = started.run
    store.add_event(run.id, 1, "run", json.dumps({"runId": run.id, "appId": started.app.id}))
    assert store.usage(ws.id, "1970-01-01")[0] == 1
    store.close()  # the process died mid-run
    reopened = Store(db)
    assert reopened.reap(lambda server: True, "gone", 1.0) == [run.id]
    events = reopened.events_after(run.id, 0)
    assert [e[1] for e in events] == ["run", "error"]
    assert json.loads(events[-1][2]) == {"code": "run_interrupted", "message": "gone"}
    assert reopened.app(started.app.id).status == "failed"  # type: ignore[union-attr]
    used, rows = reopened.usage(ws.id, "1970-01-01")
    assert used == 0 and rows[0].runs == 0  # an interrupted run is not counted
    assert reopened.reap(lambda server: True, "gone", 2.0) == []


def test_spend_run_never_passes_the_quota(tmp_path: Path) -> None:
    store = Store(tmp_path / "pf.db")
    ws = store.create_workspace(3, [], 0.0)
    results = [store.spend_run(ws.id, "2026-11-29", 3, "u") for _ in range(5)]
    assert results == [(True, 1), (True, 2), (True, 3), (False, 3), (False, 3)]
    used, rows = store.usage(ws.id, "2026-11-29")
    assert used == 3 and rows[0].runs == 3
