"""JspiTransport (the sync client's transport through JSPI) in real Pyodide in the browser.

The page is *not* cross-origin isolated and the code runs on its main thread,
entered through ``runPythonAsync``, where ``pyodide.ffi.can_run_sync()`` holds:
plain synchronous Python waits on ``fetch`` with ``run_sync``. The API is the
loopback ``peer`` on a second origin, so CORS is real.
"""

from __future__ import annotations

import socket
import uuid

import pytest
from _local_servers import PeerServer
from conftest import PyPage

IMPORTS = """
from pf_browser._transports.base import Request
from pf_browser._transports.jspi import JspiTransport
from pf_browser import APIConnectionError, APITimeoutError, PromptFloeError
transport = JspiTransport()
"""

TICKS = [f'id: {i}\nevent: tick\ndata: {{"i": {i}, "pad": ""}}\n\n' for i in range(1, 5)]
DISCONNECT_WAIT = 15  # seconds; an upper bound for the server to notice, not a measurement


def _tag() -> str:
    return uuid.uuid4().hex[:12]


def test_the_page_is_not_isolated_and_can_run_sync(py_page: PyPage) -> None:
    assert py_page.run("""
import js
from pyodide.ffi import can_run_sync
[bool(js.crossOriginIsolated), can_run_sync()]
""") == [False, True]


@pytest.mark.parametrize("where", ["main", "worker"])
def test_each_server_flush_arrives_as_its_own_chunk(py_page: PyPage, peer: PeerServer,
                                                    where: str) -> None:
    code = IMPORTS + f"""
response = transport.send(Request("GET", "{peer.origin}/stream?n=4&delay=0.3"))
[c.decode() for c in response.iter_bytes()]
"""
    chunks = py_page.run(code) if where == "main" else py_page.run_in_worker(code)
    # Not all at the end. (The browser may join flushes that reach the socket
    # while the page is busy, so on a loaded machine there may be fewer chunks.)
    assert "".join(chunks) == "".join(TICKS) and len(chunks) >= 2


def test_headers_and_body_reach_the_other_origin(py_page: PyPage, peer: PeerServer) -> None:
    tag = _tag()
    status, headers, echoed = py_page.run(IMPORTS + f"""
import json
response = transport.send(Request(
    "POST", "{peer.origin}/echo?tag={tag}", content=b'{{"prompt": "hi"}}',
    headers={{"authorization": "Bearer pf_sess_test_only", "content-type": "application/json",
             "last-event-id": "7"}}))
[response.status_code, dict(response.headers), json.loads(response.read())]
""")
    assert status == 200
    assert headers["x-peer"] == "yes"  # exposed by Access-Control-Expose-Headers
    assert echoed["method"] == "POST" and echoed["body"] == '{"prompt": "hi"}'
    seen = peer.seen[tag]
    assert seen["authorization"] == "Bearer pf_sess_test_only"
    assert seen["last-event-id"] == "7"
    assert seen["origin"] == py_page.page.evaluate("location.origin")


def test_the_request_and_its_credential_are_not_logged(py_page: PyPage,
                                                       peer: PeerServer) -> None:
    logged: list[str] = []

    def record(message: object) -> None:
        logged.append(message.text)  # type: ignore[attr-defined]

    py_page.page.on("console", record)
    try:
        py_page.run(IMPORTS + f"""
transport.send(Request("GET", "{peer.origin}/echo",
    headers={{"authorization": "Bearer pf_sess_secret_marker"}})).read()
transport.send(Request("GET", "{peer.origin}/hang?phase=body", timeout=2.0,
    headers={{"authorization": "Bearer pf_sess_secret_marker"}}))
""")
    finally:
        py_page.page.remove_listener("console", record)
    assert not [text for text in logged if "pf_sess_secret_marker" in text]


def test_an_error_status_is_a_response_with_its_body(py_page: PyPage, peer: PeerServer) -> None:
    status, body = py_page.run(IMPORTS + f"""
response = transport.send(Request("GET", "{peer.origin}/status/403"))
[response.status_code, response.read().decode()]
""")
    assert status == 403 and '"code": "status_403"' in body


def test_a_response_without_a_body_reads_as_empty(py_page: PyPage, peer: PeerServer) -> None:
    assert py_page.run(IMPORTS + f"""
response = transport.send(Request("DELETE", "{peer.origin}/status/204"))
[response.status_code, response.read().decode()]
""") == [204, ""]


def test_closing_mid_stream_aborts_the_fetch(py_page: PyPage, peer: PeerServer) -> None:
    tag = _tag()
    first = py_page.run(IMPORTS + f"""
response = transport.send(Request("GET", "{peer.origin}/stream?n=100&delay=0.2&tag={tag}"))
for chunk in response.iter_bytes():
    break
response.close()
chunk.decode()
""")
    assert first == TICKS[0]
    assert peer.disconnected(tag).wait(DISCONNECT_WAIT)


def test_leaving_the_body_iterator_aborts_the_fetch(py_page: PyPage, peer: PeerServer) -> None:
    tag = _tag()
    py_page.run(IMPORTS + f"""
response = transport.send(Request("GET", "{peer.origin}/stream?n=100&delay=0.2&tag={tag}"))
body = response.iter_bytes()
next(body)
body.close()  # what `for` ... `break` leads to once the generator is dropped
""")
    assert peer.disconnected(tag).wait(DISCONNECT_WAIT)


@pytest.mark.parametrize("phase", ["headers", "body"])
def test_a_timeout_raises_APITimeoutError_and_aborts(py_page: PyPage, peer: PeerServer,
                                                     phase: str) -> None:
    tag = _tag()
    outcome = py_page.run(IMPORTS + f"""
chunks = []
try:
    response = transport.send(Request("GET",
        "{peer.origin}/hang?phase={phase}&tag={tag}", timeout=2.0))
    for chunk in response.iter_bytes():
        chunks.append(chunk)
    outcome = "no timeout"
except APITimeoutError as exc:
    outcome = type(exc).__name__
[outcome, len(chunks)]
""")
    assert outcome == ["APITimeoutError", 1 if phase == "body" else 0]
    assert peer.disconnected(tag).wait(DISCONNECT_WAIT)


def test_a_slow_stream_within_its_timeout_is_not_cut(py_page: PyPage, peer: PeerServer) -> None:
    # The timeout bounds each wait for a chunk, not the whole body.
    chunks = py_page.run(IMPORTS + f"""
response = transport.send(Request("GET", "{peer.origin}/stream?n=4&delay=0.4", timeout=3))
[c.decode() for c in response.iter_bytes()]
""")
    assert "".join(chunks) == "".join(TICKS)


def test_a_connection_cut_mid_body_raises_APIConnectionError(py_page: PyPage,
                                                              peer: PeerServer) -> None:
    outcome = py_page.run(IMPORTS + f"""
outcomes = {{}}
for _ in range(20):
    chunks = []
    try:
        response = transport.send(Request("GET", "{peer.origin}/drop"))
        for chunk in response.iter_bytes():
            chunks.append(chunk)
        outcome = "ended normally"
    except APIConnectionError as exc:
        outcome = type(exc).__name__
    key = f"{{outcome}} after {{len(chunks)}} chunk(s)"
    outcomes[key] = outcomes.get(key, 0) + 1
outcomes
""")
    assert set(outcome) <= {"APIConnectionError after 0 chunk(s)",
                            "APIConnectionError after 1 chunk(s)"}, outcome


def test_an_unreachable_server_raises_APIConnectionError(py_page: PyPage) -> None:
    with socket.socket() as s:  # a loopback port with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    outcome = py_page.run(IMPORTS + f"""
try:
    transport.send(Request("GET", "http://127.0.0.1:{port}/v1/apps"))
    outcome = "answered"
except APIConnectionError as exc:
    outcome = [type(exc).__name__, str(exc)]
outcome
""")
    assert outcome[0] == "APIConnectionError"
    assert str(port) not in outcome[1]


def test_an_origin_the_api_does_not_allow_raises_APIConnectionError(py_page: PyPage,
                                                                      peer: PeerServer) -> None:
    outcome = py_page.run(IMPORTS + f"""
try:
    transport.send(Request("GET", "{peer.origin}/nocors"))
    outcome = "answered"
except APIConnectionError as exc:
    outcome = [type(exc).__name__, str(exc)]
outcome
""")
    assert outcome == ["APIConnectionError", outcome[1]]
    assert "allow this page's origin (CORS)" in outcome[1]


def test_a_relative_url_resolves_against_the_page(py_page: PyPage) -> None:
    assert py_page.run(IMPORTS + """
response = transport.send(Request("GET", "/_test/boot.mjs"))
response.read()
response.status_code
""") == 200


def test_outside_jspi_send_says_why_instead_of_failing_deep_inside(py_page: PyPage,
                                                                  peer: PeerServer) -> None:
    # A synchronous handler proxy (here a setTimeout callback) may not suspend.
    outcome = py_page.run(IMPORTS + f"""
import asyncio, js
from pyodide.ffi import create_once_callable
done = asyncio.get_running_loop().create_future()
def handler():
    try:
        transport.send(Request("GET", "{peer.origin}/echo"))
        done.set_result("sent")
    except PromptFloeError as exc:
        done.set_result([type(exc).__name__, str(exc)])
js.setTimeout(create_once_callable(handler), 0)
await done
""")
    assert outcome[0] == "PromptFloeError"
    assert "cannot wait for the network here" in outcome[1]
    assert "async def" in outcome[1]
