"""pf_browser.transports.MockTransport and AsyncMockTransport, the public test double."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pf_browser import AsyncPromptFloe, PromptFloe
from pf_browser.transports import AsyncMockTransport, MockTransport, Request, Response

USAGE = {"date": "2026-11-28", "quota": 10, "used": 1, "byEndUser": []}


def test_the_handler_sees_the_request_the_client_formed() -> None:
    transport = MockTransport(lambda request: Response(200, json=USAGE))
    client = PromptFloe(api_key="pf_sess_x", base_url="http://api", transport=transport)
    client.usage.retrieve(date="2026-11-28")
    [request] = transport.requests
    assert (request.method, request.path, request.params) == (
        "GET", "/v1/usage", {"date": "2026-11-28"})
    assert request.headers["authorization"] == "Bearer pf_sess_x"
    assert request.content is None and request.json() is None


async def test_the_async_transport_takes_a_sync_or_an_async_handler() -> None:
    async def async_handler(request: Request) -> Response:
        return Response(200, json=USAGE)

    for handler in (lambda request: Response(200, json=USAGE), async_handler):
        client = AsyncPromptFloe(api_key="pf_sess_x", transport=AsyncMockTransport(handler))
        assert (await client.usage.retrieve()).quota == 10


def test_a_handler_that_returns_something_else_is_told_what_to_return() -> None:
    client = PromptFloe(api_key="pf_sess_x", transport=MockTransport(lambda r: {"ok": True}))  # type: ignore[arg-type, return-value]
    with pytest.raises(TypeError, match=r"pf_browser\.transports\.Response"):
        client.usage.retrieve()


def test_a_response_has_one_body_and_headers_in_any_case() -> None:
    with pytest.raises(ValueError, match="one of"):
        Response(200, content=b"x", json={})
    response = Response(200, headers={"Retry-After": "2"}, json=[1])
    response.headers["Date"] = "Sat, 28 Nov 2026 19:30:00 GMT"
    assert dict(response.headers) == {"retry-after": "2", "content-type": "application/json",
                                      "date": "Sat, 28 Nov 2026 19:30:00 GMT"}
    assert response.headers["RETRY-AFTER"] == "2" and "Date" in response.headers
    assert response.read() == b"[1]"


def test_closing_a_response_closes_its_stream() -> None:
    def chunks() -> Iterator[bytes]:
        yield b"a"
        yield b"b"

    stream = chunks()
    response = Response(200, stream=stream)
    assert next(response.iter_bytes()) == b"a"
    response.close()
    assert response.closed
    with pytest.raises(StopIteration):
        next(stream)
