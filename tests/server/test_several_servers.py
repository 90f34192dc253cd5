"""Several real server processes on one SQLite file: each owns its runs.

A start or a stop of one never touches the live runs of another; the runs of
one killed with ``kill -9`` end with ``run_interrupted`` (followers on the
survivor see it, and their streams end), and are not counted in ``used``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers import bearer, events

REPO = Path(__file__).resolve().parents[2]


class Server:
    """``promptfloe-server serve`` in a process of its own, on a port it picks."""

    def __init__(self, tmp_path: Path, pace: float = 0.5) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO)}  # this checkout's pf_server
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pf_server", "serve", "--port", "0", "--db", "pf.db",
             "--pace", str(pace), "--log-level", "warning"],
            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert self.proc.stdout is not None
        self.base_url = ""
        for line in self.proc.stdout:  # bounded by the process: it prints, or it exits
            if line.startswith("promptfloe-server: http://"):
                self.base_url = line.split()[1]
                break
        if not self.base_url:
            pytest.fail(f"the server did not start: {self.proc.communicate()[0]}")
        self.key = next(ln.split("=", 1)[1] for ln in
                        (tmp_path / ".promptfloe" / "dev.env").read_text().splitlines()
                        if ln.startswith("PROMPTFLOE_API_KEY="))
        for _ in range(200):  # up to ~20 s for uvicorn to answer
            try:
                httpx.get(self.base_url + "/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.communicate(timeout=30)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)  # reaped: not a zombie

    def used(self) -> int:
        answer = httpx.get(self.base_url + "/v1/usage", headers=bearer(self.key), timeout=10)
        return int(answer.json()["used"])


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started  # the tests start theirs with start_server
    for server in started:
        if server.proc.poll() is None:
            server.stop()


def start_server(servers: list[Server], tmp_path: Path, pace: float = 0.5) -> Server:
    servers.append(Server(tmp_path, pace))
    return servers[-1]


class Watch:
    """A generate call on ``server``, read event by event."""

    def __init__(self, server: Server, prompt: str = "A to-do list for a choir") -> None:
        self._cm = httpx.stream("POST", server.base_url + "/v1/apps/generate",
                                json={"prompt": prompt}, headers=bearer(server.key),
                                timeout=60)
        self.answer = self._cm.__enter__()
        self.run_id = self.answer.headers["promptfloe-run-id"]
        self._chunks = self.answer.iter_bytes()
        self.body = b""

    def until(self, text: bytes) -> None:
        while text not in self.body:
            self.body += next(self._chunks)

    def rest(self) -> list[tuple[str | None, str, dict[str, Any]]]:
        """The events to the end of the stream, or to where the connection was cut."""
        try:
            for chunk in self._chunks:
                self.body += chunk
        except httpx.TransportError:
            pass  # a stopping server closes its connections
        finally:
            self._cm.__exit__(None, None, None)
        return events(self.body)


def test_a_second_server_starting_and_stopping_leaves_the_first_ones_run_alone(
        servers: list[Server], tmp_path: Path) -> None:
    first = start_server(servers, tmp_path)
    watch = Watch(first)
    watch.until(b"event: file")
    second = start_server(servers, tmp_path)  # on the same database
    second.stop()
    evs = watch.rest()
    assert evs[-1][1] == "ready"
    assert [e[0] for e in evs] == [str(i) for i in range(1, len(evs) + 1)]
    assert first.used() == 1 and first.proc.poll() is None


def test_a_stopping_server_interrupts_only_its_own_runs_and_refunds_them(
        servers: list[Server], tmp_path: Path) -> None:
    first = start_server(servers, tmp_path, pace=1.5)  # runs outlast the stop's grace time
    second = start_server(servers, tmp_path, pace=1.5)
    mine, theirs = Watch(first), Watch(second)
    mine.until(b"event: file")
    theirs.until(b"event: file")
    second.stop()
    seen = theirs.rest()
    assert seen[-1][1] != "ready"
    # Its client resumes through the server still up, and the stream ends cleanly.
    with httpx.stream("GET", f"{first.base_url}/v1/runs/{theirs.run_id}/events",
                      headers={**bearer(first.key), "Last-Event-ID": str(seen[-1][0])},
                      timeout=60) as answer:
        rest = events(answer.read())
    assert rest[-1][1] == "error" and rest[-1][2]["code"] == "run_interrupted"
    assert [e[0] for e in seen + rest] == [str(i) for i in range(1, len(seen + rest) + 1)]
    evs = mine.rest()
    assert evs[-1][1] == "ready"
    assert first.used() == 1  # the interrupted run is not counted


def test_a_killed_servers_runs_are_interrupted_and_followers_elsewhere_see_it_end(
        servers: list[Server], tmp_path: Path) -> None:
    doomed = start_server(servers, tmp_path)
    survivor = start_server(servers, tmp_path)
    survivors_run = Watch(survivor)
    watch = Watch(doomed)
    watch.until(b"event: file")
    # Someone follows the doomed server's run through the survivor.
    follow = httpx.stream("GET", f"{survivor.base_url}/v1/runs/{watch.run_id}/events",
                          headers={**bearer(survivor.key), "Last-Event-ID": "1"}, timeout=60)
    with follow as answer:
        chunks = answer.iter_bytes()
        body = next(chunks)
        assert b"event: file" in body
        doomed.kill()
        body += b"".join(chunks)  # the survivor ends the stream once it is interrupted
    evs = events(body)
    assert evs[-1][1] == "error" and evs[-1][2]["code"] == "run_interrupted"
    assert [e[0] for e in evs] == [str(i) for i in range(2, len(evs) + 2)]  # each once
    assert survivors_run.rest()[-1][1] == "ready"  # the survivor's own run went on
    assert survivor.used() == 1  # the killed server's run is not counted
    apps = httpx.get(survivor.base_url + "/v1/apps", headers=bearer(survivor.key)).json()
    assert sorted(a["status"] for a in apps["data"]) == ["failed", "ready"]
