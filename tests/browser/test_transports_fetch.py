"""FetchTransport in real Pyodide in headless Chromium, against a second loopback origin.

The page is served from ``test_origin`` and talks to ``peer`` on another port,
so every request is cross-origin and CORS is real.
"""

from __future__ import annotations

import socket
import uuid

import pytest
from _local_servers import PeerServer
from conftest import PyPage

IMPORTS = """
from pf_browser._transports.base import Request
from pf_browser._transports.fetch import FetchTransport
from pf_browser import APIConnectionError, APITimeoutError
transport = FetchTransport()
"""

DISCONNECT_WAIT = 15  # seconds; an upper bound for the server to notice, not a measurement


def _tag() -> str:
    return uuid.uuid4().hex[:12]


@pytest.mark.parametrize("where", ["main", "worker"])
def test_each_server_flush_arrives_as_its_own_chunk(py_page: PyPage, peer: PeerServer,
                                                    where: str) -> None:
    code = IMPORTS + f"""
response = await transport.send(Request("GET", "{peer.origin}/stream?n=4&delay=0.3"))
[c.decode() async for c in response.aiter_bytes()]
"""
    chunks = py_page.run(code) if where == "main" else py_page.run_in_worker(code)
    assert chunks == [f'id: {i}\nevent: tick\ndata: {{"i": {i}, "pad": ""}}\n\n'
                      for i in range(1, 5)]


def test_headers_and_body_reach_the_other_origin(py_page: PyPage, peer: PeerServer) -> None:
    tag = _tag()
    result = py_page.run(IMPORTS + f"""
import json
response = await transport.send(Request(
    "POST", "{peer.origin}/echo?tag={tag}", content=b'{{"prompt": "hi"}}',
    headers={{"authorization": "Bearer pf_sess_test_only", "content-type": "application/json",
             "last-event-id": "7"}}))
[response.status_code, dict(response.headers), json.loads(await response.aread())]
""")
    status, headers, echoed = result
    assert status == 200
    assert headers["x-peer"] == "yes"  # exposed by Access-Control-Expose-Headers
    assert echoed["method"] == "POST" and echoed["body"] == '{"prompt": "hi"}'
    seen = peer.seen[tag]
    assert seen["authorization"] == "Bearer pf_sess_test_only"
    assert seen["content-type"] == "application/json"
    assert seen["last-event-id"] == "7"
    assert seen["origin"] == py_page.page.evaluate("location.origin")


def test_an_error_status_is_a_response_with_its_body(py_page: PyPage, peer: PeerServer) -> None:
    status, body = py_page.run(IMPORTS + f"""
response = await transport.send(Request("GET", "{peer.origin}/status/403"))
[response.status_code, (await response.aread()).decode()]
""")
    assert status == 403
    assert '"code": "status_403"' in body


def test_a_response_without_a_body_reads_as_empty(py_page: PyPage, peer: PeerServer) -> None:
    status, body = py_page.run(IMPORTS + f"""
response = await transport.send(Request("DELETE", "{peer.origin}/status/204"))
[response.status_code, (await response.aread()).decode()]
""")
    assert [status, body] == [204, ""]


def test_closing_mid_stream_aborts_the_fetch(py_page: PyPage, peer: PeerServer) -> None:
    tag = _tag()
    first = py_page.run(IMPORTS + f"""
response = await transport.send(Request("GET", "{peer.origin}/stream?n=100&delay=0.2&tag={tag}"))
async for chunk in response.aiter_bytes():
    break
await response.aclose()
chunk.decode()
""")
    assert first.startswith("id: 1\n")
    assert peer.disconnected(tag).wait(DISCONNECT_WAIT)


def test_leaving_the_body_iterator_aborts_the_fetch(py_page: PyPage, peer: PeerServer) -> None:
    tag = _tag()
    py_page.run(IMPORTS + f"""
response = await transport.send(Request("GET", "{peer.origin}/stream?n=100&delay=0.2&tag={tag}"))
body = response.aiter_bytes()
await anext(body)
await body.aclose()  # what `async for` ... `break` leads to once the generator is closed
""")
    assert peer.disconnected(tag).wait(DISCONNECT_WAIT)


def test_cancelling_the_reading_task_aborts_the_fetch(py_page: PyPage, peer: PeerServer) -> None:
    tag = _tag()
    outcome = py_page.run(IMPORTS + f"""
import asyncio
got_one = asyncio.Event()
async def consume():
    response = await transport.send(Request("GET",
        "{peer.origin}/stream?n=100&delay=0.2&tag={tag}"))
    async for chunk in response.aiter_bytes():
        got_one.set()
task = asyncio.ensure_future(consume())
await got_one.wait()
task.cancel()
try:
    await task
    outcome = "finished"
except asyncio.CancelledError:
    outcome = "cancelled"
outcome
""")
    assert outcome == "cancelled"
    assert peer.disconnected(tag).wait(DISCONNECT_WAIT)


@pytest.mark.parametrize("phase", ["headers", "body"])
def test_a_timeout_raises_APITimeoutError_and_aborts(py_page: PyPage, peer: PeerServer,
                                                     phase: str) -> None:
    tag = _tag()
    outcome = py_page.run(IMPORTS + f"""
chunks = []
try:
    response = await transport.send(Request("GET",
        "{peer.origin}/hang?phase={phase}&tag={tag}", timeout=2.0))
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
    outcome = "no timeout"
except APITimeoutError as exc:
    outcome = type(exc).__name__
[outcome, len(chunks)]
""")
    assert outcome == ["APITimeoutError", 1 if phase == "body" else 0]
    assert peer.disconnected(tag).wait(DISCONNECT_WAIT)


def test_a_connection_cut_mid_body_raises_APIConnectionError(py_page: PyPage,
                                                              peer: PeerServer) -> None:
    outcome = py_page.run(IMPORTS + f"""
chunks = []
try:
    response = await transport.send(Request("GET", "{peer.origin}/drop"))
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
    outcome = "ended normally"
except APIConnectionError as exc:
    outcome = type(exc).__name__
[outcome, len(chunks)]
""")
    assert outcome[0] == "APIConnectionError" and outcome[1] <= 1


def test_an_unreachable_server_raises_APIConnectionError(py_page: PyPage) -> None:
    with socket.socket() as s:  # a loopback port with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    outcome = py_page.run(IMPORTS + f"""
try:
    await transport.send(Request("GET", "http://127.0.0.1:{port}/v1/apps"))
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
    await transport.send(Request("GET", "{peer.origin}/nocors"))
    outcome = "answered"
except APIConnectionError as exc:
    outcome = [type(exc).__name__, str(exc)]
outcome
""")
    assert outcome[0] == "APIConnectionError"
    assert "allow this page's origin (CORS)" in outcome[1]


def test_a_relative_url_resolves_against_the_page(py_page: PyPage) -> None:
    status = py_page.run(IMPORTS + """
response = await transport.send(Request("GET", "/_test/boot.mjs"))
await response.aread()
response.status_code
""")
    assert status == 200
