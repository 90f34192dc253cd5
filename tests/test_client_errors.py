"""Every error status to its exception, and which ones are retried."""

from __future__ import annotations

import httpx
import pytest
from mock_api import async_client, error, sync_client

from pf_browser import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    QuotaExceededError,
    RateLimitError,
    ServerError,
)

APP = {"id": "app_1", "endUserId": "u1", "prompt": "p", "status": "ready",
       "createdAt": "2026-11-28T19:30:00Z", "previewUrl": None, "deployedUrl": None,
       "files": [{"path": "index.html", "size": 10}]}


@pytest.mark.parametrize(("status", "code", "exc_type"), [
    (400, "invalid_request", InvalidRequestError),
    (413, "prompt_too_long", InvalidRequestError),
    (401, "token_revoked", AuthenticationError),
    (403, "insufficient_scope", PermissionDeniedError),
    (404, "not_found", NotFoundError),
    (409, "conflict", ConflictError),
    (429, "rate_limited", RateLimitError),
    (500, "internal_error", ServerError),
    (503, "unavailable", ServerError),
    (418, "teapot", APIStatusError),
])
def test_each_status_raises_its_exception(status: int, code: str, exc_type: type) -> None:
    client = sync_client(lambda r: error(status, code, "what went wrong"), max_retries=0)
    with pytest.raises(exc_type) as info:
        client.apps.get("app_1")
    assert type(info.value) is exc_type
    assert info.value.status_code == status and info.value.code == code
    assert "what went wrong" in str(info.value)


def test_quota_exceeded_carries_quota_used_reset_and_retry_after() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return error(429, "quota_exceeded", "Daily quota reached", quota=100, used=100,
                     resetsAt="2026-11-30T00:00:00Z", retry_after=3600)

    with pytest.raises(QuotaExceededError) as info:
        sync_client(handler).apps.list()
    exc = info.value
    assert (exc.quota, exc.used, exc.resets_at, exc.retry_after) == (
        100, 100, "2026-11-30T00:00:00Z", 3600.0)
    assert "2026-11-30T00:00:00Z" in str(exc)
    assert len(calls) == 1, "a spent daily quota is not retried"


def test_rate_limited_is_retried_after_retry_after() -> None:
    answers = iter([error(429, "rate_limited", retry_after=2), httpx.Response(200, json=APP)])
    client = sync_client(lambda r: next(answers))
    slept: list[float] = []
    client._sleep = slept.append
    assert client.apps.get("app_1").files[0].path == "index.html"
    assert slept == [2.0]


def test_rate_limited_gives_up_after_max_retries() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return error(429, "rate_limited", retry_after=1)

    with pytest.raises(RateLimitError):
        sync_client(handler, max_retries=2).apps.list()
    assert len(calls) == 3


def test_other_4xx_are_never_retried() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return error(400, "invalid_request")

    with pytest.raises(InvalidRequestError):
        sync_client(handler, max_retries=5).apps.list()
    assert len(calls) == 1


async def test_connection_errors_are_retried_with_backoff_then_succeed() -> None:
    attempts = []

    def handler(request: httpx.Request) -> httpx.Response:
        attempts.append(request)
        if len(attempts) < 3:
            raise httpx.ConnectError("refused")
        return httpx.Response(200, json=APP)

    client = async_client(handler, max_retries=2)
    slept: list[float] = []

    async def record(seconds: float) -> None:
        slept.append(seconds)

    client._sleep = record
    assert (await client.apps.get("app_1")).id == "app_1"
    assert len(slept) == 2 and 0 < slept[0] < slept[1]


def test_connection_error_after_retries_raises_api_connection_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    with pytest.raises(APIConnectionError, match="Could not reach"):
        sync_client(handler, max_retries=1).apps.list()


def test_a_body_that_is_not_json_gets_a_clear_error() -> None:
    client = sync_client(lambda r: httpx.Response(502, text="<html>Bad gateway</html>"),
                         max_retries=0)
    with pytest.raises(ServerError, match="502"):
        client.apps.list()
    ok_but_html = sync_client(lambda r: httpx.Response(200, text="<html>hi</html>"))
    with pytest.raises(APIStatusError, match="not JSON"):
        ok_but_html.apps.list()


def test_results_are_typed() -> None:
    page = {"data": [APP], "nextCursor": None}
    app = sync_client(lambda r: httpx.Response(200, json=page)).apps.list().data[0]
    assert app.id == "app_1" and app.created_at.year == 2026
