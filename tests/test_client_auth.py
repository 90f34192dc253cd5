"""Token lifecycle (docs/api.md): one refresh at a time, at most one retry, 403 final,
failing refreshes cooled down, renewal ahead of expiry, secrets kept secret."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import threading
from collections.abc import Callable

import pytest
from mock_api import async_client, bearer, error, sync_client

from pf_browser import (
    AsyncPromptFloe,
    AuthenticationError,
    PermissionDeniedError,
    PromptFloe,
    PromptFloeError,
    RefreshError,
)
from pf_browser.transports import Request, Response

USAGE = {"date": "2026-11-28", "quota": 10, "used": 1,
         "byEndUser": [{"endUserId": "u1", "runs": 1, "calls": 2}]}


def accepts(*tokens: str) -> tuple[list[str | None], Callable[[Request], Response]]:
    """An API that answers 200 to these tokens and 401 to any other."""
    seen: list[str | None] = []

    def handler(request: Request) -> Response:
        seen.append(bearer(request))
        if bearer(request) in tokens:
            return Response(200, json=USAGE)
        return error(401, "token_expired", "The session token expired.")

    return seen, handler


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_50_concurrent_401s_share_one_refresh_call() -> None:
    _, handler = accepts("fresh")
    calls = 0

    async def refresh_fn() -> str:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)  # every request piles up behind this one
        return "fresh"

    client = async_client(handler, "stale", refresh_fn=refresh_fn)
    results = await asyncio.gather(*(client.usage.retrieve() for _ in range(50)))
    assert len(results) == 50 and calls == 1


def test_threads_that_all_hit_a_401_wait_for_one_refresh_fn_call() -> None:
    """refresh_fn is held until every thread has had its 401, so without the
    lock around refresh they would all be inside it at once."""
    threads_n = 6
    got_401 = threading.Semaphore(0)
    calls = 0
    inside = 0
    most_inside = 0
    guard = threading.Lock()

    def handler(request: Request) -> Response:
        if bearer(request) == "fresh":
            return Response(200, json=USAGE)
        got_401.release()
        return error(401, "token_expired")

    def refresh_fn() -> str:
        nonlocal calls, inside, most_inside
        with guard:
            calls += 1
            inside += 1
            most_inside = max(most_inside, inside)
        for _ in range(threads_n):  # every thread has had its 401 before we return
            assert got_401.acquire(timeout=30)
        for _ in range(threads_n):
            got_401.release()  # let any other (lockless) caller pass too
        with guard:
            inside -= 1
        return "fresh"

    client = sync_client(handler, "stale", refresh_fn=refresh_fn)
    errors: list[BaseException] = []

    def call() -> None:
        try:
            client.usage.retrieve()
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=call) for _ in range(threads_n)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(60)
    assert errors == [] and not any(t.is_alive() for t in workers)
    assert calls == 1 and most_inside == 1


def test_concurrent_401s_in_threads_share_one_refresh_call() -> None:
    _, handler = accepts("fresh")
    calls = 0
    gate = threading.Barrier(8)

    def refresh_fn() -> str:
        nonlocal calls
        calls += 1
        return "fresh"

    client = sync_client(handler, "stale", refresh_fn=refresh_fn)

    def call() -> None:
        gate.wait()
        client.usage.retrieve()

    threads = [threading.Thread(target=call) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == 1


def test_a_second_401_raises_and_refresh_fn_is_called_once() -> None:
    seen, handler = accepts()  # nothing is accepted
    calls = []

    def refresh_fn() -> str:
        calls.append(1)
        if len(calls) > 3:  # a refresh loop fails the test instead of hanging it
            raise AssertionError("refresh_fn called again and again")
        return "also_bad"

    client = sync_client(handler, "stale", refresh_fn=refresh_fn)
    with pytest.raises(AuthenticationError, match="newly minted"):
        client.usage.retrieve()
    assert calls == [1] and seen == ["stale", "also_bad"]


def test_403_is_final_no_refresh_no_retry() -> None:
    calls = []
    requests = []

    def handler(request: Request) -> Response:
        requests.append(request)
        return error(403, "insufficient_scope", "This session lacks the build scope.")

    def refresh_fn() -> str:
        calls.append(1)
        return "x"

    client = sync_client(handler, "tok", refresh_fn=refresh_fn)
    with pytest.raises(PermissionDeniedError):
        client.usage.retrieve()
    assert calls == [] and len(requests) == 1


def test_failing_refresh_fn_raises_refresh_error_with_its_cause_and_cools_down() -> None:
    _, handler = accepts("fresh")
    clock = Clock()
    calls = 0

    def refresh_fn() -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("session endpoint unreachable")
        return "fresh"

    client = sync_client(handler, "stale", refresh_fn=refresh_fn, clock=clock)
    with pytest.raises(RefreshError) as first:
        client.usage.retrieve()
    assert isinstance(first.value.__cause__, ConnectionError)
    with pytest.raises(RefreshError) as second:  # within the cool-down: no new call
        client.usage.retrieve()
    assert isinstance(second.value.__cause__, ConnectionError) and calls == 1
    clock.now += 30
    assert client.usage.retrieve().used == 1 and calls == 2


def test_refresh_fn_returning_nothing_is_a_refresh_error() -> None:
    _, handler = accepts("fresh")
    client = sync_client(handler, None, refresh_fn=lambda: None)
    with pytest.raises(RefreshError, match="not a token"):
        client.usage.retrieve()


def test_the_token_is_renewed_ahead_of_expiry_without_a_401() -> None:
    seen, handler = accepts("t1", "t2")
    clock = Clock()
    tokens = iter([{"token": "t1", "expiresIn": 600}, {"token": "t2", "expiresIn": 600}])
    client = sync_client(handler, None, refresh_fn=lambda: next(tokens), clock=clock)
    client.usage.retrieve()
    clock.now += 500  # 100 s left: inside the 60 s margin? no — still fresh
    client.usage.retrieve()
    clock.now += 50   # 50 s left: renew first
    client.usage.retrieve()
    assert seen == ["t1", "t1", "t2"]


class WallClock:
    """Unix seconds that move with a :class:`Clock`: both clocks injected, so
    expiry is tested against the test's time, not the machine's."""

    def __init__(self, clock: Clock, at: str) -> None:
        from datetime import datetime

        self._clock = clock
        self._start = clock.now
        self._wall = datetime.fromisoformat(at).timestamp()

    def __call__(self) -> float:
        return self._wall + self._clock.now - self._start


def test_expires_at_is_read_when_expires_in_is_missing() -> None:
    seen, handler = accepts("t1", "t2")
    clock = Clock()
    wall = WallClock(clock, "2026-11-28T12:00:00+00:00")
    tokens = iter([{"token": "t1", "expiresAt": "2026-11-28T12:10:00Z"}, "t2"])
    client = sync_client(handler, None, refresh_fn=lambda: next(tokens), clock=clock,
                         wall_clock=wall)
    client.usage.retrieve()
    clock.now += 500  # 100 s left: still fresh
    client.usage.retrieve()
    clock.now += 50   # 50 s left, inside the 60 s margin: renewed before sending
    client.usage.retrieve()
    assert seen == ["t1", "t1", "t2"]


async def test_expires_at_in_the_past_renews_at_once_in_the_async_client() -> None:
    seen, handler = accepts("t1", "t2")
    clock = Clock()
    wall = WallClock(clock, "2026-11-28T12:00:00+00:00")
    tokens = iter([{"token": "t1", "expires_at": "2026-11-28T11:59:00Z"},
                   {"token": "t2", "expiresAt": "2026-11-28T13:00:00Z"}])
    client = async_client(handler, None, refresh_fn=lambda: next(tokens), clock=clock,
                          wall_clock=wall)
    await client.usage.retrieve()  # t1 is already past expiry: the next call renews
    await client.usage.retrieve()
    assert seen == ["t1", "t2"]


async def test_async_refresh_fn_may_be_sync_or_async() -> None:
    _, handler = accepts("fresh")
    client = async_client(handler, None, refresh_fn=lambda: "fresh")
    assert (await client.usage.retrieve()).quota == 10


def test_session_url_fetches_the_first_token_on_first_use_without_authorization() -> None:
    session_posts: list[Request] = []

    def handler(request: Request) -> Response:
        if request.path == "/api/promptfloe/session":
            session_posts.append(request)
            return Response(200, json={"token": "pf_sess_a", "expiresIn": 1800,
                                             "expiresAt": "2100-01-01T00:00:00Z"})
        assert bearer(request) == "pf_sess_a"
        return Response(200, json=USAGE)

    client = sync_client(handler, None, session_url="http://app/api/promptfloe/session")
    assert session_posts == []
    client.usage.retrieve()
    client.usage.retrieve()
    assert len(session_posts) == 1
    assert "authorization" not in session_posts[0].headers
    assert session_posts[0].method == "POST"


async def test_session_endpoint_saying_signed_out_raises_refresh_error_with_the_status() -> None:
    def handler(request: Request) -> Response:
        return error(401, "signed_out", "You are signed out.")

    client = async_client(handler, None, session_url="http://app/session")
    with pytest.raises(RefreshError) as info:
        await client.usage.retrieve()
    cause = info.value.__cause__
    assert isinstance(cause, AuthenticationError) and cause.status_code == 401


async def test_refresh_token_renews_on_demand() -> None:
    seen, handler = accepts("t1", "t2")
    tokens = iter(["t1", "t2"])
    client = async_client(handler, None, refresh_fn=lambda: next(tokens))
    await client.usage.retrieve()
    await client.refresh_token()
    await client.usage.retrieve()
    assert seen == ["t1", "t2"]


async def test_a_failed_refresh_token_leaves_no_previous_token_in_the_client() -> None:
    # The end user signed out (the session endpoint refuses) or switched: the
    # previous user's token must not be sent again, by any later call.
    seen, handler = accepts("ada_token")
    results: list[object] = ["ada_token", PermissionError("signed out")]

    def refresh_fn() -> object:
        result = results.pop(0)
        if isinstance(result, Exception):
            raise result
        return result

    client = async_client(handler, None, refresh_fn=refresh_fn)
    await client.usage.retrieve()
    with pytest.raises(RefreshError):
        await client.refresh_token()
    assert "ada_token" not in repr(vars(client._auth)), "the old token is still held"
    with pytest.raises(RefreshError):
        await client.usage.retrieve()  # no token, and none to be had: nothing is sent
    assert seen == ["ada_token"]


def test_a_static_session_token_without_refresh_raises_authentication_error() -> None:
    _, handler = accepts()
    with pytest.raises(AuthenticationError, match="session_url"):
        sync_client(handler, "pf_sess_old").usage.retrieve()


def test_no_credential_at_all_is_refused_with_advice() -> None:
    with pytest.raises(PromptFloeError, match="session_url"):
        PromptFloe()


@pytest.mark.parametrize("key", ["pf_live_abc", "pf_test_abc"])
def test_secret_key_is_refused_in_a_browser(monkeypatch: pytest.MonkeyPatch, key: str) -> None:
    monkeypatch.setattr(sys, "platform", "emscripten")
    with pytest.raises(PromptFloeError, match="secret") as info:
        AsyncPromptFloe(api_key=key, transport=object())  # type: ignore[arg-type]
    assert key not in str(info.value)
    AsyncPromptFloe(api_key=key, transport=object(), dangerously_allow_browser=True)  # type: ignore[arg-type]
    AsyncPromptFloe(api_key="pf_sess_fine", transport=object())  # type: ignore[arg-type]


def test_refresh_fn_handing_a_secret_key_to_a_browser_is_refused(
        monkeypatch: pytest.MonkeyPatch) -> None:
    _, handler = accepts("pf_live_oops")
    client = sync_client(handler, None, refresh_fn=lambda: "pf_live_oops")
    monkeypatch.setattr(sys, "platform", "emscripten")
    with pytest.raises(RefreshError, match="secret"):
        client.usage.retrieve()


def test_no_token_in_reprs_messages_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    secret = "pf_sess_SECRET123"
    newer = "pf_sess_NEWER456"
    _, handler = accepts(newer)
    caplog.set_level(logging.DEBUG)
    client = sync_client(handler, secret, refresh_fn=lambda: newer)
    client.usage.retrieve()
    texts = [repr(client), str(client)]
    bad = sync_client(accepts()[1], secret, refresh_fn=lambda: newer + "x")
    with pytest.raises(AuthenticationError) as info:
        bad.usage.retrieve()
    texts += [str(info.value), repr(info.value), caplog.text]
    for text in texts:
        assert "SECRET123" not in text and "NEWER456" not in text, text


def test_session_repr_hides_the_token() -> None:
    from datetime import UTC, datetime

    from pf_browser import Session

    s = Session("sess_1", "pf_sess_HIDDEN", "u1", ("build",), datetime.now(UTC), 60)
    assert "HIDDEN" not in repr(s)


def test_import_pf_browser_does_not_import_httpx() -> None:
    code = "import sys, pf_browser; print('httpx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


async def test_50_concurrent_first_calls_fetch_one_token() -> None:
    _, handler = accepts("first")
    calls = 0

    async def refresh_fn() -> dict[str, object]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0)
        return {"token": "first", "expiresIn": 1800}

    client = async_client(handler, None, refresh_fn=refresh_fn)
    await asyncio.gather(*(client.usage.retrieve() for _ in range(50)))
    assert calls == 1


async def test_50_concurrent_calls_on_an_expired_token_renew_it_once_without_a_401() -> None:
    seen, handler = accepts("t1", "t2")
    clock = Clock()
    tokens = iter([{"token": "t1", "expiresIn": 600}, {"token": "t2", "expiresIn": 600}])
    calls = 0

    def refresh_fn() -> object:
        nonlocal calls
        calls += 1
        return next(tokens)

    client = async_client(handler, None, refresh_fn=refresh_fn, clock=clock)
    await client.usage.retrieve()
    clock.now += 700  # expired
    await asyncio.gather(*(client.usage.retrieve() for _ in range(50)))
    assert calls == 2 and seen[1:] == ["t2"] * 50


async def test_a_401_for_a_token_already_replaced_retries_with_the_new_one() -> None:
    """A stale refresh is dropped: the slow request's 401 came for the old
    token, a newer one arrived meanwhile, so it is used without a new call."""
    slow_gate = asyncio.Event()
    calls = 0

    async def handler(request: Request) -> Response:
        token = bearer(request)
        if token == "fresh":
            return Response(200, json=USAGE)
        if request.params.get("date") == "slow":
            await slow_gate.wait()  # answers 401 only after the fast one refreshed
        return error(401, "token_expired")

    def refresh_fn() -> str:
        nonlocal calls
        calls += 1
        slow_gate.set()
        return "fresh"

    client = async_client(handler, "stale", refresh_fn=refresh_fn)  # type: ignore[arg-type]
    slow = asyncio.ensure_future(client.usage.retrieve(date="slow"))
    await asyncio.sleep(0)
    await client.usage.retrieve(date="fast")
    await slow
    assert calls == 1


def test_a_401_right_after_renewing_ahead_of_expiry_is_final() -> None:
    """At most one refresh per request, whether it came before the send or after a 401."""
    seen, handler = accepts()
    clock = Clock()
    calls = []

    def refresh_fn() -> object:
        calls.append(1)
        return {"token": f"t{len(calls)}", "expiresIn": 600}

    client = sync_client(handler, None, refresh_fn=refresh_fn, clock=clock)
    with pytest.raises(AuthenticationError, match="newly minted"):
        client.usage.retrieve()
    assert calls == [1] and seen == ["t1"]


def test_refresh_fn_returning_an_expired_token_is_called_once_per_request() -> None:
    seen, handler = accepts()
    calls = []

    def refresh_fn() -> object:
        calls.append(1)
        return {"token": "dead", "expiresIn": -5}

    with pytest.raises(AuthenticationError):
        sync_client(handler, None, refresh_fn=refresh_fn).usage.retrieve()
    assert calls == [1] and seen == ["dead"]


@pytest.mark.parametrize("status", [401, 403])
def test_session_endpoint_refusing_is_final_and_the_api_is_not_called(status: int) -> None:
    api_calls = []

    def handler(request: Request) -> Response:
        if request.path == "/session":
            return error(status, "signed_out", "Sign in first.")
        api_calls.append(request)
        return Response(200, json=USAGE)

    client = sync_client(handler, None, session_url="http://app/session")
    with pytest.raises(RefreshError, match=f"answered {status}.*sign them in") as info:
        client.usage.retrieve()
    assert getattr(info.value.__cause__, "status_code", None) == status
    assert api_calls == []


def test_session_expiry_is_measured_against_the_servers_date_not_our_clock() -> None:
    """expiresAt - Date gives the lifetime even when the local wall clock is
    hours off; it is counted on the local monotonic clock from arrival."""
    seen, handler_api = accepts("s1", "s2")
    clock = Clock()
    minted = iter(["s1", "s2"])

    def handler(request: Request) -> Response:
        if request.path == "/session":
            return Response(
                200, json={"token": next(minted), "expiresAt": "2001-01-01T00:10:00Z"},
                headers={"Date": "Mon, 01 Jan 2001 00:00:00 GMT"})  # 600 s to live
        return handler_api(request)

    client = sync_client(handler, None, session_url="http://app/session", clock=clock)
    client.usage.retrieve()
    clock.now += 500
    client.usage.retrieve()
    clock.now += 50  # inside the 60 s margin
    client.usage.retrieve()
    assert seen == ["s1", "s1", "s2"]


def test_sync_refresh_token_renews_on_demand_even_during_a_cool_down() -> None:
    seen, handler = accepts("t2")
    clock = Clock()
    results: list[object] = [ConnectionError("down"), "t2"]

    def refresh_fn() -> object:
        result = results.pop(0)
        if isinstance(result, Exception):
            raise result
        return result

    client = sync_client(handler, None, refresh_fn=refresh_fn, clock=clock)
    with pytest.raises(RefreshError):
        client.usage.retrieve()
    client.refresh_token()  # the user signed in again: no waiting out the cool-down
    client.usage.retrieve()
    assert seen == ["t2"]


def test_refresh_token_without_a_way_to_refresh_says_what_is_missing() -> None:
    with pytest.raises(PromptFloeError, match="session_url"):
        sync_client(accepts()[1], "pf_sess_x").refresh_token()


def test_sync_client_refuses_an_async_refresh_fn() -> None:
    async def refresh_fn() -> str:
        return "x"

    with pytest.raises(TypeError, match="AsyncPromptFloe"):
        PromptFloe(refresh_fn=refresh_fn, transport=object())  # type: ignore[arg-type]


async def test_50_concurrent_401s_with_a_failing_refresh_fn_make_one_call() -> None:
    _, handler = accepts("fresh")
    calls = 0

    async def refresh_fn() -> str:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0)
        raise ConnectionError("session endpoint down")

    client = async_client(handler, "stale", refresh_fn=refresh_fn, clock=Clock())
    results = await asyncio.gather(*(client.usage.retrieve() for _ in range(50)),
                                   return_exceptions=True)
    assert calls == 1
    assert all(isinstance(r, RefreshError) and isinstance(r.__cause__, ConnectionError)
               for r in results)


def test_a_refresh_error_raised_by_the_client_itself_is_not_its_own_cause() -> None:
    client = sync_client(accepts()[1], None, refresh_fn=lambda: {"no": "token"})
    with pytest.raises(RefreshError) as info:
        client.usage.retrieve()
    assert info.value.__cause__ is not info.value


def test_pf_browser_transports_imports_each_transport_only_when_asked() -> None:
    code = ("import sys, pf_browser.transports as t; print('httpx' in sys.modules); "
            "print(t.HttpxTransport.__name__, t.AsyncHttpxTransport.__name__); "
            "print('httpx' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split("\n")[:3] == ["False", "HttpxTransport AsyncHttpxTransport", "True"]
    import pf_browser.transports as transports

    with pytest.raises(AttributeError, match="NoSuchTransport"):
        transports.NoSuchTransport  # noqa: B018
