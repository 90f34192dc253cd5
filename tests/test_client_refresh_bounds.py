"""refresh_fn and the session endpoint get the client's timeout.

One that hangs raises RefreshError instead of holding the refresh lock, which
every later request of the client waits on. The sync client runs a sync
refresh_fn in a helper thread (a thread cannot be interrupted) and, while a
timed-out call still hangs, waits on that same call again instead of starting
another. Timeouts here are short so the tests are quick; nothing asserts how
long anything took.
"""

from __future__ import annotations

import asyncio
import contextvars
import socket
import threading
from collections.abc import Iterator

import pytest
from mock_api import async_client, bearer, sync_client

from pf_browser import APITimeoutError, PromptFloe, RefreshError
from pf_browser.transports import Request, Response

USAGE = {"date": "2026-11-28", "quota": 10, "used": 1, "byEndUser": []}
WAIT = 30.0  # a bound on waits for the test's own threads, never reached when all is well


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def accepts(token: str):  # type: ignore[no-untyped-def]
    seen: list[str | None] = []

    def handler(request: Request) -> Response:
        seen.append(bearer(request))
        return Response(200, json=USAGE)

    return seen, handler


def test_a_hung_sync_refresh_fn_raises_refresh_error_and_is_not_called_again_while_it_hangs(
        ) -> None:
    release = threading.Event()
    calls = []
    clock = Clock()

    def refresh_fn() -> str:
        calls.append(1)
        if len(calls) == 1:
            release.wait(WAIT)  # hangs until the test lets it go
            return "pf_sess_late"
        return "pf_sess_good"

    seen, handler = accepts("pf_sess_good")
    client = sync_client(handler, None, refresh_fn=refresh_fn, timeout=0.2, clock=clock)
    with pytest.raises(RefreshError, match=r"did not answer within 0\.2 seconds"):
        client.usage.retrieve()
    with pytest.raises(RefreshError):  # cool-down: at once, no new call
        client.usage.retrieve()
    clock.now += 60
    with pytest.raises(RefreshError, match="did not answer"):  # waits on the same call
        client.usage.retrieve()
    assert calls == [1] and seen == []
    release.set()
    for thread in threading.enumerate():
        if thread.name == "pf_browser refresh_fn":
            thread.join(WAIT)
    clock.now += 60
    client.usage.retrieve()  # the late result was dropped; a new call is made
    assert calls == [1, 1] and seen == ["pf_sess_good"]


def test_a_hung_refresh_fn_does_not_block_other_threads_for_good() -> None:
    release = threading.Event()
    seen, handler = accepts("x")
    client = sync_client(handler, None, timeout=0.2, clock=Clock(),
                         refresh_fn=lambda: release.wait(WAIT) and "never")
    errors: list[BaseException] = []

    def call() -> None:
        try:
            client.usage.retrieve()
        except RefreshError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT)
    release.set()
    assert not any(t.is_alive() for t in threads)
    assert len(errors) == 5 and seen == []


def test_a_sync_refresh_fn_sees_the_callers_context_and_its_errors_come_through() -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")
    var.set("caller's")
    got = []

    def refresh_fn() -> str:
        got.append(var.get())
        raise ConnectionError("session endpoint down")

    client = sync_client(accepts("x")[1], None, refresh_fn=refresh_fn, timeout=5)
    with pytest.raises(RefreshError) as info:
        client.usage.retrieve()
    assert got == ["caller's"] and isinstance(info.value.__cause__, ConnectionError)


def test_with_no_timeout_refresh_fn_runs_in_the_callers_thread() -> None:
    threads = []

    def refresh_fn() -> str:
        threads.append(threading.current_thread())
        return "t"

    client = sync_client(accepts("t")[1], None, timeout=None, refresh_fn=refresh_fn)
    client.usage.retrieve()
    assert threads == [threading.current_thread()]


async def test_a_hung_async_refresh_fn_raises_refresh_error_and_is_cancelled() -> None:
    cancelled = asyncio.Event()
    clock = Clock()
    calls = []

    async def refresh_fn() -> str:
        calls.append(1)
        if len(calls) > 1:
            return "pf_sess_good"
        try:
            await asyncio.sleep(WAIT)  # bounded: a break fails, never hangs
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "never"

    seen, handler = accepts("pf_sess_good")
    client = async_client(handler, None, refresh_fn=refresh_fn, timeout=0.2, clock=clock)
    results = await asyncio.gather(*(client.usage.retrieve() for _ in range(5)),
                                   return_exceptions=True)
    assert all(isinstance(r, RefreshError) for r in results)
    assert "did not answer within 0.2 seconds" in str(results[0])
    assert cancelled.is_set() and calls == [1]
    clock.now += 60
    await client.usage.retrieve()
    assert seen == ["pf_sess_good"]


async def test_a_session_endpoint_that_never_answers_raises_refresh_error() -> None:
    async def handler(request: Request) -> Response:
        if request.path == "/session":
            await asyncio.sleep(WAIT)  # bounded: a break fails, never hangs
        return Response(200, json=USAGE)

    client = async_client(handler, None, session_url="http://app/session",  # type: ignore[arg-type]
                          timeout=0.2)
    with pytest.raises(RefreshError, match="The session endpoint did not answer"):
        await client.usage.retrieve()


async def test_an_async_refresh_fns_own_timeout_is_not_taken_for_ours() -> None:
    async def refresh_fn() -> str:
        raise TimeoutError("the identity provider timed out")

    client = async_client(accepts("x")[1], None, refresh_fn=refresh_fn, timeout=5)
    with pytest.raises(RefreshError, match="identity provider") as info:
        await client.usage.retrieve()
    assert "did not answer within" not in str(info.value)


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A socket that accepts connections and never answers: a hung app server."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/session"
    stop.set()
    thread.join(WAIT)
    for conn in accepted:
        conn.close()
    listener.close()


def test_a_hung_session_endpoint_over_a_real_socket_raises_refresh_error(
        silent_server: str) -> None:
    with PromptFloe(session_url=silent_server, base_url="http://127.0.0.1:9",
                    timeout=0.3) as client:
        with pytest.raises(RefreshError) as info:
            client.apps.list()
    assert isinstance(info.value.__cause__, APITimeoutError)
