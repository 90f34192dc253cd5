"""Client options: where it sends, what it closes, and what it owns."""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from mock_api import async_client, sync_client

from pf_browser import AsyncPromptFloe, PromptFloe, PromptFloeError, RefreshError
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


# -- ids and bodies: checked and encoded before anything is sent ------------------

APP: dict[str, object] = {"id": "app_1", "endUserId": "u1", "prompt": "p", "status": "ready",
       "createdAt": "2026-11-28T19:30:00Z", "previewUrl": None, "deployedUrl": None,
       "files": []}


def recorder() -> tuple[list[Request], Callable[[Request], Response]]:
    seen: list[Request] = []

    def handler(request: Request) -> Response:
        seen.append(request)
        return Response(200, json=APP)

    return seen, handler


@pytest.mark.parametrize("bad", [".", "..", ""])
def test_ids_that_would_change_the_path_are_refused_before_any_request(bad: str) -> None:
    seen, handler = recorder()
    client = sync_client(handler)
    calls: list[Callable[[], object]] = [lambda: client.apps.get(bad),
                                         lambda: client.apps.deploy(bad),
                                         lambda: client.sessions.revoke(bad)]
    for call in calls:
        with pytest.raises(ValueError, match="would change the request's path"):
            call()
    assert seen == []


async def test_async_ids_are_checked_too() -> None:
    seen, handler = recorder()
    with pytest.raises(ValueError, match="app_id"):
        await async_client(handler).apps.get("..")
    with pytest.raises(TypeError, match="app_id"):
        await async_client(handler).apps.get(None)  # type: ignore[arg-type]
    assert seen == []


@pytest.mark.parametrize(("app_id", "path"), [
    ("../usage", "/v1/apps/..%2Fusage"),
    ("a/b?c#d", "/v1/apps/a%2Fb%3Fc%23d"),
    ("%2e%2e", "/v1/apps/%252e%252e"),
    ("...", "/v1/apps/..."),
    ("app 1", "/v1/apps/app%201"),
])
def test_other_characters_in_ids_are_escaped_into_one_path_segment(app_id: str,
                                                                   path: str) -> None:
    seen, handler = recorder()
    sync_client(handler).apps.get(app_id)
    assert urlsplit(seen[0].url).path == path


def test_a_prompt_is_sent_as_utf8_json_not_escaped() -> None:
    seen: list[bytes] = []

    def handler(request: Request) -> Response:
        seen.append(request.content or b"")
        return Response(200, headers={"content-type": "text/event-stream"},
                              content=b"")

    prompt = "🍰 café \"quoted\" \\ \n\x01 \u2028"
    with pytest.raises(PromptFloeError):  # the empty stream ends before a run started
        list(sync_client(handler, max_retries=0).apps.generate_stream(prompt))
    assert json.loads(seen[0]) == {"prompt": prompt}
    assert "🍰 café".encode() in seen[0] and b"\\u" in seen[0]  # \x01 stays escaped
    assert len(seen[0]) == len(json.dumps({"prompt": prompt}, ensure_ascii=False,
                                          separators=(",", ":")).encode())


def test_a_prompt_of_8000_four_byte_characters_fits_in_32_kb() -> None:
    seen: list[bytes] = []

    def handler(request: Request) -> Response:
        seen.append(request.content or b"")
        return Response(413, json={"error": {"code": "x", "message": "x"}})

    with pytest.raises(PromptFloeError):
        list(sync_client(handler).apps.generate_stream("😀" * 8000))
    assert len(seen[0]) == 4 * 8000 + len('{"prompt":""}')


def test_a_prompt_with_a_lone_surrogate_is_refused_before_sending() -> None:
    seen, handler = recorder()
    with pytest.raises(ValueError, match="lone surrogate at position 3"):
        sync_client(handler).apps.generate_stream("abc\ud800")
    assert seen == []
