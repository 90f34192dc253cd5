"""The event-stream decoder against WHATWG HTML 9.2.6, rule by rule, and fed in every way."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pf_browser.sse import ServerSentEvent, SSEDecoder


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
