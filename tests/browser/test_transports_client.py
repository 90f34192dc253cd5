"""The client over the browser transports, in real Pyodide in Chromium.

``AsyncPromptFloe`` picks ``FetchTransport`` by itself under Pyodide; the sync
``PromptFloe`` runs over ``PyodideHttpTransport`` in a cross-origin isolated
worker. The API is the loopback peer on a second origin, speaking the API's
wire shapes (``tests/browser/_local_servers.py``); a base_url of
``/tag/<tag>`` lets the peer tell this test's calls apart.
"""

from __future__ import annotations

import uuid

import pytest
from _local_servers import PeerServer
from conftest import PyPage

TOKEN = "pf_sess_test_only"
DISCONNECT_WAIT = 15  # seconds; an upper bound for the server to notice, not a measurement


def _tag() -> str:
    return uuid.uuid4().hex[:12]


def _async_client(base_url: str) -> str:
    return f"""
from pf_browser import AsyncPromptFloe, AuthenticationError, PermissionDeniedError
client = AsyncPromptFloe(api_key="{TOKEN}", base_url="{base_url}", max_retries=0)
"""


@pytest.mark.parametrize("where", ["main", "worker"])
def test_async_client_streams_typed_events_over_fetch(py_page: PyPage, peer: PeerServer,
                                                      where: str) -> None:
    tag = _tag()
    peer.generate = {"n": 3, "size": 100, "delay": 0.05, "stamp": 0}
    code = _async_client(f"{peer.origin}/tag/{tag}") + """
types = []
async with client.apps.generate_stream("a bakery") as stream:
    async for event in stream:
        types.append([type(event).__name__, event.type])
[type(client._transport).__name__, types]
"""
    transport, events = py_page.run(code) if where == "main" else py_page.run_in_worker(code)
    assert transport == "FetchTransport"
    assert events == [["RunEvent", "run"]] + [["FileEvent", "file"]] * 3 + [
        ["ReadyEvent", "ready"]]
    assert peer.seen[tag]["authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize(("status", "error"), [(401, "AuthenticationError"),
                                               (403, "PermissionDeniedError")])
def test_an_error_status_raises_the_typed_exception(py_page: PyPage, peer: PeerServer,
                                                    status: int, error: str) -> None:
    outcome = py_page.run(_async_client(f"{peer.origin}/status/{status}") + """
try:
    async with client.apps.generate_stream("a bakery") as stream:
        async for event in stream:
            pass
    outcome = "no error"
except (AuthenticationError, PermissionDeniedError) as exc:
    outcome = [type(exc).__name__, exc.status_code, exc.code]
outcome
""")
    assert outcome == [error, status, f"status_{status}"]


def test_leaving_the_stream_block_early_aborts_the_fetch(py_page: PyPage,
                                                         peer: PeerServer) -> None:
    tag = _tag()
    peer.generate = {"n": 100, "size": 100, "delay": 0.2, "stamp": 0}
    first = py_page.run(_async_client(f"{peer.origin}/tag/{tag}") + """
async with client.apps.generate_stream("a bakery") as stream:
    async for event in stream:
        break
event.type
""")
    assert first == "run"
    assert peer.disconnected(tag).wait(DISCONNECT_WAIT)


def test_breaking_out_of_async_for_aborts_the_fetch(py_page: PyPage, peer: PeerServer) -> None:
    tag = _tag()
    peer.generate = {"n": 100, "size": 100, "delay": 0.2, "stamp": 0}
    py_page.run(_async_client(f"{peer.origin}/tag/{tag}") + """
async for event in client.apps.generate_stream("a bakery"):
    break
""")
    assert peer.disconnected(tag).wait(DISCONNECT_WAIT)


def test_sync_client_streams_in_an_isolated_worker(isolated_py_page: PyPage,
                                                   peer: PeerServer) -> None:
    tag = _tag()
    peer.generate = {"n": 3, "size": 100, "delay": 0.05, "stamp": 0}
    streaming, events = isolated_py_page.run_in_worker(f"""
from pf_browser import PromptFloe
client = PromptFloe(api_key="{TOKEN}", base_url="{peer.origin}/tag/{tag}", max_retries=0)
streaming = await client._transport.ready()
with client.apps.generate_stream("a bakery") as stream:
    events = [event.type for event in stream]
[streaming, events]
""")
    assert streaming is True
    assert events == ["run", "file", "file", "file", "ready"]
    assert peer.seen[tag]["authorization"] == f"Bearer {TOKEN}"


def test_sync_client_leaving_the_stream_early_aborts_the_fetch(isolated_py_page: PyPage,
                                                               peer: PeerServer) -> None:
    tag = _tag()
    peer.generate = {"n": 100, "size": 100, "delay": 0.2, "stamp": 0}
    isolated_py_page.run_in_worker(f"""
from pf_browser import PromptFloe
client = PromptFloe(api_key="{TOKEN}", base_url="{peer.origin}/tag/{tag}", max_retries=0)
await client._transport.ready()
with client.apps.generate_stream("a bakery") as stream:
    for event in stream:
        break
""")
    assert peer.disconnected(tag).wait(DISCONNECT_WAIT)
