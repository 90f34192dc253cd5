"""Decoded events to typed events: known types typed, unknown passed through, errors raised."""

from __future__ import annotations

import pytest

from pf_browser import FileEvent, ReadyEvent, RunEvent, StreamError, UnknownEvent
from pf_browser._events import to_event
from pf_browser.sse import ServerSentEvent


def sse(event: str, data: str) -> ServerSentEvent:
    return ServerSentEvent(event=event, data=data, id="3")


def test_run_file_and_ready_become_typed_events() -> None:
    run = to_event(sse("run", '{"runId": "run_1", "appId": "app_1"}'))
    assert run == RunEvent("run_1", "app_1")
    ev = to_event(sse("file", '{"path": "index.html", "size": 3, "content": "<p>"}'))
    assert ev == FileEvent("index.html", 3, "<p>") and ev.type == "file"
    assert to_event(sse("ready", '{"appId": "app_1", "previewUrl": "http://x/p/"}')) == ReadyEvent(
        "app_1", "http://x/p/")


def test_typed_events_work_with_match() -> None:
    match to_event(sse("file", '{"path": "a.css", "size": 0, "content": ""}')):
        case FileEvent(path=path):
            assert path == "a.css"
        case _:
            pytest.fail("not a FileEvent")


def test_unknown_event_types_pass_through_untouched() -> None:
    assert to_event(sse("thinking", "not even json")) == UnknownEvent("thinking", "not even json")
    assert to_event(sse("message", "x")).type == "message"


def test_error_event_raises_stream_error_with_code() -> None:
    with pytest.raises(StreamError) as info:
        to_event(sse("error", '{"code": "generation_failed", "message": "model down"}'))
    assert info.value.code == "generation_failed"
    assert "model down" in str(info.value)


def test_malformed_known_event_raises_a_clear_stream_error() -> None:
    with pytest.raises(StreamError, match="not JSON"):
        to_event(sse("file", "{oops"))
    with pytest.raises(StreamError, match="without the fields"):
        to_event(sse("ready", '{"appId": "a"}'))
