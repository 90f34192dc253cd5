"""Runs outlive their watchers: resume after Last-Event-ID, disconnects, drops, keep-alives."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from helpers import bearer, call, events, generate, session

from pf_browser.sse import SSEDecoder
from pf_server.testing import LiveServer


@pytest.fixture(scope="module")
def paced() -> Iterator[Any]:
    """Files 0.5 s apart, so a run is still going while a test looks at it,
    even on a busy machine (at 0.1 s, a run once ended before the test could
    drop its stream)."""
    with LiveServer(pace=0.5) as server:
        yield server


class Reader:
    """Events of an open stream, read a few at a time."""

    def __init__(self, answer: httpx.Response) -> None:
        self.chunks = answer.iter_raw()
        self.decoder = SSEDecoder()

    def take(self, n: int | None = None) -> list[tuple[str | None, str, dict[str, Any]]]:
        """The next ``n`` events (or more, if they came in one chunk); all when ``n`` is None."""
        got: list[tuple[str | None, str, dict[str, Any]]] = []
        for chunk in self.chunks:
            got += [(e.id, e.event, json.loads(e.data)) for e in self.decoder.feed(chunk)]
            if n is not None and len(got) >= n:
                break
        return got


def resume(server: Any, credential: str, run_id: str, last_id: str | None) -> list[Any]:
    headers = bearer(credential) | ({"Last-Event-ID": last_id} if last_id else {})
    with httpx.stream("GET", f"{server.base_url}/v1/runs/{run_id}/events", headers=headers,
                      timeout=30) as answer:
        assert answer.status_code == 200
        assert answer.headers["promptfloe-run-id"] == run_id
        return events(answer.read())


def test_a_run_goes_on_after_its_client_leaves_and_the_server_sees_it_leave(paced: Any) -> None:
    token = session(paced)["token"]
    with httpx.stream("POST", paced.base_url + "/v1/apps/generate", headers=bearer(token),
                      json={"prompt": "a bakery"}) as answer:
        first = Reader(answer).take(2)
    run_id, app_id = first[0][2]["runId"], first[0][2]["appId"]
    assert paced.wait_for_disconnect(run_id, timeout=10)
    rest = resume(paced, token, run_id, first[-1][0])  # follows live until ready
    assert rest[-1][1] == "ready"
    assert call(paced, "GET", f"/v1/apps/{app_id}", token).json()["status"] == "ready"


def test_resume_replays_exactly_the_events_after_last_event_id(paced: Any) -> None:
    token = session(paced)["token"]
    _, whole = generate(paced, token)
    run_id = whole[0][2]["runId"]
    for cut in range(len(whole) + 1):
        last = whole[cut - 1][0] if cut else None
        assert resume(paced, token, run_id, last) == whole[cut:]


def test_a_stream_dropped_by_the_server_resumes_with_nothing_lost_or_repeated(
        paced: Any) -> None:
    token = session(paced)["token"]
    seen: list[Any] = []
    with httpx.stream("POST", paced.base_url + "/v1/apps/generate", headers=bearer(token),
                      json={"prompt": "a to-do list for a choir"}) as answer:
        reader = Reader(answer)
        seen += reader.take(2)
        assert paced.drop_streams() >= 1
        seen += reader.take()  # whatever was sent before the drop; then it ends
    assert seen[-1][1] != "ready"
    seen += resume(paced, token, seen[0][2]["runId"], seen[-1][0])
    assert [e[0] for e in seen] == [str(i) for i in range(1, len(seen) + 1)]
    assert seen[-1][1] == "ready"


def test_idle_time_is_filled_with_keep_alive_comments() -> None:
    with LiveServer(pace=0.3, keepalive=0.02) as server, httpx.stream(
            "POST", server.base_url + "/v1/apps/generate", headers=bearer(server.api_key),
            json={"prompt": "a bakery"}) as answer:
        raw = answer.read()
    assert b"\n: keep-alive\n\n" in raw
    assert events(raw)[-1][1] == "ready"  # comments change nothing else


def test_a_finished_run_followed_from_its_last_event_ends_at_once(live_server: Any) -> None:
    _, whole = generate(live_server, live_server.api_key)
    assert resume(live_server, live_server.api_key, whole[0][2]["runId"], whole[-1][0]) == []


def test_a_generator_that_fails_ends_the_stream_with_an_error_event() -> None:
    class Broken:
        async def files(self, prompt: str) -> Any:
            from pf_server.generator import GeneratedFile

            yield GeneratedFile("index.html", "<p>half</p>")
            raise RuntimeError("model unavailable")

    with LiveServer(generator=Broken()) as server:
        _, evs = generate(server, server.api_key)
        assert [e[1] for e in evs] == ["run", "file", "error"]
        assert evs[-1][2]["code"] == "generation_failed"
        assert "model unavailable" not in json.dumps(evs[-1][2])
        app = call(server, "GET", f"/v1/apps/{evs[0][2]['appId']}", server.api_key).json()
        assert app["status"] == "failed"
