"""A sans-IO decoder for ``text/event-stream`` (Server-Sent Events).

Fed bytes as they arrive, it returns the events each chunk completes; it never
touches a socket, so it runs the same in CPython and in Pyodide, and its tests
feed bytes and compare events (h11's way).

It follows WHATWG HTML, "9.2.6 Interpreting an event stream"
(https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation).
It works on whole buffers rather than characters: each chunk is decoded once,
cut at its last line end, and split with ``str.split``; only the field loop
runs per line. That is what makes it fast enough for Pyodide.

Deviation from the spec's dispatch step: the spec's ``EventSource`` sets
``lastEventId`` on every event; we expose it as ``ServerSentEvent.id`` too.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

__all__ = ["SSEDecoder", "ServerSentEvent"]


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One dispatched event.

    ``id`` is the decoder's last event ID at dispatch (the spec's
    ``lastEventId``), so it is set even on events without an ``id`` field.
    """

    event: str = "message"
    data: str = ""
    id: str = ""
    retry: int | None = None


class SSEDecoder:
    """Incremental event-stream decoder: ``feed(bytes) -> list[ServerSentEvent]``.

    ``last_event_id`` is the spec's "last event ID buffer" (pass the one a
    resumed stream starts from); ``retry`` is the last valid reconnection time
    in milliseconds, or ``None``. An event not terminated by a blank line when
    the stream ends is dropped, as the spec says: callers just stop feeding.
    """

    __slots__ = ("_data", "_decode", "_event", "_pending", "_skip_lf", "_started",
                 "last_event_id", "retry")

    def __init__(self, last_event_id: str = "") -> None:
        self.last_event_id = last_event_id
        self.retry: int | None = None
        # "Streams must be decoded using the UTF-8 decode algorithm": invalid
        # bytes become U+FFFD; a sequence split across chunks waits for its end.
        self._decode = codecs.getincrementaldecoder("utf-8")("replace").decode
        self._pending = ""       # the start of a line whose end has not arrived
        self._skip_lf = False    # the last chunk ended in CR: a leading LF is its pair
        self._started = False    # a BOM is stripped only at the very start
        self._event = ""
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        text = self._decode(chunk)
        if not text:
            return []
        if not self._started:
            self._started = True
            # "One leading U+FEFF BYTE ORDER MARK character must be ignored if any are present."
            if text[0] == "\ufeff":
                text = text[1:]
        if self._skip_lf:
            self._skip_lf = False
            if text[:1] == "\n":
                text = text[1:]
        # Lines end in CRLF, LF or CR. Cut the buffer after its last line end;
        # what follows it waits for the next chunk.
        end = max(text.rfind("\n"), text.rfind("\r"))
        if end < 0:
            self._pending += text
            return []
        head = self._pending + text[: end + 1]
        self._pending = text[end + 1 :]
        if "\r" in head:
            # A CR at the very end may be the first half of a CRLF split across chunks.
            self._skip_lf = not self._pending and head[-1] == "\r"
            head = head.replace("\r\n", "\n").replace("\r", "\n")
        lines = head.split("\n")
        lines.pop()  # the empty string after the final line end
        return self._lines(lines)

    def _lines(self, lines: list[str]) -> list[ServerSentEvent]:
        events: list[ServerSentEvent] = []
        data = self._data
        for line in lines:
            if not line:
                # "If the line is empty (a blank line): Dispatch the event."
                if data:
                    events.append(ServerSentEvent(self._event or "message", "\n".join(data),
                                                  self.last_event_id, self.retry))
                    data = self._data = []
                # An event with an empty data buffer is not dispatched, but
                # its type buffer is reset all the same.
                self._event = ""
                continue
            # Fast path for the common field; same result as the general path.
            if line.startswith("data: "):
                data.append(line[6:])
                continue
            name, colon, value = line.partition(":")
            if not name and colon:
                continue  # "If the line starts with a U+003A COLON character": a comment.
            if value[:1] == " ":
                value = value[1:]  # "If value starts with a U+0020 SPACE character, remove it."
            if name == "data":
                data.append(value)
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
        return events
