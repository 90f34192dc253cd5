"""Client options: where it sends, what it closes, and what it owns."""

from __future__ import annotations

import pytest
from mock_api import async_client, sync_client

from pf_browser import AsyncPromptFloe, PromptFloe, RefreshError
from pf_browser.transports import Request, Response

USAGE = {"date": "2026-11-28", "quota": 10, "used": 1, "byEndUser": []}


def test_base_url_comes_from_the_argument_then_the_environment_then_the_default(
        monkeypatch: pytest.MonkeyPatch) -> None:
    transport = object()
    monkeypatch.delenv("PROMPTFLOE_BASE_URL", raising=False)
    assert PromptFloe(api_key="k", transport=transport).base_url == "http://127.0.0.1:8787"  # type: ignore[arg-type]
    monkeypatch.setenv("PROMPTFLOE_BASE_URL", "http://env:1/")
    assert PromptFloe(api_key="k", transport=transport).base_url == "http://env:1"  # type: ignore[arg-type]
    assert PromptFloe(api_key="k", base_url="http://arg:2/api/",
                      transport=transport).base_url == "http://arg:2/api"  # type: ignore[arg-type]


def test_requests_go_under_the_base_urls_path() -> None:
    urls = []

    def handler(request: Request) -> Response:
        urls.append(str(request.url))
        return Response(200, json=USAGE)

    sync_client(handler, base_url="http://api/prefix/").usage.retrieve(date="2026-11-28")
    assert urls == ["http://api/prefix/v1/usage?date=2026-11-28"]


class RecordingTransport:
    def __init__(self) -> None:
        self.closed = 0

    async def send(self, request: Request) -> Response:
        raise AssertionError("not used")

    async def aclose(self) -> None:
        self.closed += 1


async def test_async_with_closes_the_transport() -> None:
    transport = RecordingTransport()
    async with AsyncPromptFloe(api_key="pf_sess_x", transport=transport) as client:
        assert isinstance(client, AsyncPromptFloe)
    assert transport.closed == 1


@pytest.mark.parametrize("answer", [{"nothing": "here"}, ["token"], {"token": 5}])
async def test_a_session_endpoint_answer_without_a_token_is_a_refresh_error(
        answer: object) -> None:
    client = async_client(lambda r: Response(200, json=answer), None,
                          session_url="http://app/session")
    with pytest.raises(RefreshError, match="did not answer with a token"):
        await client.usage.retrieve()


def test_session_url_and_refresh_fn_together_are_refused() -> None:
    with pytest.raises(ValueError, match="not both"):
        PromptFloe(session_url="/s", refresh_fn=lambda: "t",
                   transport=object())  # type: ignore[arg-type]
