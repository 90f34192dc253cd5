"""The event-stream decoder against WHATWG HTML 9.2.6, rule by rule, and fed in every way."""

from __future__ import annotations

from dataclasses import fields
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from pf_browser.sse import Fields, ServerSentEvent, SSEDecoder


def decode(*chunks: bytes) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    return [ev for chunk in chunks for ev in decoder.feed(chunk)]


def test_a_simple_event_is_dispatched_at_the_blank_line() -> None:
    assert decode(b"id: 1\nevent: file\ndata: {}\n\n") == [
        ServerSentEvent(event="file", data="{}", id="1")
    ]


def test_event_type_defaults_to_message() -> None:
    assert decode(b"data: x\n\n")[0].event == "message"


def test_empty_event_field_means_message() -> None:
    assert decode(b"event:\ndata: x\n\n")[0].event == "message"


def test_lf_cr_and_crlf_line_ends_are_equivalent() -> None:
    lf = decode(b"event: a\ndata: 1\n\nevent: b\ndata: 2\n\n")
    assert decode(b"event: a\rdata: 1\r\revent: b\rdata: 2\r\r") == lf
    assert decode(b"event: a\r\ndata: 1\r\n\r\nevent: b\r\ndata: 2\r\n\r\n") == lf


def test_crlf_split_across_chunks_is_one_line_end() -> None:
    assert decode(b"data: a\r", b"\n\r", b"\ndata: b\r\n\r\n") == [
        ServerSentEvent(data="a"),
        ServerSentEvent(data="b"),
    ]


def test_cr_then_cr_across_chunks_is_two_line_ends() -> None:
    assert decode(b"data: a\r", b"\r") == [ServerSentEvent(data="a")]


def test_bom_is_stripped_at_the_start_only() -> None:
    assert decode(b"\xef\xbb\xbfdata: a\n\n") == [ServerSentEvent(data="a")]
    # Later, U+FEFF is an ordinary character of a field name, so the line is ignored.
    assert decode(b"data: a\n\n\xef\xbb\xbfdata: b\n\n") == [ServerSentEvent(data="a")]


def test_bom_split_across_chunks_is_stripped() -> None:
    assert decode(b"\xef", b"\xbb", b"\xbfdata: a\n\n") == [ServerSentEvent(data="a")]


def test_comments_are_ignored() -> None:
    assert decode(b": keep-alive\n\n:x\ndata: a\n: more\n\n") == [ServerSentEvent(data="a")]


def test_a_field_without_colon_has_an_empty_value() -> None:
    assert decode(b"data\ndata\n\n") == [ServerSentEvent(data="\n")]


def test_only_one_leading_space_is_stripped() -> None:
    assert decode(b"data:  two\n\n")[0].data == " two"
    assert decode(b"data:none\n\n")[0].data == "none"


def test_data_lines_join_with_lf_and_the_trailing_lf_is_removed() -> None:
    assert decode(b"data: a\ndata: b\n\n")[0].data == "a\nb"


def test_event_with_no_data_is_not_dispatched_and_its_type_is_reset() -> None:
    assert decode(b"event: x\n\ndata: a\n\n") == [ServerSentEvent(data="a")]


def test_id_is_kept_across_events() -> None:
    events = decode(b"id: 7\ndata: a\n\ndata: b\n\n")
    assert [ev.id for ev in events] == ["7", "7"]


def test_id_containing_nul_is_ignored() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n")
    assert decoder.last_event_id == "1"


def test_empty_id_resets_the_last_event_id() -> None:
    events = decode(b"id: 1\ndata: a\n\nid\ndata: b\n\n")
    assert [ev.id for ev in events] == ["1", ""]


def test_last_event_id_given_at_construction_carries_on() -> None:
    decoder = SSEDecoder(last_event_id="41")
    assert decoder.feed(b"data: a\n\n")[0].id == "41"


def test_retry_only_when_all_ascii_digits() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"retry: 3000\n\n")
    assert decoder.retry == 3000
    for bad in (b"retry: 3s\n\n", b"retry: -1\n\n", b"retry: +5\n\n", b"retry: \xd9\xa3\n\n",
                b"retry:\n\n", b"retry: 1_0\n\n"):
        decoder.feed(bad)
        assert decoder.retry == 3000, bad


def test_unterminated_last_event_is_dropped() -> None:
    assert decode(b"data: a\n\ndata: b\n") == [ServerSentEvent(data="a")]
    assert decode(b"data: a\n\ndata: b") == [ServerSentEvent(data="a")]


def test_unknown_fields_are_ignored() -> None:
    assert decode(b"foo: bar\ndata: a\n\n") == [ServerSentEvent(data="a")]


def test_utf8_split_across_chunks() -> None:
    raw = "data: héllo ✓ 🎉\n\n".encode()
    for cut in range(len(raw) + 1):
        assert decode(raw[:cut], raw[cut:]) == [ServerSentEvent(data="héllo ✓ 🎉")], cut


def test_invalid_utf8_becomes_replacement_character() -> None:
    assert decode(b"data: a\xffb\n\n")[0].data == "a\ufffdb"


def test_other_unicode_line_separators_are_not_line_ends() -> None:
    # str.splitlines would split on these; the spec does not.
    text = "data: a\x0bb\x0cc\x1cd\x85e\u2028f\u2029g\n\n"
    assert decode(text.encode()) == [ServerSentEvent(data=text[6:-2])]


# -- any way of cutting the same bytes gives the same events --------------------

_field = st.sampled_from(["data", "event", "id", "retry", "foo", "", "dat"])
_value = st.text(alphabet=st.sampled_from("ab é✓🎉:\0 1"), max_size=8)
_eol = st.sampled_from(["\n", "\r", "\r\n"])
_line = st.one_of(
    st.builds(lambda f, v, e: f"{f}:{v}{e}", _field, _value, _eol),
    st.builds(lambda f, e: f"{f}{e}", _field, _eol),
    st.builds(lambda v, e: f":{v}{e}", _value, _eol),
    _eol,
)
_stream = st.lists(_line, max_size=30).map(lambda ls: ("\ufeff" + "".join(ls)).encode())


@given(raw=_stream, cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=12))
def test_any_chunking_gives_the_same_events(raw: bytes, cuts: list[int]) -> None:
    whole = SSEDecoder()
    expected = whole.feed(raw)
    points = sorted({c % (len(raw) + 1) for c in cuts})
    chunks = [raw[a:b] for a, b in zip([0, *points], [*points, len(raw)], strict=True)]
    pieces = SSEDecoder()
    assert [ev for c in chunks for ev in pieces.feed(c)] == expected
    assert pieces.last_event_id == whole.last_event_id
    assert pieces.retry == whole.retry


@given(raw=_stream)
def test_byte_by_byte_equals_whole(raw: bytes) -> None:
    one = SSEDecoder()
    events = [ev for i in range(len(raw)) for ev in one.feed(raw[i : i + 1])]
    assert events == SSEDecoder().feed(raw)


@given(lines=st.lists(st.tuples(_field, _value), max_size=20))
def test_line_end_styles_are_equivalent(lines: list[tuple[str, str]]) -> None:
    def render(eol: str) -> bytes:
        return "".join(f"{f}:{v}{eol}" + (eol if i % 3 == 2 else "")
                       for i, (f, v) in enumerate(lines)).encode()

    assert SSEDecoder().feed(render("\r")) == SSEDecoder().feed(render("\n"))
    assert SSEDecoder().feed(render("\r\n")) == SSEDecoder().feed(render("\n"))


# -- the fast paths give what the spec's rules give ------------------------------
#
# sse.py matches the shape the API sends (id, event, one data line, blank line)
# in one step, and runs of small such events in one findall. A decoder with
# those two paths turned off takes every line through the spec's rules; the
# two must never differ.


class RulesOnly(SSEDecoder):
    """Every line through ``_field``: the fast paths never match."""

    def _canonical(self, text: str, pos: int, out: list[Fields]) -> int:
        return pos

    def _canonical_run(self, text: str, pos: int, out: list[Fields]) -> int:
        return pos


def by_the_rules(raw: bytes) -> tuple[list[ServerSentEvent], str, int | None]:
    decoder = RulesOnly()
    return decoder.feed(raw), decoder.last_event_id, decoder.retry


def fed_in(raw: bytes, *cuts: int) -> tuple[list[ServerSentEvent], str, int | None]:
    decoder = SSEDecoder()
    points = [0, *cuts, len(raw)]
    events = [ev for a, b in pairwise(points) for ev in decoder.feed(raw[a:b])]
    return events, decoder.last_event_id, decoder.retry


def canonical(n: int, kind: str = "run", data: str = '{"a": 1}') -> str:
    return f"id: {n}\nevent: {kind}\ndata: {data}\n\n"


def test_the_canonical_shape_gives_what_the_rules_give() -> None:
    raw = (canonical(1) + canonical(2, "file", "x" * 2000)).encode()
    assert fed_in(raw) == by_the_rules(raw)
    assert fed_in(raw)[0] == [ServerSentEvent("run", '{"a": 1}', "1"),
                              ServerSentEvent("file", "x" * 2000, "2")]


def test_colons_and_spaces_inside_canonical_values_are_kept() -> None:
    raw = b'id: a:b\nevent: c:d\ndata: {"url": "http://x:80/"}\n\nid:  7\nevent:  e\ndata:  f\n\n'
    events, last_id, _ = fed_in(raw)
    assert events == [ServerSentEvent("c:d", '{"url": "http://x:80/"}', "a:b"),
                      ServerSentEvent(" e", " f", " 7")]
    assert last_id == " 7"
    assert fed_in(raw) == by_the_rules(raw)


def test_a_canonical_looking_event_with_more_lines_takes_the_general_path() -> None:
    for extra in ("data: more\n", "retry: 5\n", ": comment\n", "foo: bar\n", "id: 9\n",
                  "event: other\n", "data\n"):
        raw = f"id: 1\nevent: a\ndata: x\n{extra}\n".encode()
        assert fed_in(raw) == by_the_rules(raw), extra
    assert fed_in(b"id: 1\nevent: a\ndata: x\ndata: y\n\n")[0] == [
        ServerSentEvent("a", "x\ny", "1")]


def test_near_misses_of_the_canonical_shape_follow_the_rules() -> None:
    for raw in (
        b"id: 1\nevent: \ndata: x\n\n",        # empty type: "message"
        b"id: 1\x00\nevent: a\ndata: x\n\n",   # NUL in id: ignored
        b"id: \nevent: a\ndata: x\n\n",        # empty id: resets
        b"id:1\nevent:a\ndata:x\n\n",          # no space after the colon
        b"id: 1\nevent: a\ndata: \n\n",        # empty data is still an event
        b"event: a\nid: 1\ndata: x\n\n",       # another order
        b"id: 1\nevent: a\n\ndata: x\n\n",     # blank line before the data
        b"\nid: 1\nevent: a\ndata: x\n\n\n",   # blank lines around
        b"id: 1\nevent: a\ndata: x\n\n\xef\xbb\xbfid: 2\nevent: b\ndata: y\n\n",
    ):
        decoder = SSEDecoder(last_event_id="0")
        rules = RulesOnly(last_event_id="0")
        assert decoder.feed(raw) == rules.feed(raw), raw
        assert decoder.last_event_id == rules.last_event_id, raw


def test_canonical_events_with_cr_or_crlf_line_ends_decode_the_same() -> None:
    lf = "".join(canonical(n) for n in range(1, 4))
    for eol in ("\r", "\r\n"):
        raw = lf.replace("\n", eol).encode()
        assert fed_in(raw) == by_the_rules(lf.encode())
        assert fed_in(raw, 7, len(raw) // 2) == by_the_rules(lf.encode())


def test_a_chunk_ending_anywhere_in_a_canonical_event_changes_nothing() -> None:
    raw = (canonical(1, "file", "y" * 300) + canonical(2) + canonical(3, "file", "é" * 50)).encode()
    expected = by_the_rules(raw)
    for cut in range(len(raw) + 1):
        assert fed_in(raw, cut) == expected, cut


def test_a_chunk_ending_in_the_data_line_of_a_longer_event_changes_nothing() -> None:
    # The data line that finishes a canonical-looking event in the next chunk
    # is dispatched at once only when a blank line follows it.
    for extra in ("data: more\n", "retry: 5\n", ": comment\n", "id: 9\n", ""):
        raw = f"id: 1\nevent: a\ndata: {'x' * 40}\n{extra}\nid: 2\nevent: b\ndata: y\n\n"
        expected = by_the_rules(raw.encode())
        for cut in range(len(raw) + 1):
            assert fed_in(raw.encode(), cut) == expected, (extra, cut)
            assert fed_in(raw.encode(), cut, min(cut + 20, len(raw))) == expected, (extra, cut)


def test_the_id_and_type_of_an_unfinished_event_apply_at_once() -> None:
    # A chunk ending inside the data line: the id line has been processed.
    decoder = SSEDecoder()
    assert decoder.feed(b"id: 5\nevent: file\ndata: {\"path\":") == []
    assert decoder.last_event_id == "5"
    assert decoder.feed(b' "a"}\n\n') == [ServerSentEvent("file", '{"path": "a"}', "5")]


def test_runs_of_small_events_give_what_the_rules_give() -> None:
    # Many small events per chunk go through one findall; a comment, a retry
    # or a multi-line event in the run sends that chunk back to one at a time.
    events = [canonical(n, "run", f'{{"n": {n}}}') for n in range(1, 200)]
    events[120] = ": keep-alive\n\n"
    events[150] = "retry: 2500\nid: 151\nevent: run\ndata: a\ndata: b\n\n"
    raw = "".join(events).encode()
    expected = by_the_rules(raw)
    assert len(expected[0]) == 198 and expected[0][-1].retry == 2500
    for cuts in ((), (3000,), (100, 200, 5000, 9000), tuple(range(0, len(raw), 1000))):
        assert fed_in(raw, *cuts) == expected, cuts


def test_a_run_ending_inside_an_event_gives_what_the_rules_give() -> None:
    raw = "".join(canonical(n) for n in range(1, 60)).encode()
    expected = by_the_rules(raw)
    # The first chunk teaches the decoder that events are small; the second
    # is a run that ends at each place an event can be cut.
    for cut in range(600, 700):
        assert fed_in(raw, 300, cut) == expected, cut


def test_feed_builds_the_same_objects_as_the_constructor() -> None:
    built = fed_in(b"retry: 10\nid: 1\nevent: a\ndata: b\n\n")[0][0]
    made = ServerSentEvent(event="a", data="b", id="1", retry=10)
    assert built == made and repr(built) == repr(made) and hash(built) == hash(made)
    assert [getattr(built, f.name) for f in fields(ServerSentEvent)] == ["a", "b", "1", 10]


_value_part = st.text(alphabet=st.sampled_from("ab é🎉:\0 1{}\""), max_size=6)
_long_value = st.builds(lambda v, n: v * n, _value_part, st.integers(0, 120))
_id = st.one_of(st.integers(0, 999).map(str), _value_part)
_type = st.one_of(st.sampled_from(["run", "file", "ready"]), _value_part)
_canonical_event = st.builds(
    lambda i, t, d: f"id: {i}\nevent: {t}\ndata: {d}\n\n", _id, _type, _long_value)
_near_line = st.one_of(
    st.builds(lambda f, v: f"{f}: {v}\n", st.sampled_from(["id", "event", "data", "retry", "x"]),
              _value_part),
    st.builds(lambda v: f"retry: {v}\n", st.integers(0, 9999)),
    st.sampled_from(["\n", ": ping\n", "data\n", "id\n"]),
)
_mixed_stream = st.lists(
    st.one_of(_canonical_event, _canonical_event, _canonical_event, _near_line), max_size=40)


@settings(max_examples=300)
@given(parts=_mixed_stream, eol=st.sampled_from(["\n", "\n", "\r", "\r\n"]),
       cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=8))
def test_fast_paths_agree_with_the_rules_on_any_stream_in_any_chunks(
        parts: list[str], eol: str, cuts: list[int]) -> None:
    raw = "".join(parts).replace("\n", eol).encode()
    points = sorted({c % (len(raw) + 1) for c in cuts})
    assert fed_in(raw, *points) == by_the_rules(raw)


@settings(max_examples=300)
@given(events=st.lists(_canonical_event, min_size=1, max_size=30),
       odd=st.one_of(st.none(), _near_line), at=st.integers(0, 30),
       cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=4))
def test_runs_of_canonical_events_agree_with_the_rules(
        events: list[str], odd: str | None, at: int, cuts: list[int]) -> None:
    if odd is not None:
        events.insert(at, odd)
    raw = "".join(events).encode()
    points = sorted({c % (len(raw) + 1) for c in cuts})
    assert fed_in(raw, *points) == by_the_rules(raw)
