"""PyodideHttpTransport (the sync client's transport) in real workers in Chromium.

Streaming needs a cross-origin isolated page (``isolated_py_page``); the
other cases check the buffered fallback and the words of its warning. The
first tests pin down why pyodide-http 0.2.2's own streaming hung and what
else in it we work around: see the module docstring of
``pf_browser/_transports/pyodide_http.py``.
"""

from __future__ import annotations

import uuid

import pytest
from _local_servers import PeerServer
from conftest import PyPage

IMPORTS = """
import asyncio, warnings
import pf_browser._transports.pyodide_http as mod
from pf_browser._transports.base import Request
from pf_browser import APIConnectionError, APITimeoutError
mod._warned = False  # the buffered warning is once per process; each test wants to see it
"""

TICKS = [f'id: {i}\nevent: tick\ndata: {{"i": {i}, "pad": ""}}\n\n' for i in range(1, 5)]
DISCONNECT_WAIT = 15  # seconds; an upper bound for the server to notice, not a measurement


def _tag() -> str:
    return uuid.uuid4().hex[:12]


# What we learned about pyodide-http 0.2.2 --------------------------------------------


def test_upstream_helper_worker_cannot_start_while_its_creator_blocks(
        isolated_py_page: PyPage, peer: PeerServer) -> None:
    # Why its streaming "hung": the helper is created and the creating worker
    # blocks in Atomics.wait at once, so the helper never starts and the wait
    # only ends at the timeout. Once the worker's event loop has run, the very
    # same helper answers.
    outcome = isolated_py_page.run_in_worker(f"""
import asyncio
from pyodide_http import _core, _streaming
fetcher = _streaming._StreamingFetcher()
request = _core.Request("GET", "{peer.origin}/stream?n=1", timeout=1)
try:
    fetcher.send(request)
    first = "answered"
except _core._StreamingTimeout:
    first = "timed out"
await asyncio.sleep(0.5)
second = fetcher.send(_core.Request("GET", "{peer.origin}/stream?n=1", timeout=5))
[first, second.status_code]
""")
    assert outcome == ["timed out", 200]


def test_upstream_readinto_writes_nothing_into_raw_read_buffers(py_page: PyPage) -> None:
    # pyodide-http's _ReadStream.readinto copies with JsBuffer.assign_to into
    # a slice of the memoryview it is given. The memoryview RawIOBase.read()
    # passes under Pyodide's CPython 3.14 is not written by that, so read()
    # returns uninitialised bytes; a BufferedReader's read1 buffer is. That is
    # why our helper's chunks are copied out of the shared buffer by
    # _HelperBody, never through readinto.
    outcome = py_page.run("""
import io, js
class Raw(io.RawIOBase):
    done = False
    def readable(self): return True
    def readinto(self, view):
        if self.done: return 0
        self.done = True
        js.Uint8Array.new([104, 105]).assign_to(view[0:2])
        return 2
[Raw().read(8192) == b"hi", io.BufferedReader(Raw(), 1 << 20).read1(65536) == b"hi"]
""")
    assert outcome == [False, True]


# Streaming, in a cross-origin isolated worker -----------------------------------------


def test_streams_each_flush_as_its_own_chunk_once_ready(isolated_py_page: PyPage,
                                                        peer: PeerServer) -> None:
    streaming, chunks = isolated_py_page.run_in_worker(IMPORTS + f"""
transport = mod.PyodideHttpTransport()
streaming = await transport.ready()
response = transport.send(Request("GET", "{peer.origin}/stream?n=4&delay=0.3"))
[streaming, [c.decode() for c in response.iter_bytes()]]
""")
    assert streaming is True
    assert chunks == TICKS


def test_streaming_imports_neither_pyodide_http_nor_urllib_request(
        isolated_py_page: PyPage, peer: PeerServer) -> None:
    # pyodide_http._streaming imports urllib.request (about half a second in
    # Pyodide) and starts a helper of its own: the streaming path needs neither.
    # (This worker is shared with other tests, which import them: forgotten first.)
    outcome = isolated_py_page.run_in_worker(IMPORTS + f"""
import sys
for name in [m for m in sys.modules if m.startswith(("pyodide_http", "urllib.request"))]:
    del sys.modules[name]
transport = mod.PyodideHttpTransport()
await transport.ready()
body = transport.send(Request("GET", "{peer.origin}/stream?n=2")).read()
[body.count(b"event: tick"), sorted(m for m in sys.modules
                                    if m.startswith(("pyodide_http", "urllib.request")))]
""")
    assert outcome == [2, []]


def test_headers_and_body_reach_the_other_origin_when_streaming(
        isolated_py_page: PyPage, peer: PeerServer) -> None:
    tag = _tag()
    status, body = isolated_py_page.run_in_worker(IMPORTS + f"""
transport = mod.PyodideHttpTransport()
await transport.ready()
response = transport.send(Request("POST", "{peer.origin}/echo?tag={tag}", content=b"{{}}",
    headers={{"authorization": "Bearer pf_sess_test_only", "content-type": "application/json"}}))
[response.status_code, response.read().decode()]
""")
    assert status == 200 and '"method": "POST"' in body
    assert peer.seen[tag]["authorization"] == "Bearer pf_sess_test_only"


def test_the_request_and_its_credential_are_not_logged(isolated_py_page: PyPage,
                                                       peer: PeerServer) -> None:
    # pyodide-http's own streaming send logs its fetch options to the console.
    logged: list[str] = []
    isolated_py_page.page.on("console", lambda message: logged.append(message.text))
    isolated_py_page.run_in_worker(IMPORTS + f"""
transport = mod.PyodideHttpTransport()
await transport.ready()
transport.send(Request("GET", "{peer.origin}/echo",
    headers={{"authorization": "Bearer pf_sess_secret_marker"}})).read()
""")
    assert not [text for text in logged if "pf_sess_secret_marker" in text]


def test_a_response_without_a_body_reads_as_empty_when_streaming(
        isolated_py_page: PyPage, peer: PeerServer) -> None:
    outcome = isolated_py_page.run_in_worker(IMPORTS + f"""
transport = mod.PyodideHttpTransport()
await transport.ready()
response = transport.send(Request("DELETE", "{peer.origin}/status/204"))
[response.status_code, response.read().decode()]
""")
    assert outcome == [204, ""]


def test_closing_mid_stream_aborts_the_fetch(isolated_py_page: PyPage, peer: PeerServer) -> None:
    tag = _tag()
    first = isolated_py_page.run_in_worker(IMPORTS + f"""
transport = mod.PyodideHttpTransport()
await transport.ready()
response = transport.send(Request("GET", "{peer.origin}/stream?n=100&delay=0.2&tag={tag}"))
for chunk in response.iter_bytes():
    break
response.close()
chunk.decode()
""")
    assert first == TICKS[0]
    assert peer.disconnected(tag).wait(DISCONNECT_WAIT)


def test_a_connection_cut_mid_body_raises_APIConnectionError(isolated_py_page: PyPage,
                                                              peer: PeerServer) -> None:
    # Many times over: pyodide-http's own helper signalled the error and then,
    # racing the woken thread, overwrote it with "end of body", so about one
    # cut in twenty-five read as a normal end (seen in CI; 6 of 150 here).
    outcome = isolated_py_page.run_in_worker(IMPORTS + f"""
transport = mod.PyodideHttpTransport()
await transport.ready()
outcomes = {{}}
for _ in range(100):
    response = transport.send(Request("GET", "{peer.origin}/drop"))
    chunks = []
    try:
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
    assert sum(outcome.values()) == 100


@pytest.mark.parametrize("phase", ["headers", "body"])
def test_a_timeout_raises_APITimeoutError_and_aborts_when_streaming(
        isolated_py_page: PyPage, peer: PeerServer, phase: str) -> None:
    tag = _tag()
    outcome = isolated_py_page.run_in_worker(IMPORTS + f"""
transport = mod.PyodideHttpTransport()
await transport.ready()
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


# The buffered fallback, and why ----------------------------------------------------------


BUFFERED = IMPORTS + """
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    transport = mod.PyodideHttpTransport()
    response = transport.send(Request("GET", "{url}"))
    chunks = [c.decode() for c in response.iter_bytes()]
[response.status_code, chunks, [str(w.message) for w in caught]]
"""


def test_before_the_helper_starts_a_request_is_buffered_with_a_warning(
        isolated_py_page: PyPage, peer: PeerServer) -> None:
    status, chunks, warned = isolated_py_page.run_in_worker(
        BUFFERED.format(url=f"{peer.origin}/stream?n=4&delay=0.05"))
    assert status == 200 and chunks == ["".join(TICKS)]
    assert len(warned) == 1 and "await transport.ready()" in warned[0]


def test_a_page_that_is_not_isolated_gets_the_buffered_fallback(py_page: PyPage,
                                                                peer: PeerServer) -> None:
    status, chunks, warned = py_page.run_in_worker(
        BUFFERED.format(url=f"{peer.origin}/stream?n=4&delay=0.05"))
    assert status == 200 and chunks == ["".join(TICKS)]
    assert len(warned) == 1 and "not cross-origin isolated" in warned[0]


def test_the_main_thread_gets_the_buffered_fallback(py_page: PyPage, peer: PeerServer) -> None:
    status, chunks, warned = py_page.run(
        BUFFERED.format(url=f"{peer.origin}/stream?n=4&delay=0.05"))
    assert status == 200 and chunks == ["".join(TICKS)]
    assert len(warned) == 1 and "main thread" in warned[0]


def test_an_error_status_is_a_response_with_its_body_when_buffered(py_page: PyPage,
                                                                   peer: PeerServer) -> None:
    status, chunks, _ = py_page.run_in_worker(BUFFERED.format(url=f"{peer.origin}/status/401"))
    assert status == 401 and '"code": "status_401"' in chunks[0]


def test_a_timeout_raises_APITimeoutError_when_buffered(py_page: PyPage, peer: PeerServer) -> None:
    outcome = py_page.run_in_worker(IMPORTS + f"""
warnings.simplefilter("ignore")
transport = mod.PyodideHttpTransport()
try:
    transport.send(Request("GET", "{peer.origin}/hang?phase=headers", timeout=0.5))
    outcome = "answered"
except APITimeoutError as exc:
    outcome = type(exc).__name__
outcome
""")
    assert outcome == "APITimeoutError"
