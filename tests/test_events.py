"""Decoded events to typed events: known types typed, unknown passed through, errors raised."""

from __future__ import annotations

import json
from dataclasses import FrozenInstanceError, astuple, is_dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pf_browser import FileEvent, ReadyEvent, RunEvent, StreamError, UnknownEvent
from pf_browser._event_parser import _json, from_fields, to_event
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


# -- the fast builders give what the plain ones give -----------------------------


def test_from_wire_builds_what_the_constructor_builds() -> None:
    # from_wire sets the slots directly (see _events.py); a field added to a
    # class without it fails here.
    cases = [
        (RunEvent.from_wire({"runId": "r", "appId": "a"}), RunEvent("r", "a")),
        (FileEvent.from_wire({"path": "p", "size": 2, "content": "hi"}), FileEvent("p", 2, "hi")),
        (ReadyEvent.from_wire({"appId": "a", "previewUrl": "u"}), ReadyEvent("a", "u")),
    ]
    for built, made in cases:
        assert is_dataclass(built) and not isinstance(built, type)
        assert built == made and hash(built) == hash(made) and repr(built) == repr(made)
        assert astuple(built) == astuple(made)
        with pytest.raises(FrozenInstanceError):
            built.type = "x"


_json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
    max_leaves=8,
)


@given(value=_json_value, before=st.sampled_from(["", " ", "\t", "\ufeff", "x"]),
       after=st.sampled_from(["", " ", "\n", "}", "1", " x"]))
def test_json_decoding_matches_json_loads(value: object, before: str, after: str) -> None:
    text = before + json.dumps(value) + after
    try:
        expected = json.loads(text)
    except ValueError:
        with pytest.raises(ValueError):
            _json(text)
    else:
        assert _json(text) == expected


@given(text=st.text(alphabet=st.sampled_from('{}[]",:0123456789.eE+- tfnrulasN\\')))
def test_json_decoding_matches_json_loads_on_any_text(text: str) -> None:
    try:
        expected = json.loads(text)
    except ValueError:
        with pytest.raises(ValueError):
            _json(text)
    else:
        assert repr(_json(text)) == repr(expected)  # NaN is not equal to itself


def test_whitespace_around_json_data_is_accepted_like_json_loads() -> None:
    assert to_event(sse("run", ' {"runId": "r", "appId": "a"} ')) == RunEvent("r", "a")
    with pytest.raises(StreamError, match="not JSON"):
        to_event(sse("run", '{"runId": "r", "appId": "a"} x'))
    with pytest.raises(StreamError, match="not JSON"):
        to_event(sse("file", '\ufeff{"path": "a", "size": 0, "content": ""}'))
    with pytest.raises(StreamError, match="not JSON"):
        to_event(sse("error", "{oops"))


def test_from_fields_is_to_event_without_the_object() -> None:
    data = '{"path": "a.js", "size": 1, "content": "x"}'
    expected = FileEvent("a.js", 1, "x")
    assert from_fields("file", data, "4") == to_event(sse("file", data)) == expected
    assert from_fields("later", "raw", "") == UnknownEvent("later", "raw")
