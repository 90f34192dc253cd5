"""Each generate call carries its own Idempotency-Key, reused on that call's retries;
a request that never left is not retried at all."""

from __future__ import annotations

import socket
from typing import Any

import httpx
import pytest
from mock_api import READY, RUN, Dropping, async_client, file_event, sse, sync_client

from pf_browser import APIConnectionError, PromptFloe
from pf_browser._auth import TokenState
from pf_browser._flow import Endpoint, Send, request_flow
from pf_browser._retry import RetryPolicy
from pf_browser.transports import Request, Response

STREAM_HEADERS = {"content-type": "text/event-stream", "promptfloe-run-id": "run_1"}


def _stream() -> Response:
    return Response(200, content=sse([RUN, file_event(1), READY]), headers=STREAM_HEADERS)


def test_each_generate_call_sends_a_fresh_key_and_its_retries_send_the_same_one() -> None:
    keys: list[str | None] = []

    def handler(request: Request) -> Response:
        keys.append(request.headers.get("idempotency-key"))
        if len(keys) in (1, 2):  # the first call's first two tries never get an answer
            raise APIConnectionError("Server disconnected without sending a response.")
        return _stream()

    with sync_client(handler) as client:
        for _ in range(2):
            with client.apps.generate_stream("a bakery") as stream:
                assert [e.type for e in stream] == ["run", "file", "ready"]
    first, retry1, retry2, second = keys
    assert first is not None and 9 <= len(first) <= 255 and first.isascii()
    assert first == retry1 == retry2  # one call: one key across its retries
    assert second is not None and second != first  # a new call: a new key


async def test_the_async_client_sends_one_key_per_call_too() -> None:
    keys: list[str | None] = []

    def handler(request: Request) -> Response:
        keys.append(request.headers.get("idempotency-key"))
        if len(keys) == 1:
            raise APIConnectionError("connection reset")
        return _stream()

    async with async_client(handler) as client:
        for _ in range(2):
            async with client.apps.generate_stream("a bakery") as stream:
                assert [e.type async for e in stream] == ["run", "file", "ready"]
    assert keys[0] == keys[1] != keys[2]


def test_only_generate_sends_an_idempotency_key() -> None:
    seen: list[Request] = []

    def handler(request: Request) -> Response:
        seen.append(request)
        return Response(200, json={"data": [], "nextCursor": None})

    with sync_client(handler) as client:
        client.apps.list()
    assert "idempotency-key" not in seen[0].headers


def test_a_resumed_stream_does_not_send_the_key() -> None:
    seen: list[Request] = []

    def handler(request: Request) -> Response:
        seen.append(request)
        if request.method == "POST":
            return Response(200, stream=Dropping([sse([RUN])]), headers=STREAM_HEADERS)
        return Response(200, content=sse([file_event(2), READY], start=2),
                        headers=STREAM_HEADERS)

    with sync_client(handler) as client, client.apps.generate_stream("p") as stream:
        assert [e.type for e in stream] == ["run", "file", "ready"]
    assert [r.method for r in seen] == ["POST", "GET"]
    assert "idempotency-key" in seen[0].headers and "idempotency-key" not in seen[1].headers


def test_a_request_that_never_left_is_not_retried() -> None:
    tries: list[Request] = []

    def handler(request: Request) -> Response:
        tries.append(request)
        raise APIConnectionError("The host name does not resolve.", request_sent=False)

    with sync_client(handler, max_retries=5) as client, pytest.raises(APIConnectionError):
        client.apps.list()
    assert len(tries) == 1


def test_a_dropped_connection_is_retried_as_before() -> None:
    tries: list[Request] = []

    def handler(request: Request) -> Response:
        tries.append(request)
        raise APIConnectionError("connection refused")

    with sync_client(handler, max_retries=2) as client, pytest.raises(APIConnectionError):
        client.apps.list()
    assert len(tries) == 3


def test_a_base_url_with_another_scheme_fails_at_once_in_every_runtime() -> None:
    auth = TokenState("t", can_refresh=False, clock=lambda: 0.0)
    endpoint = Endpoint("ftp://api", 5.0, RetryPolicy(), auth)
    flow = request_flow(endpoint, "GET", "/v1/apps")
    with pytest.raises(APIConnectionError, match="http:// or https://") as caught:
        next(flow)
    assert caught.value.request_sent is False
    # A relative base URL (a page's own origin, in a browser) is sent as is.
    relative = request_flow(Endpoint("/api", 5.0, RetryPolicy(), auth), "GET", "/v1/apps")
    assert isinstance(next(relative), Send)


@pytest.mark.parametrize("failure", [
    httpx.UnsupportedProtocol("Request URL has an unsupported protocol 'ftp://'."),
    httpx.ConnectError("[Errno -2] Name or service not known"),
])
def test_through_httpx_a_bad_scheme_or_dns_failure_is_one_try(
        failure: httpx.TransportError) -> None:
    tries: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        tries.append(request)
        if isinstance(failure, httpx.ConnectError):
            try:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            except socket.gaierror as dns:
                raise failure from dns
        raise failure

    client = PromptFloe(api_key="pf_sess_x", base_url="http://api", max_retries=5,
                        http_client=httpx.Client(transport=httpx.MockTransport(handler)))
    with client, pytest.raises(APIConnectionError) as caught:
        client.apps.list()
    assert len(tries) == 1 and caught.value.request_sent is False
    assert "base_url" in str(caught.value)


def test_a_name_that_does_not_resolve_gets_one_try_through_real_httpx(
        monkeypatch: Any) -> None:
    lookups: list[object] = []

    def no_such_name(host: object, *args: object, **kwargs: object) -> Any:
        lookups.append(host)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_name)  # the resolver, and nothing else
    slept: list[float] = []
    client = PromptFloe(api_key="pf_sess_x", base_url="http://promptfloe.invalid",
                        max_retries=5, sleep=slept.append)
    with client, pytest.raises(APIConnectionError, match="does not resolve"):
        client.apps.list()
    assert lookups == ["promptfloe.invalid"] and slept == []
