"""Every error status to its exception, and which ones are retried."""

from __future__ import annotations

import pytest
from mock_api import async_client, error, sync_client

from pf_browser import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    QuotaExceededError,
    RateLimitError,
    ServerError,
)
from pf_browser._retry import RetryPolicy
from pf_browser.transports import Request, Response

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
def test_each_status_raises_its_exception(status: int, code: str,
                                          exc_type: type[APIStatusError]) -> None:
    client = sync_client(lambda r: error(status, code, "what went wrong"), max_retries=0)
    with pytest.raises(exc_type) as info:
        client.apps.get("app_1")
    assert type(info.value) is exc_type
    assert info.value.status_code == status and info.value.code == code
    assert "what went wrong" in str(info.value)


def test_quota_exceeded_carries_quota_used_reset_and_retry_after() -> None:
    calls = []

    def handler(request: Request) -> Response:
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
    answers = iter([error(429, "rate_limited", retry_after=2), Response(200, json=APP)])
    slept: list[float] = []
    client = sync_client(lambda r: next(answers), sleep=slept.append)
    assert client.apps.get("app_1").files[0].path == "index.html"
    assert slept == [2.0]


def test_rate_limited_gives_up_after_max_retries() -> None:
    calls = []

    def handler(request: Request) -> Response:
        calls.append(request)
        return error(429, "rate_limited", retry_after=1)

    with pytest.raises(RateLimitError):
        sync_client(handler, max_retries=2).apps.list()
    assert len(calls) == 3


def test_other_4xx_are_never_retried() -> None:
    calls = []

    def handler(request: Request) -> Response:
        calls.append(request)
        return error(400, "invalid_request")

    with pytest.raises(InvalidRequestError):
        sync_client(handler, max_retries=5).apps.list()
    assert len(calls) == 1


async def test_connection_errors_are_retried_with_backoff_then_succeed() -> None:
    attempts = []

    def handler(request: Request) -> Response:
        attempts.append(request)
        if len(attempts) < 3:
            raise APIConnectionError("refused")
        return Response(200, json=APP)

    slept: list[float] = []

    async def record(seconds: float) -> None:
        slept.append(seconds)

    client = async_client(handler, max_retries=2, sleep=record)
    assert (await client.apps.get("app_1")).id == "app_1"
    assert len(slept) == 2 and 0 < slept[0] < slept[1]


def test_connection_error_after_retries_raises_api_connection_error() -> None:
    calls = []

    def handler(request: Request) -> Response:
        calls.append(request)
        raise APIConnectionError("refused")

    with pytest.raises(APIConnectionError, match="refused"):
        sync_client(handler, max_retries=1).apps.list()
    assert len(calls) == 2


def test_a_body_that_is_not_json_gets_a_clear_error() -> None:
    client = sync_client(lambda r: Response(502, content="<html>Bad gateway</html>"),
                         max_retries=0)
    with pytest.raises(ServerError, match="502"):
        client.apps.list()
    ok_but_html = sync_client(lambda r: Response(200, content="<html>hi</html>"))
    with pytest.raises(APIStatusError, match="not JSON"):
        ok_but_html.apps.list()


def test_results_are_typed() -> None:
    page = {"data": [APP], "nextCursor": None}
    app = sync_client(lambda r: Response(200, json=page)).apps.list().data[0]
    assert app.id == "app_1" and app.created_at.year == 2026


def test_a_timeout_raises_api_timeout_error_after_the_retries() -> None:
    calls = []

    def handler(request: Request) -> Response:
        calls.append(request)
        raise APITimeoutError()

    with pytest.raises(APITimeoutError):
        sync_client(handler, max_retries=1).apps.list()
    assert len(calls) == 2


def test_the_timeout_goes_with_each_request_to_the_transport() -> None:
    timeouts = []

    def handler(request: Request) -> Response:
        timeouts.append(request.timeout)
        return Response(200, json={"data": [], "nextCursor": None})

    sync_client(handler, timeout=7.5).apps.list()
    assert timeouts == [7.5]


def test_a_retry_after_longer_than_the_cap_is_not_waited_for() -> None:
    calls = []

    def handler(request: Request) -> Response:
        calls.append(request)
        return error(429, "rate_limited", retry_after=3600)

    with pytest.raises(RateLimitError) as info:
        sync_client(handler).apps.list()
    assert len(calls) == 1 and info.value.retry_after == 3600.0


def test_rate_limited_without_retry_after_backs_off_exponentially() -> None:
    answers = iter([error(429, "rate_limited"), error(429, "rate_limited"),
                    Response(200, json={"data": [], "nextCursor": None})])
    slept: list[float] = []
    client = sync_client(lambda r: next(answers), sleep=slept.append)
    client.apps.list()
    assert len(slept) == 2 and slept[0] < slept[1]


def test_backoff_doubles_with_jitter_from_the_injected_random_up_to_the_cap() -> None:
    low = RetryPolicy(max_retries=10, base=0.5, cap=8.0, rand=lambda: 0.0)
    high = RetryPolicy(max_retries=10, base=0.5, cap=8.0, rand=lambda: 1.0)
    assert [low.backoff(n) for n in range(1, 7)] == [0.25, 0.5, 1.0, 2.0, 4.0, 4.0]
    assert [high.backoff(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]


def test_an_error_status_carries_the_request_id() -> None:
    def handler(request: Request) -> Response:
        response = error(404, "not_found", "No app app_9.")
        response.headers["promptfloe-request-id"] = "req_42"
        return response

    with pytest.raises(NotFoundError) as info:
        sync_client(handler).apps.get("app_9")
    assert info.value.request_id == "req_42"


def test_ids_are_escaped_in_paths() -> None:
    paths = []

    def handler(request: Request) -> Response:
        paths.append(request.url)
        return Response(200, json=APP)

    sync_client(handler).apps.get("../v1/usage?x=1")
    assert paths == ["http://api/v1/apps/..%2Fv1%2Fusage%3Fx%3D1"]


@pytest.mark.parametrize(("retry_after", "date", "expected"), [
    ("2", None, 2.0),
    ("Sat, 28 Nov 2026 19:30:05 GMT", "Sat, 28 Nov 2026 19:30:00 GMT", 5.0),
    ("Sat, 28 Nov 2026 19:29:00 GMT", "Sat, 28 Nov 2026 19:30:00 GMT", 0.0),
    ("Sat, 28 Nov 2026 19:30:05 GMT", None, None),  # no Date to measure against
    ("soon", None, None),
    ("nan", None, None),
    ("-3", None, None),
])
def test_retry_after_in_seconds_or_as_an_http_date(
        retry_after: str, date: str | None, expected: float | None) -> None:
    def handler(request: Request) -> Response:
        response = error(429, "rate_limited", retry_after=retry_after)
        if date is not None:
            response.headers["Date"] = date
        return response

    with pytest.raises(RateLimitError) as info:
        sync_client(handler, max_retries=0).apps.list()
    assert info.value.retry_after == expected
