"""The event-stream response: a run's events as ``text/event-stream``.

Each event goes out as ``id:``, ``event:`` and one ``data:`` line of JSON (WHATWG
HTML 9.2, "Server-sent events"), flushed as soon as it is logged; events
already logged when the stream catches up (a replay, or a generator faster
than the socket) go out in one write. ``: keep-alive`` comments fill idle
time. The response watches ``receive`` for
``http.disconnect``: when the client leaves, it stops sending and records it
(the run itself goes on, see :mod:`runs`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping

from starlette.types import Receive, Scope, Send

from .runs import Runs

__all__ = ["EventStreamResponse", "format_event"]

KEEP_ALIVE = b": keep-alive\n\n"


def format_event(seq: int, type_: str, data: str) -> bytes:
    # data is one line of JSON, so one data: field carries it whole.
    return f"id: {seq}\nevent: {type_}\ndata: {data}\n\n".encode()


async def _until_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


class EventStreamResponse:
    def __init__(self, runs: Runs, run_id: str,
                 events: AsyncIterator[list[tuple[int, str, str]] | None],
                 headers: Mapping[str, str]) -> None:
        self.runs = runs
        self.run_id = run_id
        self.events = events
        self.headers = {"Content-Type": "text/event-stream; charset=utf-8",
                        "Cache-Control": "no-store", "X-Accel-Buffering": "no",
                        "PromptFloe-Run-Id": run_id, **headers}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(k.lower().encode(), v.encode())
                                for k, v in self.headers.items()]})
        dropped = self.runs.open_stream()
        gone = asyncio.ensure_future(_until_disconnect(receive))
        drop = asyncio.ensure_future(dropped.wait())
        events = aiter(self.events)
        try:
            while True:
                upcoming = asyncio.ensure_future(anext(events))
                await asyncio.wait({upcoming, gone, drop}, return_when=asyncio.FIRST_COMPLETED)
                if not upcoming.done():
                    upcoming.cancel()
                    if gone.done():
                        self.runs.client_left(self.run_id)
                        return
                    break  # dropped from our side: end the body as a cut connection would
                try:
                    item = upcoming.result()
                except StopAsyncIteration:
                    break
                chunk = KEEP_ALIVE if item is None else b"".join(format_event(*e) for e in item)
                try:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                except OSError:  # uvicorn's ClientDisconnected
                    self.runs.client_left(self.run_id)
                    return
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            self.runs.close_stream(dropped)
            for task in (gone, drop):
                task.cancel()
