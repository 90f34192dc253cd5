"""Generation streams that survive a dropped connection.

:class:`StreamState` is the sans-IO part: it decodes chunks into typed events,
remembers the run and the last event id, drops any event the caller has
already seen, and says how to resume: ``GET /v1/runs/{runId}/events`` with
``Last-Event-ID`` (docs/api.md, "Generation"). Each resume goes through the normal
request flow, so it reads the *current* token: an SSE client that keeps the
headers it started with fails forever once the token rotates.

:class:`Stream` and :class:`AsyncStream` only move chunks from a response
into the state and events out to the caller.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Generator, Iterator
from types import TracebackType
from typing import Any, Generic, TypeVar

from ._event_parser import from_fields
from ._events import Event, ReadyEvent, RunEvent
from ._exceptions import APIConnectionError, StreamError
from ._resources import path_segment
from ._transports.base import AsyncResponse, SyncResponse
from .sse import Fields, SSEDecoder

__all__ = ["AsyncStream", "Stream", "StreamState"]

R = TypeVar("R", SyncResponse, AsyncResponse)

#: Reconnections in a row that bring no new event before the stream gives up.
MAX_RESUMES_WITHOUT_PROGRESS = 3


class StreamState:
    """What a generation stream has seen, and how to go on from there."""

    def __init__(self) -> None:
        self.run_id: str | None = None
        self.app_id: str | None = None
        self.request_id: str | None = None  # of the response that started the run
        self.finished = False       # ``ready`` arrived: nothing more to wait for
        self.resumes_without_progress = 0
        self._decoder = SSEDecoder()
        self._handed = ""           # the id of the last event handed to the caller
        self._handed_at_resume: str | None = None
        # After a resume: the caller has every event up to this id; the server
        # replays from the one after it, and this drops any it repeats.
        self._resumed_after: int | None = None

    @property
    def last_event_id(self) -> str | None:
        """The id of the last event handed to the caller."""
        return self._handed or None

    def opened(self, headers: Any) -> None:
        """A response arrived: learn the run id early, from its header."""
        run_id = headers.get("promptfloe-run-id")
        if run_id and self.run_id is None:
            self.run_id = run_id
        if self.request_id is None:
            self.request_id = headers.get("promptfloe-request-id")

    def feed(self, chunk: bytes) -> Iterator[Event]:
        """The events ``chunk`` completes, in order; an ``error`` event raises
        :class:`StreamError` after every event before it was handed out."""
        # Plain (type, data, id, retry) tuples: no ServerSentEvent per event (sse.py).
        fields = self._decoder.feed_fields(chunk)
        if self._resumed_after is not None and fields:
            fields = self._unseen(fields, self._resumed_after)
        # The per-event work is kept to what each event needs: this loop runs
        # for every event of every stream (benchmarks/bench_sse.py, "ours").
        for kind, data, id, _retry in fields:
            try:
                event = from_fields(kind, data, id)
            except StreamError as exc:
                exc.run_id = self.run_id
                self.finished = True
                raise
            if type(event) is RunEvent:
                self.run_id, self.app_id = event.run_id, event.app_id
            elif type(event) is ReadyEvent:
                self.finished = True
            self._handed = id
            yield event

    def _unseen(self, fields: list[Fields], after: int) -> list[Fields]:
        """``fields`` without the events a resumed stream repeats: those whose
        id is at most ``after``. The first newer one ends the check."""
        for i, (_event, _data, id, _retry) in enumerate(fields):
            seq = _seq(id)
            if seq is None or seq > after:
                self._resumed_after = None
                return fields[i:]
        return []

    def resume(self, dropped: APIConnectionError | None) -> tuple[str, dict[str, str]]:
        """The path and headers to reconnect with, or raise: the stream can't go on."""
        if self.run_id is None:
            raise dropped or APIConnectionError(
                "The generation stream ended before the run started; start it again.")
        if self._handed != self._handed_at_resume:
            self.resumes_without_progress = 0  # events arrived since the last resume
        self._handed_at_resume = self._handed
        self.resumes_without_progress += 1
        if self.resumes_without_progress > MAX_RESUMES_WITHOUT_PROGRESS:
            raise APIConnectionError(
                f"The generation stream of run {self.run_id} kept dropping without "
                "progress; resume later with the run id.") from dropped
        # A new decoder: a partial event from the old connection is discarded,
        # and the server replays it whole after Last-Event-ID.
        # The API's ids count up from 1; with any other id, resume from the start.
        self._resumed_after = _seq(self._handed)
        self._decoder = SSEDecoder(self._handed if self._resumed_after is not None else "")
        headers = {} if self._resumed_after is None else {"last-event-id": self._handed}
        try:
            run = path_segment(self.run_id, "run id")
        except ValueError:
            raise StreamError(f"The API sent a run id that is not one ({self.run_id!r}); "
                              "the stream cannot be resumed.", run_id=None) from dropped
        return f"/v1/runs/{run}/events", headers


def _seq(id: str) -> int | None:
    """An event id as a number (the API's ids count up), or None if it is not one."""
    return int(id) if id.isascii() and id.isdigit() else None


class _BaseStream(Generic[R]):
    """What both streams share: the run's state, what it tells, and the
    response being read (``R``: a sync or an async one)."""

    def __init__(self, open_: Callable[[str | None, dict[str, str] | None], Any]) -> None:
        self._open = open_
        self._state = StreamState()
        self._response: R | None = None
        self._closed = False

    @property
    def run_id(self) -> str | None:
        """The run's id, known once the response (or its ``run`` event) arrived."""
        return self._state.run_id

    @property
    def app_id(self) -> str | None:
        return self._state.app_id

    @property
    def request_id(self) -> str | None:
        """The server's ``PromptFloe-Request-Id`` for the request that started
        the run: quote it when you report a problem."""
        return self._state.request_id

    @property
    def last_event_id(self) -> str | None:
        """The id of the last event handed out: where a resume starts from."""
        return self._state.last_event_id

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} run_id={self.run_id!r} "
                f"last_event_id={self.last_event_id!r}>")


class Stream(_BaseStream[SyncResponse]):
    """Events of one generation, for ``for`` loops; use as a context manager.

    Leaving the loop early, or :meth:`close`, closes the connection.
    """

    def __enter__(self) -> Stream:
        self._connect(None, None)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[Event]:
        # Not kept on self: when a loop that broke out drops it, the
        # generator closes at once, and with it the connection.
        return self._events()

    def _connect(self, path: str | None, headers: dict[str, str] | None) -> SyncResponse:
        if self._response is None:
            self._response = self._open(path, headers)
            self._state.opened(self._response.headers)
        return self._response

    def _events(self) -> Generator[Event, None, None]:
        state = self._state
        path: str | None = None
        headers: dict[str, str] | None = None
        try:
            while not self._closed:
                response = self._connect(path, headers)
                dropped: APIConnectionError | None = None
                try:
                    for chunk in response.iter_bytes():
                        for event in state.feed(chunk):
                            if self._closed:  # close() from the loop's body: no more
                                return
                            yield event
                except APIConnectionError as exc:
                    dropped = exc
                finally:
                    self._response = None
                    response.close()
                if state.finished:
                    return
                path, headers = state.resume(dropped)
        finally:
            self.close()

    def close(self) -> None:
        self._closed = True
        if self._response is not None:
            response, self._response = self._response, None
            response.close()


class AsyncStream(_BaseStream[AsyncResponse]):
    """Events of one generation, for ``async for``; use ``async with``.

    Leaving the ``async with`` block, cancelling the task, or :meth:`aclose`
    closes the connection (in a browser, aborts the fetch).
    """

    async def __aenter__(self) -> AsyncStream:
        await self._connect(None, None)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.aclose()

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._events()

    async def _connect(self, path: str | None, headers: dict[str, str] | None
                       ) -> AsyncResponse:
        if self._response is None:
            self._response = await self._open(path, headers)
            self._state.opened(self._response.headers)
        return self._response

    async def _events(self) -> AsyncIterator[Event]:
        state = self._state
        path: str | None = None
        headers: dict[str, str] | None = None
        try:
            while not self._closed:
                response = await self._connect(path, headers)
                dropped: APIConnectionError | None = None
                try:
                    async for chunk in response.aiter_bytes():
                        for event in state.feed(chunk):
                            if self._closed:  # aclose() from the loop's body: no more
                                return
                            yield event
                except APIConnectionError as exc:
                    dropped = exc
                finally:
                    self._response = None
                    await response.aclose()
                if state.finished:
                    return
                path, headers = state.resume(dropped)
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        self._closed = True
        if self._response is not None:
            response, self._response = self._response, None
            await response.aclose()

    close = aclose  # as on AsyncPromptFloe: ``await stream.close()`` works too
