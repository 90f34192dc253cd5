"""A sans-IO decoder for ``text/event-stream`` (Server-Sent Events).

Fed bytes as they arrive, it returns the events each chunk completes; it never
touches a socket, so it runs the same in CPython and in Pyodide, and its tests
feed bytes and compare events (h11's way).

It follows WHATWG HTML, "9.2.6 Interpreting an event stream"
(https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation).

This is the stream's hot path, so it works on whole buffers, not characters
(``benchmarks/bench_sse.py`` measures it; our rule: "no clever code on the hot
path without its benchmark"):

- each chunk is decoded once; if it holds a CR, CRLF and CR become LF in two
  ``str.replace`` calls, so the rest only knows LF;
- lines are found with ``str.find`` from a position (memchr speed), never split
  into a list, and a line is copied only into the value it holds;
- the shape the API sends, ``id: N\\nevent: T\\ndata: D\\n\\n``, is matched a
  whole event at a time (:meth:`SSEDecoder._canonical`), or, when the events
  are small, a whole chunk of them in one ``findall``
  (:meth:`SSEDecoder._canonical_run`); every other line goes through
  :meth:`SSEDecoder._field`, the spec's rules one by one. The paths give the
  same events: ``tests/test_sse.py`` checks them against a decoder with the
  fast paths turned off, with hypothesis;
- :meth:`SSEDecoder.feed_fields` hands out plain tuples, much cheaper to make
  than frozen objects; the stream client uses it, and :meth:`SSEDecoder.feed`
  wraps them as :class:`ServerSentEvent`.

Deviation from the spec's dispatch step: the spec's ``EventSource`` sets
``lastEventId`` on every event; we expose it as ``ServerSentEvent.id`` too.
"""

from __future__ import annotations

import codecs
import re
from itertools import repeat

from ._frozen import Frozen, set_field

__all__ = ["SSEDecoder", "ServerSentEvent"]


class ServerSentEvent(Frozen):
    """One dispatched event (a frozen value, a dataclass to :mod:`dataclasses`).

    ``id`` is the decoder's last event ID at dispatch (the spec's
    ``lastEventId``), so it is set even on events without an ``id`` field.
    """

    __slots__ = __match_args__ = ("event", "data", "id", "retry")
    event: str
    data: str
    id: str
    retry: int | None

    def __init__(self, event: str = "message", data: str = "", id: str = "",
                 retry: int | None = None) -> None:
        set_field(self, "event", event)
        set_field(self, "data", data)
        set_field(self, "id", id)
        set_field(self, "retry", retry)


#: One dispatched event as ``(event, data, id, retry)``, the fields of
#: :class:`ServerSentEvent` in order.
Fields = tuple[str, str, str, int | None]

_new = object.__new__
_set_event, _set_data, _set_id, _set_retry = (
    getattr(ServerSentEvent, name).__set__ for name in ServerSentEvent.__slots__)


def _sse(event: str, data: str, id: str, retry: int | None) -> ServerSentEvent:
    # ``ServerSentEvent(event, data, id, retry)`` in about half the time
    # (CPython 3.11): a frozen class's __init__ sets each field through
    # object.__setattr__, this sets the slots directly (see _events.py).
    # tests/test_sse.py checks the two agree.
    sse = _new(ServerSentEvent)
    _set_event(sse, event)
    _set_data(sse, data)
    _set_id(sse, id)
    _set_retry(sse, retry)
    return sse


# The head of the shape the API sends (docs/api.md): an id, a type, then one line of
# data. An id containing NUL (which the spec ignores) and an empty type (which
# means "message") don't match, so they take the general path.
_CANONICAL_HEAD = re.compile(r"id: ([^\n\0]*)\nevent: ([^\n]+)\ndata: ")
# A whole canonical event, from a line start, for SSEDecoder._canonical_run.
_CANONICAL_EVENT = re.compile(r"^id: ([^\n\0]*)\nevent: ([^\n]+)\ndata: ([^\n]*)\n\n", re.MULTILINE)
# Below this many characters an event is cheaper to find with _canonical_run
# than with _canonical (the regex steps through data at ~1 ns a character,
# str.find at a tenth of that; a Python step costs ~0.1 us).
_SMALL_EVENT = 256


class SSEDecoder:
    """Incremental event-stream decoder: ``feed(bytes) -> list[ServerSentEvent]``.

    ``last_event_id`` is the spec's "last event ID buffer" (pass the one a
    resumed stream starts from); ``retry`` is the last valid reconnection time
    in milliseconds, or ``None``. An event not terminated by a blank line when
    the stream ends is dropped, as the spec says: callers just stop feeding.
    """

    __slots__ = ("_data", "_decode", "_event", "_in_canonical", "_pending", "_skip_lf",
                 "_small", "_started", "last_event_id", "retry")

    def __init__(self, last_event_id: str = "") -> None:
        self.last_event_id = last_event_id
        self.retry: int | None = None
        # "Streams must be decoded using the UTF-8 decode algorithm": invalid
        # bytes become U+FFFD; a sequence split across chunks waits for its end.
        self._decode = codecs.getincrementaldecoder("utf-8")("replace").decode
        # Pieces of a line whose end has not arrived; a list, so that a long
        # line fed in many small chunks is joined once, not copied each time.
        self._pending: list[str] = []
        self._skip_lf = False    # the last chunk ended in CR: a leading LF is its pair
        self._started = False    # a BOM is stripped only at the very start
        # The spec's event type and data buffers; data as a list of lines.
        self._event = ""
        self._data: list[str] = []
        # The last canonical events were small: try _canonical_run on the next chunk.
        self._small = False
        # _pending holds the start of a canonical event's one data line.
        self._in_canonical = False

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """The events ``chunk`` completes, in order."""
        return [_sse(event, data, id, retry)
                for event, data, id, retry in self.feed_fields(chunk)]

    def feed_fields(self, chunk: bytes) -> list[Fields]:
        """Like :meth:`feed`, with each event as an ``(event, data, id, retry)`` tuple."""
        text = self._text(chunk)
        out: list[Fields] = []
        pos = 0
        if self._pending:
            end = text.find("\n")
            if end < 0:
                if text:
                    self._pending.append(text)
                return out
            self._pending.append(text[:end])
            line = "".join(self._pending)
            self._pending = []
            pos = end + 1
            if self._in_canonical and text.startswith("\n", pos):
                # The data line of the canonical event the last chunk ended in,
                # and the blank line after it: what _field and _dispatch would
                # do, in one step (1.4 KB events often cross a chunk's end).
                out.append((self._event, line[6:], self.last_event_id, self.retry))
                self._event = ""
                pos += 1
            else:
                self._field(line)  # not blank: a pending piece is never empty
            self._in_canonical = False
        if self._data or self._event:
            pos = self._general(text, pos, out)  # finish the event a past chunk began
        # Here the event buffers are empty: the canonical shape may start.
        if self._small and pos >= 0:
            pos = self._canonical_run(text, pos, out)
        while pos >= 0:
            pos = self._general(text, self._canonical(text, pos, out), out)
        return out

    def _text(self, chunk: bytes) -> str:
        """``chunk`` decoded, with every line end made LF."""
        text = self._decode(chunk)
        if not text:
            return text
        if not self._started:
            self._started = True
            # "One leading U+FEFF BYTE ORDER MARK character must be ignored if any are present."
            if text[0] == "\ufeff":
                text = text[1:]
        if self._skip_lf and text:
            self._skip_lf = False
            if text[0] == "\n":
                text = text[1:]
        if "\r" in text:
            # Lines end in CRLF, LF or CR. A CR at the very end may be the
            # first half of a CRLF split across chunks: it ends the line now,
            # and the LF that may open the next chunk is dropped.
            self._skip_lf = text[-1] == "\r"
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        return text

    def _canonical(self, text: str, pos: int, out: list[Fields]) -> int:
        """Dispatch events of exactly the shape ``id: N\\nevent: T\\ndata: D\\n\\n``
        from ``pos`` while they last; return where the first other one starts.

        Called only when the event buffers are empty. Then these four lines do
        what :meth:`_field` and :meth:`_dispatch` would do with them: N (after
        its one stripped space) becomes the last event ID, T the type, the one
        data line the data, and the blank line dispatches and leaves the
        buffers empty. A ``:`` inside a value changes nothing: a field name
        ends at the first colon.
        """
        match = _CANONICAL_HEAD.match
        find = text.find
        last_id = self.last_event_id
        retry = self.retry
        begin, count = pos, len(out)
        tail = None
        while (m := match(text, pos)) is not None:
            data = m.end()
            # Data is the bulk of an event: str.find scans it at memchr speed,
            # where the regex would step through it a character at a time.
            end = find("\n", data)
            if end < 0:
                tail = m  # the chunk ends inside the data line
                break
            if text[end + 1 : end + 2] != "\n":
                break  # a second data line or another field, or the rest is yet to come
            last_id, event = m.groups()
            out.append((event, text[data:end], last_id, retry))
            pos = end + 2
        count = len(out) - count
        if count:
            self._small = pos - begin < _SMALL_EVENT * count
        self.last_event_id = last_id
        if tail is not None:
            # As it mostly does with big events. The id and type lines are
            # whole: take them as _field would, and let the data line wait.
            self.last_event_id, self._event = tail.groups()
            self._pending.append(text[tail.end() - 6 :])
            self._in_canonical = True
            return len(text)
        return pos

    def _canonical_run(self, text: str, pos: int, out: list[Fields]) -> int:
        """:meth:`_canonical` for every event from ``pos`` to the last blank
        line of ``text`` at once, if all of them have the canonical shape;
        return where the run ends (``pos`` if they don't).

        Small events spend most of their time in Python steps, not in scanning
        characters; one ``findall`` takes those steps in C for every event in
        the chunk. Big ones are faster through :meth:`_canonical`, which scans
        data with ``str.find``: ``_small`` says which the stream sends.
        """
        end = text.rfind("\n\n") + 2
        if end <= pos:
            return pos
        found = _CANONICAL_EVENT.findall(text, pos, end)
        # Each match is four whole lines holding four LFs, and starts at a line
        # start (^). So if the matches hold every LF from pos to end, they
        # cover all of it: the run is canonical events and nothing else.
        if not found or text.count("\n", pos, end) != 4 * len(found):
            self._small = False  # not the shape for a run: don't try again soon
            return pos
        ids, events, datas = zip(*found, strict=True)
        out.extend(zip(events, datas, ids, repeat(self.retry)))
        self.last_event_id = ids[-1]
        self._small = end - pos < _SMALL_EVENT * len(found)
        return end

    def _general(self, text: str, pos: int, out: list[Fields]) -> int:
        """Take lines from ``pos`` one at a time, by the spec's rules, until a
        blank line is followed by what may be a canonical event; return where
        that starts, or -1 if ``text`` ends first (its unfinished last line
        then waits in ``_pending``)."""
        find = text.find
        startswith = text.startswith
        data = self._data  # the same list as long as no event is dispatched
        while True:
            end = find("\n", pos)
            if end < 0:
                if pos < len(text):
                    self._pending.append(text[pos:])
                return -1
            if end == pos:
                self._dispatch(out)
                pos += 1
                if startswith("id: ", pos):
                    return pos  # the buffers are empty: _canonical may take it
                data = self._data
                continue
            if startswith("data: ", pos):
                data.append(text[pos + 6 : end])  # what _field does, without a copy of the line
            else:
                self._field(text[pos:end])
            pos = end + 1

    def _dispatch(self, out: list[Fields]) -> None:
        # "If the line is empty (a blank line): Dispatch the event." An event
        # with an empty data buffer is not dispatched, but its type buffer is
        # reset all the same.
        if self._data:
            out.append((self._event or "message", "\n".join(self._data),
                        self.last_event_id, self.retry))
            self._data = []
        self._event = ""

    def _field(self, line: str) -> None:
        """One non-blank line, by the spec's "process the field" rules."""
        if line.startswith("data: "):
            # What the rules below make of it, without copying a long line twice.
            self._data.append(line[6:])
            return
        name, colon, value = line.partition(":")
        if not name and colon:
            return  # "If the line starts with a U+003A COLON character": a comment.
        if value[:1] == " ":
            value = value[1:]  # "If value starts with a U+0020 SPACE character, remove it."
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            # "If the field value does not contain U+0000 NULL, then set the
            # last event ID buffer to the field value." An empty id resets it.
            if "\0" not in value:
                self.last_event_id = value
        elif name == "retry":
            # "If the field value consists of only ASCII digits" — int()
            # alone would also take "+1", " 1", "1_0" and other digits.
            if value.isascii() and value.isdigit():
                self.retry = int(value)
        # Any other field name is ignored.
