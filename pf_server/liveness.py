"""Several servers on one database: who is alive, and the runs of those that are not.

Each server registers a row in ``servers`` when it starts, refreshes its
``seen_at`` every ``interval`` seconds, and removes it when it stops. Every
run records the server that drives it, and only that server writes its
events (runs.py), so a server starting or stopping never touches another's
live runs.

A server that died (``kill -9``, a crash, a lost machine) leaves runs marked
running that nobody will finish. On each heartbeat every live server looks
for them: a server is dead when its heartbeat is older than ``stale_after``
seconds or, on this machine, its process is gone (found at once). Its runs
end with an ``error`` event ``run_interrupted`` and are given back to the
day's quota; followers of such a run on any server then see that event and
their streams end cleanly. Heartbeats use the wall clock, not the API's
clock (which tests move by hours).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from .credentials import new_id
from .store import ServerRecord, Store

__all__ = ["INTERRUPTED", "Liveness", "process_is_gone"]

log = logging.getLogger("pf_server")

INTERRUPTED = "The server running this app stopped before it was done; generate the app again."


def process_is_gone(pid: int) -> bool:
    """True when no process ``pid`` runs on this machine (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # someone else's process: alive
    stat = Path(f"/proc/{pid}/stat")
    try:  # Linux: "pid (name) state …"; Z is a zombie, dead but not yet reaped
        return stat.read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return False


class Liveness:
    def __init__(self, store: Store, *, interval: float = 1.0, stale_after: float = 10.0,
                 wall: Callable[[], float] = time.time) -> None:
        self.store = store
        self.interval = interval
        self.stale_after = stale_after
        self.wall = wall
        self.server_id = new_id("srv")
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Register this server, reap what dead servers left, and keep beating."""
        now = self.wall()
        self.store.register_server(ServerRecord(self.server_id, self.pid, self.host, now), now)
        self.reap()
        self._task = asyncio.get_running_loop().create_task(self._beat())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self.store.unregister_server(self.server_id)

    def is_dead(self, server: ServerRecord) -> bool:
        if server.id == self.server_id:
            return False
        if server.host == self.host and process_is_gone(server.pid):
            return True
        return server.seen_at < self.wall() - self.stale_after

    def reap(self) -> list[str]:
        """Interrupt the runs of dead servers; the ids of those runs."""
        reaped = self.store.reap(self.is_dead, INTERRUPTED, self.wall())
        if reaped:
            log.warning("interrupted %d run(s) of a server that stopped: %s", len(reaped),
                        ", ".join(reaped))
        return reaped

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                now = self.wall()
                if not self.store.heartbeat(self.server_id, now):
                    # Taken for dead (a long pause): our runs were interrupted and
                    # their events refused from then on (runs.py); serve on.
                    self.store.register_server(
                        ServerRecord(self.server_id, self.pid, self.host, now), now)
                self.reap()
            except sqlite3.Error as exc:  # busy or read-only for a moment: next beat
                log.warning("heartbeat failed: %s", exc)
