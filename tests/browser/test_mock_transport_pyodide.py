"""pf_browser.transports.MockTransport in real Pyodide: a user's unit test runs
in the browser as in CPython, with no network at all."""

from __future__ import annotations

from conftest import PyPage

CODE = """
import json
from pf_browser import AsyncPromptFloe, NotFoundError, PromptFloe
from pf_browser.transports import AsyncMockTransport, MockTransport, Request, Response

STREAM = (b'id: 1\\nevent: run\\ndata: {"runId": "run_1", "appId": "app_1"}\\n\\n'
          b'id: 2\\nevent: ready\\ndata: {"appId": "app_1", "previewUrl": "http://x/"}\\n\\n')

def handler(request: Request) -> Response:
    if request.path == "/v1/apps/generate":
        return Response(200, headers={"Content-Type": "text/event-stream"},
                        stream=[STREAM[:30], STREAM[30:]])
    return Response(404, json={"error": {"type": "error", "code": "not_found",
                                         "message": "No app " + request.path}})

async def async_handler(request: Request) -> Response:
    return handler(request)

sync_transport = MockTransport(handler)
sync = PromptFloe(api_key="pf_sess_test", base_url="http://api.test", transport=sync_transport)
sync_types = [event.type for event in sync.apps.generate_stream("a bakery")]
try:
    sync.apps.get("app_9")
    sync_error = None
except NotFoundError as exc:
    sync_error = exc.code

client = AsyncPromptFloe(api_key="pf_sess_test", base_url="http://api.test",
                         transport=AsyncMockTransport(async_handler))
async with client.apps.generate_stream("a bakery") as stream:
    async_types = [event.type async for event in stream]
[sync_types, sync_error, async_types, [r.path for r in sync_transport.requests],
 json.loads(sync_transport.requests[0].content)]
"""


def test_mock_transport_drives_both_clients_in_pyodide_with_no_request_sent(
        py_page: PyPage) -> None:
    sync_types, sync_error, async_types, paths, body = py_page.run(CODE)
    assert sync_types == ["run", "ready"] and async_types == ["run", "ready"]
    assert sync_error == "not_found"
    assert paths == ["/v1/apps/generate", "/v1/apps/app_9"]
    assert body == {"prompt": "a bakery"}
    # Nothing went to the API's host: the handler answered every call.
    assert not [url for url in py_page.requests_seen if "api.test" in url]


def test_PROMPTFLOE_API_KEY_is_never_read_in_pyodide(py_page: PyPage) -> None:
    outcome = py_page.run("""
import os
from pf_browser import AsyncPromptFloe, PromptFloeError
os.environ["PROMPTFLOE_API_KEY"] = "pf_test_in_the_page"
try:
    AsyncPromptFloe()
    outcome = "read the key"
except PromptFloeError as exc:
    outcome = str(exc)
finally:
    del os.environ["PROMPTFLOE_API_KEY"]
outcome
""")
    assert outcome.startswith("No credential") and "pf_test_in_the_page" not in outcome
