"""The request flow without any I/O: fed replies, it answers with actions."""

from __future__ import annotations

import json

import pytest

from pf_browser import AuthenticationError, PermissionDeniedError
from pf_browser._auth import TokenState
from pf_browser._exceptions import APIConnectionError
from pf_browser._flow import Endpoint, Refresh, Send, Sleep, request_flow
from pf_browser._replies import Reply
from pf_browser._retry import RetryPolicy


def endpoint(token: str | None = "t0", can_refresh: bool = True) -> Endpoint:
    auth = TokenState(token, can_refresh=can_refresh, clock=lambda: 0.0)
    return Endpoint("http://api", 5.0, RetryPolicy(max_retries=2, rand=lambda: 0.0), auth)


def reply(status: int, code: str = "x", **headers: str) -> Reply:
    body = {"error": {"type": "e", "code": code, "message": "m"}} if status >= 400 else {}
    return Reply(status, headers, json.dumps(body).encode())


def test_a_401_asks_for_one_refresh_then_sends_again_with_the_new_token() -> None:
    ep = endpoint()
    flow = request_flow(ep, "GET", "/v1/apps")
    first = next(flow)
    assert isinstance(first, Send) and first.request.headers["authorization"] == "Bearer t0"
    assert flow.send(reply(401)) == Refresh(0)
    ep.auth.token, ep.auth.generation = "t1", 1  # what the driver's refresh did
    again = flow.send(None)
    assert isinstance(again, Send) and again.request.headers["authorization"] == "Bearer t1"
    with pytest.raises(AuthenticationError):
        flow.send(reply(401))


def test_a_403_ends_the_flow_without_asking_for_anything() -> None:
    flow = request_flow(endpoint(), "POST", "/v1/apps/generate", body={"prompt": "p"},
                        stream=True)
    send = next(flow)
    assert isinstance(send, Send) and send.stream
    assert send.request.headers["content-type"] == "application/json"
    with pytest.raises(PermissionDeniedError):
        flow.send(reply(403, "insufficient_scope"))


def test_a_connection_error_asks_to_sleep_then_sends_again() -> None:
    flow = request_flow(endpoint(), "GET", "/v1/apps")
    next(flow)
    assert flow.throw(APIConnectionError()) == Sleep(0.25)
    assert isinstance(flow.send(None), Send)


def test_a_rate_limit_asks_to_sleep_for_retry_after() -> None:
    flow = request_flow(endpoint(), "GET", "/v1/apps")
    next(flow)
    assert flow.send(reply(429, "rate_limited", **{"retry-after": "3"})) == Sleep(3.0)


def test_with_no_token_yet_the_first_action_is_a_refresh() -> None:
    flow = request_flow(endpoint(token=None), "GET", "/v1/apps")
    assert next(flow) == Refresh(0)


def test_a_success_returns_the_reply() -> None:
    flow = request_flow(endpoint(), "GET", "/v1/apps")
    next(flow)
    ok = reply(200)
    with pytest.raises(StopIteration) as stop:
        flow.send(ok)
    assert stop.value.value is ok
