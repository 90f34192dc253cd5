"""Rules of the token and request logic that deliberate breaks of ``_auth.py``,
``_flow.py`` and ``_streaming.py`` showed were not pinned down: each test here
fails against one such break (named in its docstring). Clocks are injected;
nothing waits on real time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from mock_api import async_client, bearer, error, sync_client

from pf_browser import APIConnectionError, AuthenticationError, RefreshError
from pf_browser.transports import Request, Response

USAGE = {"date": "2026-11-28", "quota": 10, "used": 1, "byEndUser": []}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def accepts(*tokens: str) -> tuple[list[str | None], Callable[[Request], Response]]:
    seen: list[str | None] = []

    def handler(request: Request) -> Response:
        seen.append(bearer(request))
        if bearer(request) in tokens:
            return Response(200, json=USAGE)
        return error(401, "token_expired")

    return seen, handler


def minting(*results: object) -> tuple[list[int], Callable[[], object]]:
    """A refresh_fn handing out ``results`` in turn (an exception is raised)."""
    calls: list[int] = []
    queue = list(results)

    def refresh_fn() -> object:
        calls.append(1)
        result = queue.pop(0)
        if isinstance(result, Exception):
            raise result
        return result

    return calls, refresh_fn


def test_a_short_lived_token_is_renewed_at_half_its_life_not_at_once() -> None:
    """Break: the 60 s margin applied whole to a 60 s token (renewed on every call)."""
    seen, handler = accepts("t1", "t2")
    clock = Clock()
    calls, refresh_fn = minting({"token": "t1", "expiresIn": 60},
                                {"token": "t2", "expiresIn": 60})
    client = sync_client(handler, None, refresh_fn=refresh_fn, clock=clock)
    client.usage.retrieve()
    clock.now += 29  # 31 s left of 60: past half its life? not yet
    client.usage.retrieve()
    clock.now += 2   # now past half: renewed first
    client.usage.retrieve()
    assert seen == ["t1", "t1", "t2"] and len(calls) == 2


def test_at_the_renewal_instant_the_token_is_renewed() -> None:
    """Break: ``<`` turned into ``<=`` in ``fresh()`` (one instant late)."""
    seen, handler = accepts("t1", "t2")
    clock = Clock()
    _, refresh_fn = minting({"token": "t1", "expiresIn": 600},
                            {"token": "t2", "expiresIn": 600})
    client = sync_client(handler, None, refresh_fn=refresh_fn, clock=clock)
    client.usage.retrieve()
    clock.now += 540  # exactly expiry less the 60 s margin
    client.usage.retrieve()
    assert seen == ["t1", "t2"]


@pytest.mark.parametrize("expires_in", [True, "600", None])
def test_an_expires_in_that_is_not_a_number_is_ignored(expires_in: object) -> None:
    """Break: ``expiresIn: true`` read as 1 second (bool is an int in Python)."""
    seen, handler = accepts("t1", "t2")
    clock = Clock()
    calls, refresh_fn = minting({"token": "t1", "expiresIn": expires_in}, "t2")
    client = sync_client(handler, None, refresh_fn=refresh_fn, clock=clock)
    client.usage.retrieve()
    clock.now += 3600  # no lifetime known: renewed on a 401 only
    client.usage.retrieve()
    assert seen == ["t1", "t1"] and len(calls) == 1


def test_a_success_after_a_failure_clears_it() -> None:
    """Break: a successful refresh leaves the last failure in place, so a later
    401 within the cool-down gets that old RefreshError instead of a refresh."""
    seen, handler = accepts("t3")
    clock = Clock()
    calls, refresh_fn = minting(ConnectionError("down"), "t2", "t3")
    client = sync_client(handler, None, refresh_fn=refresh_fn, clock=clock)
    with pytest.raises(RefreshError):
        client.usage.retrieve()
    client.refresh_token()  # on demand: works during the cool-down
    client.usage.retrieve()  # t2 gets a 401, still within the cool-down's seconds
    assert seen == ["t2", "t3"] and len(calls) == 3


async def test_a_401_after_a_newer_token_that_is_already_stale_refreshes_again() -> None:
    """Break: a token newer than the one that got 401 is used as is, even when
    it is already due for renewal (here: minted with no time left)."""
    slow_gate = asyncio.Event()
    sent: list[str | None] = []

    async def handler(request: Request) -> Response:
        token = bearer(request)
        sent.append(token)
        if token == "stale":
            if request.params.get("date") == "slow":
                await slow_gate.wait()  # its 401 comes after the fast one refreshed
            return error(401, "token_expired")
        return Response(200, json=USAGE)

    calls: list[int] = []

    def refresh_fn() -> object:
        calls.append(1)
        slow_gate.set()
        if len(calls) == 1:
            return {"token": "dead-on-arrival", "expiresIn": 0}
        return {"token": "fresh", "expiresIn": 600}

    client = async_client(handler, "stale", refresh_fn=refresh_fn)  # type: ignore[arg-type]
    slow = asyncio.ensure_future(client.usage.retrieve(date="slow"))
    await asyncio.sleep(0)
    await client.usage.retrieve(date="fast")
    await slow
    assert len(calls) == 2 and sent[-1] == "fresh"


def test_a_request_refreshes_at_most_once_even_across_its_retries() -> None:
    """Break: the renew-before-send step repeated on each connection retry, so
    one request calls refresh_fn again and again (the contract: one refresh per request)."""
    attempts: list[str | None] = []

    def handler(request: Request) -> Response:
        attempts.append(bearer(request))
        if len(attempts) == 1:
            raise APIConnectionError("connection reset")
        return error(401, "token_expired")

    calls, refresh_fn = minting({"token": "dead", "expiresIn": -5},
                                {"token": "dead2", "expiresIn": -5})
    client = sync_client(handler, None, refresh_fn=refresh_fn, max_retries=2)
    with pytest.raises(AuthenticationError):
        client.usage.retrieve()
    assert len(calls) == 1 and attempts == ["dead", "dead"]


def test_only_requests_with_a_body_say_content_type() -> None:
    """Break: ``content-type: application/json`` on every request, GETs included."""
    seen: list[Request] = []

    def handler(request: Request) -> Response:
        seen.append(request)
        if request.method == "POST":
            return Response(200, json={"revoked": 1})
        return Response(200, json=USAGE)

    client = sync_client(handler)
    client.usage.retrieve()
    client.sessions.revoke_end_user("u1")
    get, post = seen
    assert "content-type" not in get.headers and get.content is None
    assert post.headers["content-type"] == "application/json" and post.json() == {
        "endUserId": "u1"}
