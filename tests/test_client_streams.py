"""generate_stream over a mock transport: typed events, errors, resume, closing."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from mock_api import (
    READY,
    RUN,
    Dropping,
    async_client,
    bearer,
    error,
    file_event,
    sse,
    sync_client,
)

from pf_browser import (
    APIConnectionError,
    FileEvent,
    ReadyEvent,
    RunEvent,
    StreamError,
    UnknownEvent,
)
from pf_browser.transports import Request, Response

STREAM_HEADERS = {"content-type": "text/event-stream", "PromptFloe-Run-Id": "run_1"}


def stream_response(body: bytes | Dropping) -> Response:
    if isinstance(body, Dropping):
        return Response(200, headers=STREAM_HEADERS, stream=body)
    return Response(200, headers=STREAM_HEADERS, content=body)


def simple(request: Request) -> Response:
    assert request.path == "/v1/apps/generate"
    assert request.json() == {"prompt": "a bakery"}
    assert request.headers["accept"] == "text/event-stream"
    return stream_response(sse([RUN, file_event(1), ("thinking", "hmm"), file_event(2), READY]))


EXPECTED = [
    RunEvent("run_1", "app_1"),
    FileEvent("f1.txt", 1, "1"),
    UnknownEvent("thinking", "hmm"),
    FileEvent("f2.txt", 1, "2"),
    ReadyEvent("app_1", "http://api/preview/app_1/"),
]


def test_sync_stream_yields_each_event_type_and_passes_unknown_ones_through() -> None:
    with sync_client(simple).apps.generate_stream("a bakery") as stream:
        assert list(stream) == EXPECTED
    assert stream.run_id == "run_1" and stream.app_id == "app_1"
    assert stream.last_event_id == "5"


async def test_async_stream_yields_each_event_type_and_passes_unknown_ones_through() -> None:
    async with async_client(simple).apps.generate_stream("a bakery") as stream:
        assert [ev async for ev in stream] == EXPECTED


def test_events_carry_a_type_string_as_in_the_product_docs() -> None:
    types = [ev.type for ev in sync_client(simple).apps.generate_stream("a bakery")]
    assert types == ["run", "file", "thinking", "file", "ready"]


def test_error_event_raises_stream_error_with_the_run_id() -> None:
    def handler(request: Request) -> Response:
        return stream_response(sse([RUN, ("error", {"code": "generation_failed",
                                                    "message": "the model is down"})]))

    seen = []
    with pytest.raises(StreamError) as info:
        for ev in sync_client(handler).apps.generate_stream("x"):
            seen.append(ev)
    assert seen == [RunEvent("run_1", "app_1")]
    assert info.value.code == "generation_failed" and info.value.run_id == "run_1"


def test_an_error_status_before_the_stream_raises_at_once() -> None:
    handler = lambda request: error(403, "insufficient_scope", "missing scope build")  # noqa: E731
    from pf_browser import PermissionDeniedError

    with pytest.raises(PermissionDeniedError) as info:
        with sync_client(handler).apps.generate_stream("x"):
            pass
    assert info.value.code == "insufficient_scope"


def make_resuming_api(*, rotate_token: bool = False) -> tuple[list[Request], object]:
    """First connection drops after two events and half of the third; resume replays."""
    events = [RUN, file_event(1), file_event(2), file_event(3), READY]
    whole = sse(events)
    cut = whole.index(b"id: 3") + 10  # in the middle of event 3
    seen: list[Request] = []

    def handler(request: Request) -> Response:
        seen.append(request)
        if request.path == "/v1/apps/generate":
            return stream_response(Dropping([whole[:cut]]))
        assert request.path == "/v1/runs/run_1/events"
        if rotate_token and bearer(request) != "tok_2":
            return error(401, "token_expired", "the session token expired")
        last = int(request.headers["last-event-id"])
        # The server replays strictly after Last-Event-ID; replay one more to
        # prove the client drops what the caller already saw.
        return stream_response(sse(events[last - 1:], start=last))

    return seen, handler


def test_sync_stream_resumes_after_a_drop_without_loss_or_repeats() -> None:
    seen, handler = make_resuming_api()
    events = list(sync_client(handler).apps.generate_stream("x"))  # type: ignore[arg-type]
    assert [getattr(e, "path", e.type) for e in events] == [
        "run", "f1.txt", "f2.txt", "f3.txt", "ready"]
    assert seen[1].headers["last-event-id"] == "2"


async def test_async_stream_resumes_after_a_drop_without_loss_or_repeats() -> None:
    _seen, handler = make_resuming_api()
    client = async_client(handler)  # type: ignore[arg-type]
    events = [ev async for ev in client.apps.generate_stream("x")]
    assert [getattr(e, "path", e.type) for e in events] == [
        "run", "f1.txt", "f2.txt", "f3.txt", "ready"]


async def test_resume_reads_the_current_token_not_the_one_the_stream_started_with() -> None:
    seen, handler = make_resuming_api(rotate_token=True)
    tokens = iter(["tok_1", "tok_2"])
    client = async_client(handler, None, refresh_fn=lambda: next(tokens))  # type: ignore[arg-type]
    events = [ev async for ev in client.apps.generate_stream("x")]
    assert len(events) == 5
    assert [bearer(r) for r in seen] == ["tok_1", "tok_1", "tok_2"]
    assert seen[2].headers["last-event-id"] == "2"


def test_a_drop_before_the_run_started_raises_connection_error() -> None:
    def handler(request: Request) -> Response:
        return Response(200, headers={"content-type": "text/event-stream"},
                              stream=Dropping([b": keep-alive\n\n"]))

    with pytest.raises(APIConnectionError):
        list(sync_client(handler, max_retries=0).apps.generate_stream("x"))


def test_a_stream_that_keeps_dropping_gives_up() -> None:
    calls = []

    def handler(request: Request) -> Response:
        calls.append(request.path)
        body = sse([RUN]) if request.path.endswith("generate") else b""
        return stream_response(Dropping([body] if body else []))

    with pytest.raises(APIConnectionError, match="kept dropping"):
        list(sync_client(handler).apps.generate_stream("x"))
    assert len(calls) <= 6


def test_breaking_out_of_the_loop_closes_the_connection() -> None:
    body = Dropping([sse([RUN, file_event(1)]), sse([file_event(2)], start=3)], drop=False)
    client = sync_client(lambda request: stream_response(body))
    for _ in client.apps.generate_stream("x"):
        break
    assert body.closed


async def test_leaving_async_with_closes_the_connection() -> None:
    body = Dropping([sse([RUN, file_event(1)]), sse([file_event(2)], start=3)], drop=False)
    client = async_client(lambda request: stream_response(body))
    async with client.apps.generate_stream("x") as stream:
        async for _ in stream:
            break
    assert body.closed


@pytest.mark.parametrize("how", ["unread", "mid-stream", "raising"])
def test_leaving_with_closes_the_connection_while_the_loop_is_still_alive(how: str) -> None:
    """Only ``__exit__`` can close it here: the iterator is still referenced,
    so neither the generator's ``finally`` nor garbage collection does."""
    body = Dropping([sse([RUN, file_event(1)]), sse([file_event(2)], start=3)], drop=False)
    client = sync_client(lambda request: stream_response(body))
    with pytest.raises(KeyError) if how == "raising" else contextlib.nullcontext():
        with client.apps.generate_stream("x") as stream:
            it = iter(stream)
            if how != "unread":
                assert next(it).type == "run"
            if how == "raising":
                raise KeyError("the caller's own error")
    assert body.closed
    assert list(it) == []  # and the loop ends, it does not reconnect


@pytest.mark.parametrize("how", ["unread", "mid-stream"])
async def test_leaving_async_with_closes_the_connection_while_the_loop_is_alive(
        how: str) -> None:
    body = Dropping([sse([RUN, file_event(1)]), sse([file_event(2)], start=3)], drop=False)
    client = async_client(lambda request: stream_response(body))
    async with client.apps.generate_stream("x") as stream:
        it = aiter(stream)
        if how != "unread":
            assert (await anext(it)).type == "run"
    assert body.closed
    assert [ev async for ev in it] == []


def test_a_401_before_the_first_event_refreshes_once_and_retries() -> None:
    seen: list[str | None] = []

    def handler(request: Request) -> Response:
        seen.append(bearer(request))
        if bearer(request) != "tok_new":
            return error(401, "token_revoked", "the session was revoked")
        return stream_response(sse([RUN, READY]))

    client = sync_client(handler, "tok_old", refresh_fn=lambda: "tok_new")
    assert [ev.type for ev in client.apps.generate_stream("x")] == ["run", "ready"]
    assert seen == ["tok_old", "tok_new"]


async def test_a_stream_never_starts_on_a_token_about_to_expire() -> None:
    seen: list[str | None] = []
    now = [1000.0]
    tokens = iter([{"token": "t1", "expiresIn": 120}, {"token": "t2", "expiresIn": 120}])

    def handler(request: Request) -> Response:
        seen.append(bearer(request))
        return stream_response(sse([RUN, READY]))

    client = async_client(handler, None, refresh_fn=lambda: next(tokens),
                          clock=lambda: now[0])
    assert len([ev async for ev in client.apps.generate_stream("x")]) == 2
    now[0] += 65  # 55 s left: inside the margin
    assert len([ev async for ev in client.apps.generate_stream("x")]) == 2
    assert seen == ["t1", "t2"]


async def test_breaking_out_of_async_for_closes_the_connection_soon_after() -> None:
    """Without ``async with`` the event loop finalizes the abandoned iterator
    (asyncio's async-generator hooks); ``async with`` closes it at once."""
    body = Dropping([sse([RUN, file_event(1)]), sse([file_event(2)], start=3)], drop=False)
    client = async_client(lambda request: stream_response(body))
    async for _ in client.apps.generate_stream("x"):
        break
    for _ in range(10):  # bounded: a few loop turns for the finalizer task
        if body.closed:
            break
        await asyncio.sleep(0)
    assert body.closed


def test_close_mid_stream_closes_the_connection_and_ends_iteration() -> None:
    body = Dropping([sse([RUN, file_event(1)]), sse([file_event(2)], start=3)], drop=False)
    stream = sync_client(lambda request: stream_response(body)).apps.generate_stream("x")
    it = iter(stream)
    assert next(it).type == "run"
    stream.close()
    assert body.closed
    assert list(it) == []


def test_resume_after_a_drop_sends_last_event_id_and_no_body() -> None:
    seen, handler = make_resuming_api()
    list(sync_client(handler).apps.generate_stream("x"))  # type: ignore[arg-type]
    resume = seen[1]
    assert resume.method == "GET" and resume.content is None
    assert resume.headers["accept"] == "text/event-stream"


def test_keep_alive_comments_and_crlf_line_ends_are_handled() -> None:
    body = sse([RUN, file_event(1), READY]).replace(b"\n", b"\r\n")
    body = b": keep-alive\r\n\r\n" + body

    def handler(request: Request) -> Response:
        # one byte per chunk: events cut at every possible point
        return stream_response(Dropping([body[i:i + 1] for i in range(len(body))],
                                        drop=False))

    assert [ev.type for ev in sync_client(handler).apps.generate_stream("x")] == [
        "run", "file", "ready"]


async def test_aclose_mid_stream_closes_the_connection_and_ends_iteration() -> None:
    body = Dropping([sse([RUN, file_event(1)]), sse([file_event(2)], start=3)], drop=False)
    stream = async_client(lambda request: stream_response(body)).apps.generate_stream("x")
    seen = []
    async for ev in stream:
        seen.append(ev.type)
        await stream.aclose()
    assert seen == ["run"] and body.closed


def test_a_drop_before_any_event_resumes_by_the_run_id_header_from_the_start() -> None:
    seen: list[Request] = []
    events = [RUN, file_event(1), READY]

    def handler(request: Request) -> Response:
        seen.append(request)
        if request.path == "/v1/apps/generate":
            return stream_response(Dropping([]))  # headers, then the connection drops
        return stream_response(sse(events))

    got = [ev.type for ev in sync_client(handler).apps.generate_stream("x")]
    assert got == ["run", "file", "ready"]
    assert seen[1].path == "/v1/runs/run_1/events"
    assert "last-event-id" not in seen[1].headers


# -- StreamState, the sans-IO part: what a resume drops and when it gives up ----


def test_a_resume_drops_every_replayed_event_the_caller_has_and_nothing_newer() -> None:
    from pf_browser._streaming import StreamState

    state = StreamState()
    assert [ev.type for ev in state.feed(sse([RUN, file_event(1), file_event(2)]))] == [
        "run", "file", "file"]
    path, headers = state.resume(APIConnectionError("dropped"))
    assert (path, headers) == ("/v1/runs/run_1/events", {"last-event-id": "3"})
    # A server that replays from the start: the three seen events are dropped,
    # in one chunk and across two.
    replay = sse([RUN, file_event(1), file_event(2), file_event(3), READY])
    cut = replay.index(b"id: 3") + 4
    got = [*state.feed(replay[:cut]), *state.feed(replay[cut:])]
    assert got == [FileEvent("f3.txt", 1, "3"), ReadyEvent("app_1", "http://api/preview/app_1/")]
    assert state.last_event_id == "5" and state.finished


def test_drops_that_each_bring_a_new_event_never_give_up_but_empty_ones_do() -> None:
    from pf_browser._streaming import MAX_RESUMES_WITHOUT_PROGRESS, StreamState

    state = StreamState()
    list(state.feed(sse([RUN])))
    for n in range(2, 2 + 3 * MAX_RESUMES_WITHOUT_PROGRESS):
        _, headers = state.resume(APIConnectionError("dropped"))
        assert headers == {"last-event-id": str(n - 1)}
        # each reconnection replays the last event seen, then one new one, then drops
        assert [ev.type for ev in state.feed(sse([file_event(n - 1), file_event(n)],
                                                 start=n - 1))] == ["file"]
    for _ in range(MAX_RESUMES_WITHOUT_PROGRESS):
        state.resume(APIConnectionError("dropped"))
        assert list(state.feed(b": keep-alive\n\n")) == []
    with pytest.raises(APIConnectionError, match="kept dropping"):
        state.resume(APIConnectionError("dropped"))


def test_after_an_id_that_is_not_an_ascii_number_a_resume_starts_over() -> None:
    from pf_browser._streaming import StreamState

    state = StreamState()
    list(state.feed(b'id: \xc2\xb2\nevent: run\ndata: {"runId": "r", "appId": "a"}\n\n'))
    assert state.resume(APIConnectionError("dropped"))[1] == {}
    assert [ev.type for ev in state.feed(b"id: x\nevent: odd\ndata: 1\n\n")] == ["odd"]
