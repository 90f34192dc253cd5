"""A database the server may not write: one clear line at start; reads still work."""

from __future__ import annotations

import array
import fcntl
import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from helpers import call

from pf_server.store import Store

REPO = Path(__file__).resolve().parents[2]


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}  # this checkout's pf_server
    return subprocess.run([sys.executable, "-m", "pf_server", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


# Linux's inode flags, as chattr sets them (linux/fs.h): root cannot write an
# immutable file or folder either.
FS_IOC_GETFLAGS, FS_IOC_SETFLAGS, FS_IMMUTABLE_FL = 0x80086601, 0x40086602, 0x10


def _immutable(path: Path, on: bool) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if path.is_dir() else 0))
    try:
        flags = array.array("i", [0])
        fcntl.ioctl(fd, FS_IOC_GETFLAGS, flags, True)
        flags[0] = flags[0] | FS_IMMUTABLE_FL if on else flags[0] & ~FS_IMMUTABLE_FL
        fcntl.ioctl(fd, FS_IOC_SETFLAGS, flags)
    finally:
        os.close(fd)


@contextmanager
def unwritable(*paths: Path) -> Iterator[None]:
    """Make files and folders unwritable for this user, root included (immutable)."""
    if os.geteuid() == 0:
        done: list[Path] = []
        try:
            for path in paths:
                try:
                    _immutable(path, True)
                except OSError as exc:
                    pytest.skip(f"root cannot make {path} immutable here: {exc}")
                done.append(path)
            yield
        finally:
            for path in done:
                _immutable(path, False)
        return
    modes = {p: p.stat().st_mode for p in paths}
    for p in paths:
        p.chmod(stat.S_IMODE(modes[p]) & ~0o222)
    try:
        yield
    finally:
        for p, mode in modes.items():
            p.chmod(stat.S_IMODE(mode))


@pytest.fixture
def database(tmp_path: Path) -> Path:
    """A server's database, made by a first start, with one key (in data/)."""
    made = cli(tmp_path, "keys", "create", "--db", "data/pf.db")
    assert made.returncode == 0, made.stderr
    return tmp_path / "data" / "pf.db"


def assert_one_line(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("promptfloe-server: ")
    assert "Traceback" not in result.stderr + result.stdout
    for word in words:
        assert word in lines[0], lines[0]


def test_serving_a_read_only_database_says_so_in_one_line(database: Path) -> None:
    with unwritable(database):
        result = cli(database.parent.parent, "serve", "--port", "0", "--db", "data/pf.db")
    assert_one_line(result, "data/pf.db", "read-only", "--db")


def test_serving_from_a_folder_that_cannot_be_made_says_so_in_one_line(
        tmp_path: Path) -> None:
    result = cli(tmp_path, "serve", "--port", "0", "--db", "/proc/pf-test/pf.db")
    assert_one_line(result, "/proc/pf-test/pf.db", "folder")


def test_serving_a_file_that_is_not_a_database_says_so_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a database, " * 100)
    result = cli(tmp_path, "serve", "--port", "0", "--db", "notes.txt")
    assert_one_line(result, "notes.txt", "not a usable SQLite database")


def test_writing_a_key_to_a_read_only_database_says_so_in_one_line(database: Path) -> None:
    with unwritable(database):
        result = cli(database.parent.parent, "keys", "create", "--db", "data/pf.db")
    assert_one_line(result, "read-only")


def test_listing_keys_and_usage_of_a_read_only_database_needs_no_write(
        database: Path) -> None:
    before = database.read_bytes()
    with unwritable(database):
        listed = cli(database.parent.parent, "keys", "list", "--db", "data/pf.db")
        usage = cli(database.parent.parent, "usage", "--db", "data/pf.db")
    assert listed.returncode == 0, listed.stderr
    assert "active" in listed.stdout and listed.stderr == ""
    assert usage.returncode == 0, usage.stderr
    assert database.read_bytes() == before


def test_reading_a_database_in_a_read_only_folder_works_too(database: Path) -> None:
    folder = database.parent
    for extra in folder.iterdir():  # a server that stopped cleanly leaves the file alone
        if extra != database:
            extra.unlink()
    with unwritable(database, folder):
        listed = cli(folder.parent, "keys", "list", "--db", "data/pf.db")
        served = cli(folder.parent, "serve", "--port", "0", "--db", "data/pf.db")
    assert listed.returncode == 0 and "active" in listed.stdout, listed.stderr
    assert_one_line(served, "data/pf.db")


def test_a_read_only_store_refuses_writes_but_reads(database: Path) -> None:
    with unwritable(database):
        store = Store(database, read_only=True)
        try:
            assert len(store.keys()) == 1
            with pytest.raises(sqlite3.OperationalError):
                store.create_workspace(1, [], 0.0)
        finally:
            store.close()


def test_a_call_that_cannot_be_counted_still_answers(live_server: Any,
                                                     monkeypatch: Any) -> None:
    def read_only(*args: object) -> None:
        raise sqlite3.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(live_server.store, "record_call", read_only)
    answer = call(live_server, "GET", "/v1/apps", live_server.api_key)
    assert answer.status_code == 200 and "data" in answer.json()
