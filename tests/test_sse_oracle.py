"""pf_browser's event-stream decoder against an oracle that shares no code with it.

``sse_reference.py`` is the WHATWG specs (the UTF-8 decoder and "Interpreting
an event stream") written out plainly, byte by byte and character by
character. hypothesis generates streams — the canonical shape the API sends,
small and large (both fast paths), every field name and near miss, comments,
NUL, BOMs, the three line ends, invalid UTF-8 — and cuts them into chunks
anywhere; every event, the last event id and the retry time must agree.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sse_reference import Event, interpret, utf8_decode

from pf_browser.sse import SSEDecoder

_chars = st.sampled_from([*"ab Z09+-:\0 é✓🎉\ufeff\u2028\u0085\x7f\t", "data: ", "id: "])
_any = st.lists(_chars, max_size=6).map("".join)
_eols = st.sampled_from(["\n", "\r", "\r\n"])
_seps = st.sampled_from([":", ":", ": ", ": ", ":  ", "::"])


def _line(name: str, values: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """``name``, a separator, a value, a line end: each rule gets its own values,
    so the cases it cares about come up often (not one in thousands)."""
    return st.builds(lambda sep, value, eol: f"{name}{sep}{value}{eol}", _seps, values, _eols)


_text_pieces = st.one_of(
    _line("data", st.one_of(_any, st.sampled_from(["", " ", "x", "data: y"]))),
    _line("event", st.one_of(_any, st.sampled_from(["", "run", " file", "\0"]))),
    # NUL anywhere in an id makes the line ignored; an empty id resets it.
    _line("id", st.one_of(_any, st.sampled_from(["", "\0", "a\0b", "7\0", "7", "12"]))),
    # Only ASCII digits set the retry time.
    _line("retry", st.one_of(st.integers(0, 10**12).map(str), st.sampled_from(
        ["", "+1", " 1", "1_0", "\u0661\u0662", "\u00b2", "\uff11", "12a", "1.5", "-1"]))),
    # Near misses of field names, and a field with no colon (an empty value).
    st.builds(lambda name, sep, value, eol: f"{name}{sep}{value}{eol}",
              st.sampled_from(["dat", "DATA", "Id", "retr", "x", "event\0", "data ", " data"]),
              _seps, _any, _eols),
    st.builds(lambda name, eol: f"{name}{eol}",
              st.sampled_from(["data", "event", "id", "retry", "x", "data ", " data"]), _eols),
    st.builds(lambda v, e: f":{v}{e}", _any, _eols),  # a comment
    _eols, _eols,  # blank lines: dispatch
    # The shape the API sends, small and past the decoder's small-event size.
    st.builds(lambda n, t, d, size: f"id: {n}\nevent: {t}\ndata: {d * size}\n\n",
              st.integers(min_value=0, max_value=99), st.sampled_from(["run", "file", "é"]),
              st.sampled_from(['{"a": 1}', "x", "é🎉", ""]),
              st.sampled_from([1, 3, 40, 300])),
)
_bad_bytes = st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf0\x9f", b"\xf0\x9f\x8e",
                              b"\xe2\x82", b"\x80", b"\xf4\x90\x80\x80", b"\xc0\xaf",
                              b"\xef\xbb\xbf"])
_pieces = st.lists(st.one_of(_text_pieces.map(str.encode), _bad_bytes), max_size=40)
_streams = st.builds(lambda bom, pieces: (b"\xef\xbb\xbf" if bom else b"") + b"".join(pieces),
                     st.booleans(), _pieces)


def chunked(raw: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(raw) + 1) for c in cuts})
    return [raw[a:b] for a, b in zip([0, *points], [*points, len(raw)], strict=True)]


def decoded(chunks: list[bytes], last_event_id: str) -> tuple[list[Event], str, int | None]:
    decoder = SSEDecoder(last_event_id)
    events = [Event(event, data, id, retry)
              for chunk in chunks for event, data, id, retry in decoder.feed_fields(chunk)]
    return events, decoder.last_event_id, decoder.retry


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=_streams, cuts=st.lists(st.integers(min_value=0, max_value=5000), max_size=15),
       last_event_id=st.sampled_from(["", "7"]))
@example(raw=b"data\n\n", cuts=[], last_event_id="")
@example(raw=b"id: 1\nevent: run\ndata: x\n\r\n", cuts=[17], last_event_id="")
@example(raw=b"\xef\xbb\xbf\xef\xbb\xbfdata: a\n\n", cuts=[1, 4], last_event_id="")
@example(raw=b"data: \xf0\x9f\x8e\n\n", cuts=[8], last_event_id="")
def test_the_decoder_agrees_with_the_spec_however_the_stream_is_cut(
        raw: bytes, cuts: list[int], last_event_id: str) -> None:
    expected = interpret(raw, last_event_id)
    events, last_id, retry = decoded(chunked(raw, cuts), last_event_id)
    assert events == expected.events
    assert last_id == expected.last_event_id
    assert retry == expected.retry


@settings(max_examples=100, deadline=None)
@given(raw=_streams)
def test_the_decoder_agrees_byte_by_byte(raw: bytes) -> None:
    expected = interpret(raw)
    events, last_id, retry = decoded([raw[i:i + 1] for i in range(len(raw))], "")
    assert (events, last_id, retry) == (expected.events, expected.last_event_id,
                                        expected.retry)


# Every field name (and near miss) with every separator and every value a rule
# cares about, in full: random generation meets such exact combinations too rarely.
NAMES = ["data", "event", "id", "retry", "", "dat", "DATA", "Id", "retr", "event\0",
         "data ", " data", "x"]
SEPARATORS = ["", ":", ": ", ":  ", "::", ": :"]
VALUES = ["", " ", "x", "\0", "a\0b", "7\0", "7", "12", "007", "+1", " 1", "1_0", "-1",
          "1.5", "12a", "\u0661\u0662", "\u00b2", "\uff11", "é🎉", "\ufeff", "\u2028x",
          "data: y", ":", "\x7f", "\t1"]


def test_every_field_line_agrees_with_the_spec() -> None:
    checked = 0
    for name, sep, value, eol in itertools.product(NAMES, SEPARATORS, VALUES,
                                                   ["\n", "\r", "\r\n"]):
        line = f"{name}{sep}{value}{eol}"
        # The line alone, before an event, and inside one; then the state it leaves.
        raw = f"{line}data: d{eol}{eol}data: e{eol}{line}{eol}{line}".encode()
        expected = interpret(raw)
        for chunks in ([raw], chunked(raw, [len(line.encode()) - 1, len(raw) // 2])):
            events, last_id, retry = decoded(chunks, "")
            assert (events, last_id, retry) == (
                expected.events, expected.last_event_id, expected.retry), (line, chunks)
        checked += 1
    assert checked == len(NAMES) * len(SEPARATORS) * len(VALUES) * 3


# The API's own shape, cut at every byte: the fast paths keep state across a
# chunk's end (a data line still open, a CR whose LF may follow).
TEMPLATES = [
    "id: 1\nevent: run\ndata: " + "x" * 300 + "\n\ndata: after\n\n",
    "id: 1\nevent: run\ndata: {}\n\nid: 2\nevent: file\ndata: " + "é" * 150
    + "\n\nid: 3\ndata: no type\n\n: ping\n\nid: 4\nevent: ready\ndata: z\n\n",
    "".join(f"id: {n}\nevent: file\ndata: {{\"n\": {n}}}\n\n" for n in range(6))
    + "data: plain\n\nid: 9\nevent: run\ndata: a\ndata: b\n\n",
    "id: 1\r\nevent: run\r\ndata: " + "y" * 280 + "\r\n\r\nid: 2\revent: x\rdata: c\r\r",
    "id: 1\nevent: run\ndata: \n\nid: 2\nevent:\ndata: q\n\nid: 3\0\nevent: run\ndata: r\n\n",
]


@pytest.mark.parametrize("template", TEMPLATES, ids=range(len(TEMPLATES)))
def test_api_shaped_streams_cut_at_every_byte_agree_with_the_spec(template: str) -> None:
    raw = template.encode()
    expected = interpret(raw)
    assert expected.events  # the template is a real stream
    for cut in range(1, len(raw)):
        for cuts in ([cut], [cut, cut + 1], [cut, cut + 7]):
            events, last_id, retry = decoded(chunked(raw, cuts), "")
            assert (events, last_id, retry) == (
                expected.events, expected.last_event_id, expected.retry), cuts


# -- the oracle itself, on the specs' own examples ----------------------------------

def test_the_oracle_on_the_html_specs_examples() -> None:
    # HTML 9.2.6's examples: two data lines join with LF; a field with no colon
    # has an empty value; "data:test" and "data: test" are the same.
    three = interpret(b"data\n\ndata\ndata\n\ndata:\n")
    assert [e.data for e in three.events] == ["", "\n"]  # the last is never terminated
    same = interpret(b"data:test\n\ndata: test\n\n")
    assert [e.data for e in same.events] == ["test", "test"]
    stock = interpret(b"data: YHOO\ndata: +2\ndata: 10\n\n")
    assert stock.events == [Event("message", "YHOO\n+2\n10", "", None)]
    ids = interpret(b": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\n"
                    b"data:  third event\n\n")
    assert [(e.data, e.last_event_id) for e in ids.events] == [
        ("first event", "1"), ("second event", ""), (" third event", "")]


def test_the_oracles_utf8_decoder_on_the_encoding_specs_cases() -> None:
    assert utf8_decode(b"\xef\xbb\xbfa\xef\xbb\xbf") == "a\ufeff"  # one BOM stripped
    assert utf8_decode(b"\xed\xa0\x80") == "\ufffd" * 3  # a surrogate: 3 errors
    assert utf8_decode(b"\xf0\x9f\x8e") == "\ufffd"  # truncated at the end: one
    assert utf8_decode(b"\xf0\x9f\x8ea") == "\ufffda"  # truncated mid-way: one, then a
    assert utf8_decode(b"\xc0\xaf") == "\ufffd\ufffd"  # overlong: each byte
    assert utf8_decode("é🎉✓".encode()) == "é🎉✓"
