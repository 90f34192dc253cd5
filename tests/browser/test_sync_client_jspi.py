"""The sync client (``PromptFloe``) in the browser, and how it picks its transport.

Under Pyodide, ``PromptFloe`` uses ``PyodideSyncTransport``, which chooses per
request (``pf_browser/_transports/choice.py``): JSPI where
``can_run_sync()`` holds, pyodide-http's helper worker where it runs, and
otherwise refuses an event stream with words instead of buffering it. Each
case is made to happen for real here: ``runPythonAsync`` (what PyScript's
top-level script and a notebook cell use), an ``async def`` callback, a plain
synchronous callback (a handler proxy, here one that ``setTimeout`` calls),
on the main thread of a page that is not cross-origin isolated and in
workers of pages that are and are not.

The second half runs the sync client on the main thread against the real
local server (pf_server's ``LiveServer``) on another origin.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from _local_servers import PeerServer, StaticServer
from conftest import PyPage

testing = pytest.importorskip("pf_server.testing")

TOKEN = "pf_sess_test_only"
DISCONNECT_WAIT = 15  # seconds; an upper bound for the server to notice, not a measurement
PACE = 0.3  # seconds between the live server's files


def _tag() -> str:
    return uuid.uuid4().hex[:12]


def _client(base_url: str, **options: str) -> str:
    """Python that makes ``client`` and the helpers below; ``options`` are its
    other arguments, as Python source (default: ``api_key`` the test token)."""
    options = {"api_key": f'"{TOKEN}"', "max_retries": "0"} | options
    arguments = "".join(f", {k}={v}" for k, v in options.items() if v)
    return f"""
import asyncio, js, warnings
from pyodide.ffi import create_once_callable
from pf_browser import PromptFloe, PromptFloeError, APITimeoutError
refreshed = []
client = PromptFloe(base_url="{base_url}"{arguments})
transport = client._transport

def from_sync_callback(fn):
    # Run fn from a plain synchronous JS callback: not an async door.
    done = asyncio.get_running_loop().create_future()
    def callback():
        try:
            done.set_result(fn())
        except PromptFloeError as exc:
            done.set_result([type(exc).__name__, str(exc)])
    js.setTimeout(create_once_callable(callback), 0)
    return done

def from_async_callback(fn):
    # Run fn from an `async def` function that JS calls: an async door.
    done = asyncio.get_running_loop().create_future()
    async def callback():
        done.set_result(fn())
    js.setTimeout(create_once_callable(callback), 0)
    return done

def generate():
    with client.apps.generate_stream("a bakery") as stream:
        return [transport.route(), [event.type for event in stream]]
"""


EVENTS = ["run", "file", "file", "file", "ready"]


# The choice, case by case --------------------------------------------------------------


def test_main_thread_top_level_streams_through_jspi(py_page: PyPage, peer: PeerServer) -> None:
    tag = _tag()
    peer.generate = {"n": 3, "size": 100, "delay": 0.05, "stamp": 0}
    name, (route, events) = py_page.run(_client(f"{peer.origin}/tag/{tag}") + """
[type(transport).__name__, generate()]
""")
    assert (name, route, events) == ("PyodideSyncTransport", "jspi", EVENTS)
    assert peer.seen[tag]["authorization"] == f"Bearer {TOKEN}"


def test_events_reach_python_as_the_server_flushes_them(py_page: PyPage,
                                                        peer: PeerServer) -> None:
    # Each file's content starts with the server's clock at its flush; the
    # page notes its own clock (the same machine's) as each event arrives. If
    # the body were buffered, nothing would arrive before the last flush.
    peer.generate = {"n": 5, "size": 200, "delay": 0.3, "stamp": 1}
    arrivals = py_page.run(_client(f"{peer.origin}/tag/{_tag()}") + """
arrivals = []
for event in client.apps.generate_stream("a bakery"):
    if event.type == "file":
        arrivals.append([js.Date.now() / 1000, float(event.content.split("\\n")[0])])
arrivals
""")
    assert len(arrivals) == 5
    first_arrived = arrivals[0][0]
    last_flushed = arrivals[-1][1]
    assert first_arrived < last_flushed
    assert len({round(arrived, 3) for arrived, _ in arrivals}) > 1


def test_an_async_def_callback_streams_through_jspi(py_page: PyPage, peer: PeerServer) -> None:
    peer.generate = {"n": 3, "size": 100, "delay": 0.05, "stamp": 0}
    route, events = py_page.run(_client(f"{peer.origin}/tag/{_tag()}") + """
await from_async_callback(generate)
""")
    assert (route, events) == ("jspi", EVENTS)


def test_a_sync_callback_on_the_main_thread_refuses_a_stream_before_any_request(
        py_page: PyPage, peer: PeerServer) -> None:
    tag = _tag()
    refreshes = py_page.run(_client(f"{peer.origin}/tag/{tag}", api_key="",
                                    refresh_fn="lambda: refreshed.append(1) or 'pf_sess_x'")
                            + """
outcome = await from_sync_callback(generate)
[outcome, len(refreshed)]
""")
    (kind, message), refreshed = refreshes
    assert kind == "PromptFloeError"
    assert "cannot stream events here" in message
    assert "not entered through an async door" in message and "main thread" in message
    assert "AsyncPromptFloe" in message and "async def" in message
    assert refreshed == 0  # no token fetched for a stream that cannot stream
    assert tag not in peer.seen  # and nothing sent


def test_a_sync_callback_on_the_main_thread_buffers_other_calls_with_one_warning(
        py_page: PyPage, peer: PeerServer) -> None:
    tag = _tag()
    outcome = py_page.run(_client(peer.origin) + f"""
from pf_browser._transports.base import Request
def two_calls():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        routes = [transport.route(stream=False)]
        bodies = [transport.send(Request("GET", "{peer.origin}/echo?tag={tag}")).read()
                  for _ in range(2)]
    return [routes, [len(b) > 0 for b in bodies], [str(w.message) for w in caught]]
await from_sync_callback(two_calls)
""")
    routes, read, warned = outcome
    assert routes == ["buffered"] and read == [True, True]
    assert len(warned) == 1 and "synchronous XMLHttpRequest" in warned[0]
    assert tag in peer.seen


def test_a_sync_callback_in_an_isolated_worker_streams_through_the_helper_worker(
        isolated_py_page: PyPage, peer: PeerServer) -> None:
    peer.generate = {"n": 3, "size": 100, "delay": 0.05, "stamp": 0}
    top, ready, (route, events) = isolated_py_page.run_in_worker(
        _client(f"{peer.origin}/tag/{_tag()}") + """
top = transport.route()
ready = await transport.ready()
[top, ready, await from_sync_callback(generate)]
""")
    assert (top, ready) == ("jspi", True)
    assert (route, events) == ("worker", EVENTS)


def test_a_sync_callback_in_a_worker_of_a_page_not_isolated_refuses_a_stream(
        py_page: PyPage, peer: PeerServer) -> None:
    kind, message = py_page.run_in_worker(_client(f"{peer.origin}/tag/{_tag()}") + """
await transport.ready()
await from_sync_callback(generate)
""")
    assert kind == "PromptFloeError"
    assert "not cross-origin isolated" in message


# Against the real server, on the main thread ------------------------------------------


@pytest.fixture(scope="module")
def live(test_origin: StaticServer) -> Iterator[Any]:
    with testing.LiveServer(allowed_origins=[test_origin.origin], pace=PACE) as server:
        yield server


def _token(live: Any, user: str = "user_sync") -> str:
    from pf_browser import PromptFloe

    with PromptFloe(api_key=live.api_key, base_url=live.base_url) as client:
        return client.sessions.issue(user, scopes=["build", "read"]).token


def _app_files(live: Any, app_id: str) -> list[str]:
    from pf_browser import PromptFloe

    with PromptFloe(api_key=live.api_key, base_url=live.base_url) as client:
        return [f.path for f in client.apps.get(app_id).files]


def test_a_real_generation_streams_every_file_then_ready(py_page: PyPage, live: Any) -> None:
    events = py_page.run(f"""
import js
from pf_browser import PromptFloe
client = PromptFloe(api_key="{_token(live)}", base_url="{live.base_url}")
events = []
with client.apps.generate_stream("a landing page for a bakery") as stream:
    for event in stream:
        events.append([event.type, getattr(event, "path", None) or getattr(event, "app_id", None),
                       js.performance.now() / 1000])
events
""")
    types = [kind for kind, _, _ in events]
    assert types[0] == "run" and types[-1] == "ready" and set(types[1:-1]) == {"file"}
    assert [path for kind, path, _ in events if kind == "file"] == _app_files(live, events[0][1])
    # Paced by the server, not all at the end: at least one pace apart overall.
    files = [at for kind, _, at in events if kind == "file"]
    assert len(files) >= 3 and events[-1][2] - files[0] >= PACE


def _start(py_page: PyPage, code: str) -> None:
    """Run ``code`` in the page without waiting for it (its value goes to window.__outcome)."""
    py_page.page.evaluate("""code => {
        window.__outcome = undefined;
        window.runPython(code).then(r => { window.__outcome = {ok: r}; },
                                    e => { window.__outcome = {error: String(e)}; });
    }""", code)


def _outcome(py_page: PyPage) -> Any:
    py_page.page.wait_for_function("window.__outcome !== undefined", timeout=60_000)
    outcome = py_page.page.evaluate("window.__outcome")
    assert "error" not in outcome, outcome["error"]
    return outcome["ok"]


def test_a_cut_connection_resumes_with_last_event_id_losing_and_repeating_nothing(
        py_page: PyPage, live: Any) -> None:
    resumes: list[dict[str, str]] = []

    def record(request: Any) -> None:
        if "/v1/runs/" in request.url and request.method == "GET":
            resumes.append(request.headers)

    py_page.page.on("request", record)
    try:
        _start(py_page, f"""
import js
from pf_browser import PromptFloe
client = PromptFloe(api_key="{_token(live)}", base_url="{live.base_url}")
got = []
with client.apps.generate_stream("a notes board for a book club") as stream:
    for event in stream:
        got.append([event.type, getattr(event, "path", None) or getattr(event, "app_id", "")])
        js.window.__got = len(got)
got
""")
        py_page.page.wait_for_function("window.__got >= 2", timeout=60_000)
        assert live.drop_streams() == 1
        got = _outcome(py_page)
    finally:
        py_page.page.remove_listener("request", record)
    assert [kind for kind, _ in got] == ["run"] + ["file"] * (len(got) - 2) + ["ready"]
    assert [path for kind, path in got if kind == "file"] == _app_files(live, got[0][1])
    assert len(resumes) == 1 and int(resumes[0]["last-event-id"]) >= 2


def test_breaking_out_of_the_loop_aborts_the_fetch_and_the_server_sees_it(
        py_page: PyPage, live: Any) -> None:
    run_id = py_page.run(f"""
from pf_browser import PromptFloe
client = PromptFloe(api_key="{_token(live)}", base_url="{live.base_url}")
for event in client.apps.generate_stream("a bakery"):
    break
event.run_id
""")
    assert live.wait_for_disconnect(run_id, DISCONNECT_WAIT)


def test_a_hung_server_hits_the_timeout(py_page: PyPage) -> None:
    # A port that takes connections and never answers one.
    with socket.socket() as hung:
        hung.bind(("127.0.0.1", 0))
        hung.listen(16)
        url = f"http://127.0.0.1:{hung.getsockname()[1]}"
        # Started, not awaited: without a timeout it would wait for ever, and
        # the bounded wait for its outcome fails the test instead of hanging it.
        _start(py_page, _client(url, timeout="0.5") + """
try:
    generate()
    outcome = "answered"
except APITimeoutError as exc:
    outcome = type(exc).__name__
outcome
""")
        assert _outcome(py_page) == "APITimeoutError"


# Calls that interleave on one thread -----------------------------------------------------


def test_two_calls_that_need_a_token_at_once_share_one_refresh_without_freezing(
        py_page: PyPage, peer: PeerServer) -> None:
    # Both start from async doors and interleave while they wait on the
    # network. The first holds the refresh lock while its refresh_fn waits; a
    # blocking wait for that lock on this same thread would stop the page (and
    # the first call) for ever: the bounded wait below would fail instead.
    peer.generate = {"n": 3, "size": 100, "delay": 0.05, "stamp": 0}
    _start(py_page, _client(f"{peer.origin}/tag/{_tag()}", api_key="",
                            refresh_fn="slow_refresh") .replace(
        "refreshed = []\n", """refreshed = []
from pf_browser._transports.jspi import pause
def slow_refresh():
    pause(0.3)  # an endpoint that takes its time, the page free meanwhile
    refreshed.append(1)
    return "pf_sess_slow"
""") + """
both = await asyncio.gather(from_async_callback(generate), from_async_callback(generate))
[both, len(refreshed)]
""")
    both, refreshes = _outcome(py_page)
    assert both == [["jspi", EVENTS], ["jspi", EVENTS]]
    assert refreshes == 1


def test_pause_lets_the_page_run_and_says_where_it_cannot(py_page: PyPage) -> None:
    assert py_page.run(_client("http://127.0.0.1:9") + """
import threading
ran = []
js.setTimeout(create_once_callable(lambda: ran.append("during pause")), 0)
paused = transport.pause(0.2)
# where a call may not suspend, it says so at once instead of spinning
[paused, ran, await from_sync_callback(lambda: transport.pause(0.2))]
""") == [True, ["during pause"], False]
