"""The httpx transport: what it hands httpx, and how httpx's failures come back.

This is the one place the unit tests mock below httpx (``httpx.MockTransport``):
the transport's job is to translate to and from httpx. Every other unit test
runs on pf_browser's own ``MockTransport`` (tests/mock_api.py).
"""

from __future__ import annotations

import logging
import traceback

import httpx
import pytest

from pf_browser import APIConnectionError, APITimeoutError, AsyncPromptFloe, PromptFloe

USAGE = {"date": "2026-11-28", "quota": 10, "used": 1, "byEndUser": []}
TOKEN = "pf_sess_T0KENSECRET"


def over_httpx(handler: object, **kw: object) -> PromptFloe:
    http = httpx.Client(transport=httpx.MockTransport(handler))  # type: ignore[arg-type]
    return PromptFloe(api_key=TOKEN, base_url="http://api", http_client=http,
                      sleep=lambda s: None, **kw)  # type: ignore[arg-type]


def test_a_refused_connection_is_api_connection_error_after_the_retries_and_says_what_to_do(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ConnectError("refused")

    with pytest.raises(APIConnectionError, match="Could not reach") as info:
        over_httpx(handler, max_retries=1).apps.list()
    assert len(calls) == 2
    chain = "".join(traceback.format_exception(info.value))
    assert "T0KENSECRET" not in chain + caplog.text


def test_a_read_timeout_is_api_timeout_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow")

    with pytest.raises(APITimeoutError):
        over_httpx(handler, max_retries=0).apps.list()


def test_timeout_bounds_connect_and_each_read_not_the_whole_stream() -> None:
    timeouts = []

    def handler(request: httpx.Request) -> httpx.Response:
        timeouts.append(request.extensions["timeout"])
        return httpx.Response(200, json={"data": [], "nextCursor": None})

    over_httpx(handler, timeout=7.5).apps.list()
    # httpx's read timeout is per read; there is no whole-response timeout.
    assert timeouts == [{"connect": 7.5, "read": 7.5, "write": 7.5, "pool": 7.5}]


def test_a_body_cut_mid_stream_is_api_connection_error() -> None:
    class Cut(httpx.SyncByteStream):
        def __iter__(self):  # type: ignore[no-untyped-def]
            yield b"id: 1\nevent: run\n"
            raise httpx.ReadError("connection reset")

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=Cut())

    with pytest.raises(APIConnectionError):
        list(over_httpx(handler, max_retries=0).apps.generate_stream("x"))


def test_the_wrong_kind_of_httpx_client_is_refused_at_construction() -> None:
    with pytest.raises(TypeError, match="AsyncClient"):
        AsyncPromptFloe(api_key="pf_sess_x", http_client=httpx.Client())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"httpx\.Client,"):
        PromptFloe(api_key="pf_sess_x", http_client=httpx.AsyncClient())  # type: ignore[arg-type]


async def test_a_users_httpx_client_is_left_open() -> None:
    http = httpx.AsyncClient(transport=httpx.MockTransport(
        lambda r: httpx.Response(200, json=USAGE)))
    async with AsyncPromptFloe(api_key="pf_sess_x", base_url="http://api", http_client=http) as c:
        await c.usage.retrieve()
    assert not http.is_closed
    await http.aclose()


def test_sync_with_closes_the_client_it_made() -> None:
    with PromptFloe(api_key="pf_sess_x") as client:
        http = client._transport._client  # type: ignore[attr-defined]
    assert http.is_closed
