"""Runs: a generation that goes on whoever is watching, and its event log.

:meth:`Runs.start` drives the generator in a task of its own; each event is
written to the database as it happens (``run_events``) before any watcher is
woken, so :meth:`Runs.follow` can replay everything after a ``Last-Event-ID``
from the database and then wait for what comes next — no event is lost or
repeated across a reconnect. A watcher that leaves changes nothing for the
run. Event ids are integers from 1 per run (docs/api.md, "Generation").

Several servers may share one database (liveness.py): each run belongs to
the server that started it, and an event is logged only while that server
still owns the run. A watcher of a run that another server drives reads
its events from the database every ``poll`` seconds until the run ends.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from .clock import Clock
from .generator import Generator
from .liveness import INTERRUPTED
from .store import AppRecord, RunRecord, Store

__all__ = ["TERMINAL", "Runs"]

log = logging.getLogger("pf_server")

TERMINAL = frozenset({"ready", "error"})  # the stream ends after either (docs/api.md)


@dataclass
class _LiveRun:
    record: RunRecord
    lost: bool = False  # interrupted by another server (ours was taken for dead)
    seq: int = 0
    done: bool = False
    changed: asyncio.Event = field(default_factory=asyncio.Event)


class Runs:
    def __init__(self, store: Store, clock: Clock, generator: Generator,
                 keepalive: float = 15.0, server_id: str | None = None,
                 poll: float = 0.25) -> None:
        self.store = store
        self.server_id = server_id
        self.poll = poll
        self.clock = clock
        self.generator = generator
        self.keepalive = keepalive
        self._live: dict[str, _LiveRun] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._open_streams: set[asyncio.Event] = set()
        self._disconnects: dict[str, threading.Event] = {}
        self._disconnects_lock = threading.Lock()

    # -- driving a run -------------------------------------------------------------

    def start(self, app: AppRecord, run: RunRecord, preview_url: str) -> None:
        live = _LiveRun(run)
        self._live[run.id] = live
        self._emit(live, "run", {"runId": run.id, "appId": app.id})
        task = asyncio.get_running_loop().create_task(self._drive(live, app, preview_url))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _drive(self, live: _LiveRun, app: AppRecord, preview_url: str) -> None:
        status = "failed"
        try:
            async for file in self.generator.files(app.prompt):
                if live.lost:
                    return
                content = file.content.encode("utf-8")
                self.store.add_file(app.id, file.path, content)
                self._emit(live, "file", {"path": file.path, "size": len(content),
                                          "content": file.content})
            self._emit(live, "ready", {"appId": app.id, "previewUrl": preview_url})
            status = "ready"
        except asyncio.CancelledError:  # the server is stopping
            self.store.interrupt_run(live.record.id, INTERRUPTED, self.clock.now(),
                                     self.server_id)
            raise
        except Exception:
            log.exception("generator failed on run %s", live.record.id)
            self._emit(live, "error", {"code": "generation_failed",
                                       "message": "Generating this app failed; try again."})
        finally:
            if not live.lost:
                self.store.finish_run(live.record, status, self.clock.now(), self.server_id)
            live.done = True
            self._wake(live)
            self._live.pop(live.record.id, None)

    def _emit(self, live: _LiveRun, type_: str, data: dict[str, Any]) -> None:
        if live.lost:
            return
        live.seq += 1
        if not self.store.add_event(live.record.id, live.seq, type_, json.dumps(data),
                                    self.server_id):
            # Another server took this one for dead and interrupted the run; its
            # log already ends with run_interrupted, so nothing more is written.
            log.warning("run %s was interrupted by another server; stopping it",
                        live.record.id)
            live.lost = True
        self._wake(live)

    @staticmethod
    def _wake(live: _LiveRun) -> None:
        live.changed.set()
        live.changed = asyncio.Event()

    async def stop(self) -> None:
        """Interrupt every run still going (the server is shutting down)."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- watching a run ------------------------------------------------------------

    async def follow(self, run_id: str, after: int
                     ) -> AsyncIterator[list[tuple[int, str, str]] | None]:
        """The events after ``after``, then live ones, until the run's last, in
        batches of what is there now (one write each); ``None`` when nothing
        happened for ``keepalive`` seconds."""
        idle = 0.0  # seconds without an event, for a run another server drives
        while True:
            live = self._live.get(run_id)
            waiter = None if live is None else live.changed  # taken before reading: no gap
            # Read before the status: a run that ends in between has its last event read.
            running_elsewhere = live is None and self._running(run_id)
            batch = self.store.events_after(run_id, after)
            for i, (seq, type_, _) in enumerate(batch):
                if type_ in TERMINAL:
                    yield batch[:i + 1]
                    return
                after = seq
            if batch:
                idle = 0.0
                yield batch
            if live is not None and not live.done:
                assert waiter is not None
                try:
                    await asyncio.wait_for(waiter.wait(), self.keepalive)
                except TimeoutError:
                    yield None
            elif running_elsewhere:
                await asyncio.sleep(self.poll)
                idle += self.poll
                if idle >= self.keepalive:
                    idle = 0.0
                    yield None
            else:
                return  # finished: its events were all read above

    def _running(self, run_id: str) -> bool:
        run = self.store.run(run_id)
        return run is not None and run.status == "running"

    # -- streams: a server-side drop, and seeing a client leave -----------------------

    def open_stream(self) -> asyncio.Event:
        """An Event that :meth:`drop_streams` sets to end this stream from our side."""
        dropped = asyncio.Event()
        self._open_streams.add(dropped)
        return dropped

    def close_stream(self, dropped: asyncio.Event) -> None:
        self._open_streams.discard(dropped)

    def drop_streams(self) -> int:
        """End every open event stream now, as a broken connection would (for tests)."""
        for dropped in self._open_streams:
            dropped.set()
        return len(self._open_streams)

    def _disconnect_event(self, run_id: str) -> threading.Event:
        with self._disconnects_lock:
            return self._disconnects.setdefault(run_id, threading.Event())

    def client_left(self, run_id: str) -> None:
        self._disconnect_event(run_id).set()

    def wait_for_disconnect(self, run_id: str, timeout: float) -> bool:
        """From any thread: True once a client watching ``run_id`` went away mid-stream."""
        return self._disconnect_event(run_id).wait(timeout)
