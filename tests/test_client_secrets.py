"""Keys and tokens never appear in a repr, an exception (with its whole chain)
or a log line, whatever goes wrong."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable

import pytest
from mock_api import RUN, Dropping, async_client, error, sse, sync_client

from pf_browser import APIConnectionError, PromptFloe, PromptFloeError
from pf_browser._flow import Send
from pf_browser.transports import Request, Response

KEY = "pf_live_K3YSECRET"
TOKEN = "pf_sess_T0KENSECRET"
NEW = "pf_sess_N3WSECRET"
SECRETS = ("K3YSECRET", "T0KENSECRET", "N3WSECRET")


def assert_clean(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, text


def chain(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc))


def refused(request: Request) -> Response:
    return error(401, "token_revoked", "The session was revoked.")


def unreachable(request: Request) -> Response:
    raise APIConnectionError("connection refused")


@pytest.mark.parametrize(("handler", "kw"), [
    (refused, {"refresh_fn": lambda: NEW}),
    (unreachable, {"refresh_fn": lambda: NEW}),
    (refused, {}),
])
def test_failures_show_no_credential_in_the_exception_chain_or_logs(
        caplog: pytest.LogCaptureFixture, handler: Callable[[Request], Response],
        kw: dict[str, object]) -> None:
    caplog.set_level(logging.DEBUG)
    client = sync_client(handler, TOKEN, max_retries=1, **kw)
    with pytest.raises(PromptFloeError) as info:
        client.apps.list()
    assert_clean(chain(info.value), repr(info.value), caplog.text)


def test_a_failing_session_endpoint_shows_no_credential(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = sync_client(refused, None, session_url="http://app/session")
    with pytest.raises(PromptFloeError) as info:
        client.apps.list()
    assert_clean(chain(info.value), caplog.text)


def test_reprs_name_the_kind_of_credential_never_its_value() -> None:
    secret_client = sync_client(refused, KEY)
    session_client = async_client(refused, TOKEN)
    request = Request("GET", "http://api/v1/apps", {"authorization": f"Bearer {TOKEN}"})
    texts = [repr(secret_client), str(secret_client), repr(session_client),
             repr(request), repr(Send(request)), repr(secret_client._auth)]
    assert_clean(*texts)
    assert "secret key" in repr(secret_client) and "session token" in repr(session_client)


def test_a_stream_and_its_errors_show_no_credential(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    def handler(request: Request) -> Response:
        body = Dropping([sse([RUN])]) if request.path.endswith("generate") else None
        if body is None:
            raise APIConnectionError("gone")
        return Response(200, headers={"PromptFloe-Run-Id": "run_1"}, stream=body)

    stream = sync_client(handler, TOKEN, max_retries=0).apps.generate_stream("x")
    with pytest.raises(PromptFloeError) as info:
        list(stream)
    assert_clean(repr(stream), chain(info.value), caplog.text)


def test_a_secret_key_refused_in_a_browser_is_not_echoed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setattr(sys, "platform", "emscripten")
    with pytest.raises(PromptFloeError, match="secret") as info:
        PromptFloe(api_key=KEY, transport=object())  # type: ignore[arg-type]
    assert_clean(chain(info.value))
