"""The browser transports against the real local PromptFloe server (pf_server).

The page comes from ``test_origin`` (or ``isolated_origin``), the API from a
``LiveServer`` on another loopback port that allows exactly those origins, so
CORS, the bearer token and the event stream are all the real thing. The
page holds only a session token minted here with the secret key, as an app's
server would.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from _local_servers import StaticServer
from conftest import PyPage

from pf_browser import PromptFloe

testing = pytest.importorskip("pf_server.testing")

PACE = 0.2  # seconds between the server's events, so a run is still going when we leave


@pytest.fixture(scope="module")
def live(test_origin: StaticServer, isolated_origin: StaticServer) -> Iterator[Any]:
    with testing.LiveServer(allowed_origins=[test_origin.origin, isolated_origin.origin],
                            pace=PACE) as server:
        yield server


def _token(live: Any, scopes: list[str]) -> str:
    with PromptFloe(api_key=live.api_key, base_url=live.base_url) as client:
        return client.sessions.issue("user_browser", scopes=scopes).token


def test_a_session_token_streams_a_real_generation_cross_origin(py_page: PyPage,
                                                                live: Any) -> None:
    token = _token(live, ["build", "read"])
    types, preview = py_page.run(f"""
from pf_browser import AsyncPromptFloe
client = AsyncPromptFloe(api_key="{token}", base_url="{live.base_url}")
types, preview = [], None
async with client.apps.generate_stream("a landing page for a bakery") as stream:
    async for event in stream:
        types.append(event.type)
        if event.type == "ready":
            preview = event.preview_url
[types, preview]
""")
    assert types[0] == "run" and types[-1] == "ready"
    assert types.count("file") >= 3
    port = live.base_url.rsplit(":", 1)[1]  # the app's own origin, on the API server's port
    assert re.fullmatch(rf"http://app-[0-9a-f]{{32}}\.localhost:{port}/", preview), preview


def test_a_missing_scope_is_PermissionDeniedError_in_the_page(py_page: PyPage,
                                                              live: Any) -> None:
    token = _token(live, ["read"])
    outcome = py_page.run(f"""
from pf_browser import AsyncPromptFloe, PermissionDeniedError
client = AsyncPromptFloe(api_key="{token}", base_url="{live.base_url}")
try:
    async with client.apps.generate_stream("a bakery") as stream:
        async for event in stream:
            pass
    outcome = "generated"
except PermissionDeniedError as exc:
    outcome = [exc.status_code, exc.code, exc.request_id]
outcome
""")
    assert outcome[:2] == [403, "insufficient_scope"]
    assert outcome[2].startswith("req_")  # exposed to the page by CORS


def test_leaving_a_real_stream_early_the_server_sees_the_disconnect(py_page: PyPage,
                                                                    live: Any) -> None:
    token = _token(live, ["build"])
    run_id = py_page.run(f"""
from pf_browser import AsyncPromptFloe
client = AsyncPromptFloe(api_key="{token}", base_url="{live.base_url}")
async with client.apps.generate_stream("a bakery") as stream:
    async for event in stream:
        break
event.run_id
""")
    assert live.wait_for_disconnect(run_id)


def test_the_sync_client_streams_a_real_generation_in_an_isolated_worker(
        isolated_py_page: PyPage, live: Any) -> None:
    token = _token(live, ["build"])
    streaming, types = isolated_py_page.run_in_worker(f"""
from pf_browser import PromptFloe
from pf_browser._transports.pyodide_http import PyodideHttpTransport
transport = PyodideHttpTransport()
streaming = await transport.ready()
client = PromptFloe(api_key="{token}", base_url="{live.base_url}", transport=transport)
with client.apps.generate_stream("a bakery") as stream:
    types = [event.type for event in stream]
[streaming, types]
""")
    assert streaming is True
    assert types[0] == "run" and types[-1] == "ready" and "file" in types


def test_a_prompt_of_8000_emoji_fits_the_servers_body_cap_from_the_page(
        py_page: PyPage, live: Any) -> None:
    """The body is UTF-8 JSON in the browser too: 8,000 four-byte characters
    (32 KB; 96 KB as \\u escapes) are accepted; one more is prompt_too_long."""
    token = _token(live, ["build", "read"])
    outcome = py_page.run(f"""
from pf_browser import AsyncPromptFloe, InvalidRequestError
client = AsyncPromptFloe(api_key="{token}", base_url="{live.base_url}")
async with client.apps.generate_stream("\\U0001F600" * 8000) as stream:
    types = [event.type async for event in stream]
app = await client.apps.get(stream.app_id)
try:
    async with client.apps.generate_stream("\\U0001F600" * 8001) as stream:
        pass
    refused = None
except InvalidRequestError as exc:
    refused = [exc.status_code, exc.code]
[types[0], types[-1], len(app.prompt), app.prompt == "\\U0001F600" * 8000, refused]
""")
    assert outcome == ["run", "ready", 8000, True, [413, "prompt_too_long"]]
