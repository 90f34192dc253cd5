"""``promptfloe-server usage``: a database with known runs, as a table and as JSON,
and the same numbers as GET /v1/usage for each day."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import call

from pf_server.auth import SCOPES
from pf_server.cli import main
from pf_server.store import Store
from pf_server.testing import LiveServer

DAY_1, DAY_2, DAY_3 = "2026-11-26", "2026-11-27", "2026-11-28"


def spend(store: Store, ws_id: str, day: str, user: str | None, runs: int, calls: int) -> None:
    for _ in range(runs):
        assert store.spend_run(ws_id, day, 1000, user)[0]
    for _ in range(calls):
        store.record_call(ws_id, day, user)


@pytest.fixture
def known_db(tmp_path: Path) -> tuple[Path, str]:
    """Three end users over two of three days, and a run made with a key."""
    path = tmp_path / "pf.db"
    store = Store(path)
    ws = store.create_workspace(50, [], 0.0)
    store.create_key(ws.id, SCOPES, 0.0)
    spend(store, ws.id, DAY_1, "alice", 3, 5)
    spend(store, ws.id, DAY_1, "bob", 2, 2)
    spend(store, ws.id, DAY_1, "carol", 1, 4)
    spend(store, ws.id, DAY_1, None, 1, 1)        # a key's run: quota, no end user
    spend(store, ws.id, DAY_3, "bob", 2, 3)
    store.close()
    return path, ws.id


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["usage", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_one_day_as_json_is_get_v1_usage_plus_the_span(known_db: tuple[Path, str],
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    path, ws_id = known_db
    code, out, _ = run(capsys, "--db", str(path), "--date", DAY_1, "--json")
    assert code == 0
    result = json.loads(out)
    day = {"date": DAY_1, "quota": 50, "used": 7, "byEndUser": [
        {"endUserId": "alice", "runs": 3, "calls": 5},
        {"endUserId": "bob", "runs": 2, "calls": 2},
        {"endUserId": "carol", "runs": 1, "calls": 4}]}
    assert result == {"workspace": ws_id, "from": DAY_1, "to": DAY_1, "quota": 50, "used": 7,
                      "byEndUser": day["byEndUser"], "days": [day]}


def test_several_days_as_json_add_up_per_end_user(known_db: tuple[Path, str],
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = known_db
    code, out, _ = run(capsys, "--db", str(path), "--date", DAY_3, "--days", "3", "--json")
    assert code == 0
    result = json.loads(out)
    assert (result["from"], result["to"], result["used"]) == (DAY_1, DAY_3, 9)
    assert [d["date"] for d in result["days"]] == [DAY_1, DAY_2, DAY_3]
    assert result["days"][1] == {"date": DAY_2, "quota": 50, "used": 0, "byEndUser": []}
    assert result["byEndUser"] == [  # most runs first
        {"endUserId": "bob", "runs": 4, "calls": 5},
        {"endUserId": "alice", "runs": 3, "calls": 5},
        {"endUserId": "carol", "runs": 1, "calls": 4}]


def test_the_table_lists_each_end_user_and_the_days(known_db: tuple[Path, str],
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    path, ws_id = known_db
    code, out, _ = run(capsys, "--db", str(path), "--date", DAY_1)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"Usage of workspace {ws_id} on {DAY_1}, UTC"
    assert lines[1] == "Runs: 7 of 50 (the day's quota)"
    rows = [line.split() for line in lines[3:]]
    assert rows == [["end", "user", "runs", "calls"], ["alice", "3", "5"], ["bob", "2", "2"],
                    ["carol", "1", "4"], ["(secret", "keys)", "1"]]
    code, out, _ = run(capsys, "--db", str(path), "--date", DAY_3, "--days", "3")
    assert code == 0
    assert "from 2026-11-26 to 2026-11-28 (3 days)" in out
    assert [ln.split() for ln in out.splitlines() if ln.startswith("2026-")] == [
        [DAY_1, "7", "11"], [DAY_2, "0", "0"], [DAY_3, "2", "3"]]
    code, out, _ = run(capsys, "--db", str(path), "--date", DAY_2)
    assert "No end user made calls" in out


def test_each_day_is_what_get_v1_usage_answers(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "live.db"
    with LiveServer(db=str(path)) as server:
        for user, runs in (("alice", 2), ("bob", 1)):
            token = call(server, "POST", "/v1/sessions", server.api_key,
                         json={"endUserId": user}).json()["token"]
            for _ in range(runs):
                assert call(server, "POST", "/v1/apps/generate", token,
                            json={"prompt": "A page"}).status_code == 200
        api = call(server, "GET", "/v1/usage", server.api_key).json()
        code, out, _ = run(capsys, "--db", str(path), "--workspace", server.workspace.id,
                           "--json")
    assert code == 0
    assert json.loads(out)["days"] == [api]
    assert [(r["endUserId"], r["runs"]) for r in api["byEndUser"]] == [("alice", 2), ("bob", 1)]


@pytest.mark.parametrize("args, words", [
    (["--date", "2026-02-30"], "--date must be a day"),
    (["--date", "tomorrow"], "--date must be a day"),
    (["--days", "0"], "--days must be from 1 to 366"),
    (["--days", "367"], "--days must be from 1 to 366"),
    (["--workspace", "ws_nope"], "no workspace ws_nope"),
])
def test_bad_arguments_say_what_is_wrong(known_db: tuple[Path, str], args: list[str],
                                         words: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--db", str(known_db[0]), *args)
    assert code == 2 and words in err and out == ""


def test_a_missing_database_is_not_created(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--db", str(tmp_path / "none.db"))
    assert code == 2 and "no database" in err
    assert not (tmp_path / "none.db").exists()


def test_the_command_runs_as_a_subcommand(known_db: tuple[Path, str]) -> None:
    done = subprocess.run([sys.executable, "-m", "pf_server", "usage", "--db", str(known_db[0]),
                           "--date", DAY_1, "--json"], capture_output=True, text=True,
                          timeout=60, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["used"] == 7
