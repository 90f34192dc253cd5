"""The public surface as openai-python users expect it: keyword-only options, the
key from the environment (never in a browser), raw responses, every page."""

from __future__ import annotations

import sys
from collections.abc import Callable

import httpx
import pytest
from mock_api import async_client, sync_client

from pf_browser import App, AsyncPromptFloe, PromptFloe, PromptFloeError, Session, SessionGrant
from pf_browser.transports import AsyncMockTransport, MockTransport, Request, Response

APP: dict[str, object] = {
    "endUserId": "u1", "prompt": "p", "status": "ready", "createdAt": "2026-11-28T19:30:00Z",
    "previewUrl": None, "deployedUrl": None, "files": []}
USAGE = {"date": "2026-11-28", "quota": 10, "used": 1, "byEndUser": []}


def ok(request: Request) -> Response:
    return Response(200, json=USAGE, headers={"PromptFloe-Request-Id": "req_7"})


def paged(apps: int, per_page: int) -> Callable[[Request], Response]:
    """GET /v1/apps over ``apps`` apps, ``cursor`` being the index to start at."""
    def handler(request: Request) -> Response:
        assert request.path == "/v1/apps" and request.params.get("limit") == str(per_page)
        start = int(request.params.get("cursor", "0"))
        end = min(start + per_page, apps)
        return Response(200, json={"data": [{**APP, "id": f"app_{i}"} for i in range(start, end)],
                                   "nextCursor": str(end) if end < apps else None})
    return handler


@pytest.mark.parametrize("client_type", [PromptFloe, AsyncPromptFloe])
def test_transport_and_http_client_together_are_refused(client_type: type) -> None:
    http = httpx.Client() if client_type is PromptFloe else httpx.AsyncClient()
    with pytest.raises(ValueError, match="transport= or http_client="):
        client_type(api_key="pf_sess_x", transport=MockTransport(ok), http_client=http)


def test_the_key_comes_from_PROMPTFLOE_API_KEY_when_no_credential_is_given(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROMPTFLOE_API_KEY", "pf_test_from_env")
    transport = MockTransport(ok)
    PromptFloe(transport=transport).usage.retrieve()
    assert transport.requests[0].headers["authorization"] == "Bearer pf_test_from_env"
    assert "secret key" in repr(AsyncPromptFloe(transport=AsyncMockTransport(ok)))
    # An explicit credential wins; a session_url client never picks up the key.
    transport = MockTransport(ok)
    PromptFloe(api_key="pf_sess_given", transport=transport).usage.retrieve()
    assert transport.requests[0].headers["authorization"] == "Bearer pf_sess_given"
    assert "session_url" in repr(PromptFloe(session_url="http://app/s", transport=transport))
    assert "no token yet" in repr(PromptFloe(session_url="http://app/s", transport=transport))


def test_without_a_credential_the_error_names_PROMPTFLOE_API_KEY(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROMPTFLOE_API_KEY", raising=False)
    with pytest.raises(PromptFloeError, match="PROMPTFLOE_API_KEY"):
        PromptFloe(transport=MockTransport(ok))


def test_PROMPTFLOE_API_KEY_is_never_read_in_a_browser(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROMPTFLOE_API_KEY", "pf_test_from_env")
    monkeypatch.setattr(sys, "platform", "emscripten")
    with pytest.raises(PromptFloeError, match="No credential"):
        AsyncPromptFloe(transport=AsyncMockTransport(ok))


def test_optional_parameters_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        PromptFloe("pf_sess_x", transport=MockTransport(ok))  # type: ignore[call-arg]
    client = sync_client(ok)
    with pytest.raises(TypeError):
        client.sessions.issue("u1", ["build"])  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        client.usage.retrieve("2026-11-28")  # type: ignore[call-arg]


def test_with_raw_response_gives_the_request_id_and_headers_of_a_success() -> None:
    raw = sync_client(ok).with_raw_response.usage.retrieve(date="2026-11-28")
    assert raw.status_code == 200 and raw.request_id == "req_7"
    assert raw.headers["content-type"] == "application/json"
    assert raw.parse().quota == 10


async def test_async_with_raw_response_gives_the_request_id_and_headers_of_a_success() -> None:
    raw = await async_client(ok).with_raw_response.usage.retrieve()
    assert (raw.status_code, raw.request_id, raw.parse().used) == (200, "req_7", 1)


def test_a_stream_tells_its_request_id() -> None:
    def handler(request: Request) -> Response:
        return Response(200, headers={"PromptFloe-Request-Id": "req_s", "PromptFloe-Run-Id": "r"},
                        content=b'event: ready\ndata: {"appId": "a", "previewUrl": "u"}\n\n')

    with sync_client(handler).apps.generate_stream("x") as stream:
        list(stream)
    assert stream.request_id == "req_s"


def test_iterating_apps_list_yields_every_app_of_every_page() -> None:
    transport = MockTransport(paged(apps=5, per_page=2))
    client = PromptFloe(api_key="pf_sess_x", transport=transport)
    first = client.apps.list(limit=2)
    assert [a.id for a in first.data] == ["app_0", "app_1"] and first.has_next_page()
    assert len(transport.requests) == 1  # later pages only when the loop gets there
    assert [a.id for a in first] == [f"app_{i}" for i in range(5)]
    assert [r.params.get("cursor") for r in transport.requests] == [None, "2", "4"]
    assert [len(page.data) for page in first.iter_pages()] == [2, 2, 1]
    assert all(isinstance(app, App) for app in first)


async def test_async_for_over_apps_list_yields_every_app_of_every_page() -> None:
    client = AsyncPromptFloe(api_key="pf_sess_x",
                             transport=AsyncMockTransport(paged(apps=3, per_page=2)))
    page = await client.apps.list(limit=2)
    assert [a.id async for a in page] == ["app_0", "app_1", "app_2"]
    nxt = await page.next_page()
    assert nxt is not None and [a.id for a in nxt.data] == ["app_2"]
    assert await nxt.next_page() is None


def test_refresh_fn_may_return_a_token_a_grant_or_a_session() -> None:
    session = Session.from_wire({"id": "s", "token": "pf_sess_c", "endUserId": "u",
                                 "scopes": ["build"], "expiresAt": "2026-11-28T20:00:00Z",
                                 "expiresIn": 1800})

    def as_grant() -> SessionGrant:
        return {"token": "pf_sess_b", "expiresIn": 1800}

    for refresh_fn, token in ((lambda: "pf_sess_a", "pf_sess_a"), (as_grant, "pf_sess_b"),
                              (lambda: session, "pf_sess_c")):
        transport = MockTransport(ok)
        PromptFloe(refresh_fn=refresh_fn, transport=transport).usage.retrieve()
        assert transport.requests[0].headers["authorization"] == f"Bearer {token}"
