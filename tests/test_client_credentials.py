"""Credentials are checked before anything is sent.

A key read from a file ends in a newline: surrounding whitespace is stripped
and the key works. Any other character outside printable ASCII raises a
PromptFloeError that says what is wrong and where, never the credential; it is
not a network error and nothing is retried. Whatever happens, no credential
reaches an exception (its whole chain), a repr or a log line, httpx's and
httpcore's DEBUG logs included: the tests log everything at DEBUG.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator
from typing import Any

import pytest
from mock_api import async_client, bearer, sync_client

from pf_browser import (
    APIConnectionError,
    AsyncPromptFloe,
    PromptFloe,
    PromptFloeError,
    RefreshError,
    RunEvent,
)
from pf_browser.transports import Request, Response

USAGE = {"date": "2026-11-28", "quota": 10, "used": 1, "byEndUser": []}
SECRET = "pf_sess_S3CRETVALUE"
HIDDEN = "S3CRETVALUE"


@pytest.fixture
def debug_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every logger at DEBUG, httpx's and httpcore's included."""
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "pf_browser", "asyncio"):
        caplog.set_level(logging.DEBUG, logger=name)
    yield caplog


def chain(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc))


def recording() -> tuple[list[Request], Any]:
    seen: list[Request] = []

    def handler(request: Request) -> Response:
        seen.append(request)
        return Response(200, json=USAGE)

    return seen, handler


@pytest.mark.parametrize("padded", [SECRET + "\n", SECRET + "\r\n", f"  {SECRET}\t"])
def test_surrounding_whitespace_is_stripped_and_the_key_works(padded: str) -> None:
    seen, handler = recording()
    sync_client(handler, padded).usage.retrieve()
    assert seen[0].headers["authorization"] == f"Bearer {SECRET}"


@pytest.mark.parametrize(("bad", "kind", "where"), [
    ("pf_sess_ab\ncd", "a control character", "position 11"),
    ("pf_sess_ab\x00cd", "a control character", "position 11"),
    ("pf_sess_ab\x7fcd", "a control character", "position 11"),
    ("pf_sess_ab cd", "a space", "position 11"),
    ("pf_sess_abécd", "a non-ASCII character", "position 11"),
    ("pf_sess_ab\u2028cd", "a control character", "position 11"),
    ("“pf_sess_abcd”", "a non-ASCII character", "position 1"),
    ("\ufeffpf_sess_abcd", "a non-ASCII character", "position 1"),  # a BOM is no space
])
def test_a_bad_api_key_is_refused_before_anything_is_sent(
        bad: str, kind: str, where: str, debug_log: pytest.LogCaptureFixture) -> None:
    seen, handler = recording()
    with pytest.raises(PromptFloeError) as info:
        sync_client(handler, bad)
    exc = info.value
    assert not isinstance(exc, APIConnectionError)
    assert kind in str(exc) and where in str(exc) and "api_key" in str(exc)
    for text in (chain(exc), repr(exc), debug_log.text):
        assert "abcd" not in text.replace("\n", "").replace(" ", "")
        assert "ab\ncd" not in text and "abécd" not in text
    assert seen == []


def test_an_empty_or_blank_api_key_is_refused() -> None:
    for blank in ("", "  \n"):
        with pytest.raises(PromptFloeError, match="empty"):
            PromptFloe(api_key=blank, transport=object())  # type: ignore[arg-type]


@pytest.mark.parametrize("result", ["pf_sess_new\n", {"token": " pf_sess_new\r\n",
                                                      "expiresIn": 600}])
def test_a_token_from_refresh_fn_is_stripped(result: object) -> None:
    seen, handler = recording()
    sync_client(handler, None, refresh_fn=lambda: result).usage.retrieve()
    assert bearer(seen[0]) == "pf_sess_new"


def test_a_bad_token_from_refresh_fn_is_a_refresh_error_sent_nowhere_and_not_retried(
        debug_log: pytest.LogCaptureFixture) -> None:
    seen, handler = recording()
    calls = []

    def refresh_fn() -> str:
        calls.append(1)
        return "pf_sess_" + HIDDEN + "\u00e9"

    client = sync_client(handler, None, refresh_fn=refresh_fn)
    with pytest.raises(RefreshError, match="non-ASCII character at position 20") as info:
        client.usage.retrieve()
    with pytest.raises(RefreshError):  # cooled down: refresh_fn is not called again
        client.usage.retrieve()
    assert "refresh_fn" in str(info.value)
    assert seen == [] and calls == [1]
    for text in (chain(info.value), repr(info.value), debug_log.text):
        assert HIDDEN not in text


async def test_a_bad_token_from_the_session_endpoint_is_refused(
        debug_log: pytest.LogCaptureFixture) -> None:
    api_calls = []

    def handler(request: Request) -> Response:
        if request.path == "/session":
            return Response(200, json={"token": f"pf_sess_{HIDDEN}\x01",
                                             "expiresIn": 600})
        api_calls.append(request)
        return Response(200, json=USAGE)

    client = async_client(handler, None, session_url="http://app/session")
    with pytest.raises(RefreshError, match=r"session endpoint.*control character") as info:
        await client.usage.retrieve()
    assert api_calls == []
    for text in (chain(info.value), repr(info.value), debug_log.text):
        assert HIDDEN not in text


async def test_a_token_with_a_newline_from_the_session_endpoint_works() -> None:
    def handler(request: Request) -> Response:
        if request.path == "/session":
            return Response(200, json={"token": "pf_sess_ok\n", "expiresIn": 600})
        assert bearer(request) == "pf_sess_ok"
        return Response(200, json=USAGE)

    client = async_client(handler, None, session_url="http://app/session")
    assert (await client.usage.retrieve()).quota == 10


# -- over real sockets: the real server, httpx and httpcore logging everything --------

def test_no_credential_in_any_debug_log_line_against_the_real_server(
        live_server: Any, debug_log: pytest.LogCaptureFixture) -> None:
    from pf_browser import AuthenticationError

    key = live_server.api_key
    with PromptFloe(api_key=key + "\n", base_url=live_server.base_url) as backend:
        session = backend.sessions.issue("user_logs", scopes=["build", "read"])
        tokens = [session.token]

        def refresh_fn() -> str:
            tokens.append(backend.sessions.issue("user_logs").token)
            return tokens[-1] + "\r\n"

        with PromptFloe(api_key=session.token, base_url=live_server.base_url,
                        refresh_fn=refresh_fn) as client:
            with client.apps.generate_stream("a page about logs") as stream:
                events = list(stream)
            assert isinstance(events[0], RunEvent)
            assert client.apps.get(events[0].app_id).status == "ready"
            backend.sessions.revoke(session.id)
            client.apps.list()  # 401, refresh, retry
        with PromptFloe(api_key="pf_sess_" + "x" * 20, base_url=live_server.base_url) as bad:
            with pytest.raises(AuthenticationError) as info:
                bad.apps.list()
    assert len(tokens) == 2
    texts = [debug_log.text, chain(info.value), repr(info.value)]
    assert "httpcore" in debug_log.text and "HTTP Request" in debug_log.text  # it did log
    for text in texts:
        for secret in [key, *tokens, "x" * 20]:
            assert secret not in text


async def test_a_bad_credential_never_reaches_the_real_server_or_the_logs(
        live_server: Any, debug_log: pytest.LogCaptureFixture) -> None:
    before = len(debug_log.records)
    with pytest.raises(PromptFloeError) as info:
        AsyncPromptFloe(api_key=live_server.api_key + "\n\x00",
                        base_url=live_server.base_url)
    assert "control character" in str(info.value)
    assert live_server.api_key not in chain(info.value) + debug_log.text
    assert not any(r.name.startswith(("httpx", "httpcore"))
                   for r in debug_log.records[before:])
