"""A reference event-stream decoder, written from the specs, for tests only.

It shares no code with ``pf_browser/sse.py`` and is as plain as the spec's
prose: the WHATWG Encoding standard's UTF-8 decoder, byte by byte (section
"UTF-8 decoder", with its replacement of invalid sequences), then WHATWG HTML
9.2.6 "Interpreting an event stream", character by character, over the whole
stream at once. It is slow and obvious on purpose; ``tests/test_sse_oracle.py``
compares the real decoder with it on generated streams cut into chunks.
"""

from __future__ import annotations

from dataclasses import dataclass

REPLACEMENT = "\ufffd"


def utf8_decode(data: bytes) -> str:
    """WHATWG Encoding, "UTF-8 decode": strip one leading BOM, then decode,
    each invalid sequence giving one U+FFFD (the spec's decoder steps)."""
    if data[:3] == b"\xef\xbb\xbf":
        data = data[3:]
    out: list[str] = []
    code_point = 0
    bytes_seen = 0
    bytes_needed = 0
    lower = 0x80
    upper = 0xBF
    i = 0
    while i <= len(data):
        if i == len(data):  # end of queue
            if bytes_needed != 0:
                out.append(REPLACEMENT)
            break
        byte = data[i]
        if bytes_needed == 0:
            if byte <= 0x7F:
                out.append(chr(byte))
            elif 0xC2 <= byte <= 0xDF:
                bytes_needed = 1
                code_point = byte & 0x1F
            elif 0xE0 <= byte <= 0xEF:
                if byte == 0xE0:
                    lower = 0xA0
                if byte == 0xED:
                    upper = 0x9F
                bytes_needed = 2
                code_point = byte & 0xF
            elif 0xF0 <= byte <= 0xF4:
                if byte == 0xF0:
                    lower = 0x90
                if byte == 0xF4:
                    upper = 0x8F
                bytes_needed = 3
                code_point = byte & 0x7
            else:
                out.append(REPLACEMENT)
            i += 1
            continue
        if not lower <= byte <= upper:
            # "Set code point, bytes needed and bytes seen to 0, lower to 0x80,
            # upper to 0xBF. Restore byte to ioQueue. Return error."
            code_point = bytes_needed = bytes_seen = 0
            lower, upper = 0x80, 0xBF
            out.append(REPLACEMENT)
            continue  # the same byte again
        lower, upper = 0x80, 0xBF
        code_point = (code_point << 6) | (byte & 0x3F)
        bytes_seen += 1
        i += 1
        if bytes_seen != bytes_needed:
            continue
        out.append(chr(code_point))
        code_point = bytes_needed = bytes_seen = 0
    return "".join(out)


@dataclass(frozen=True)
class Event:
    type: str
    data: str
    last_event_id: str
    retry: int | None


@dataclass
class Result:
    events: list[Event]
    last_event_id: str
    retry: int | None


def interpret(stream: bytes, last_event_id: str = "") -> Result:
    """WHATWG HTML 9.2.6 over a whole stream; the unfinished tail is discarded."""
    text = utf8_decode(stream)
    # "Lines must be separated by either a U+000D CARRIAGE RETURN U+000A LINE
    # FEED (CRLF) character pair, a single U+000A LINE FEED (LF) character, or
    # a single U+000D CARRIAGE RETURN (CR) character." A line is only a line
    # once its end arrived: whatever follows the last line end is pending data,
    # "discarded" when the stream ends.
    lines: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\r":
            lines.append("".join(current))
            current = []
            if i + 1 < len(text) and text[i + 1] == "\n":
                i += 1
        elif char == "\n":
            lines.append("".join(current))
            current = []
        else:
            current.append(char)
        i += 1

    events: list[Event] = []
    data = ""
    event_type = ""
    retry: int | None = None
    for line in lines:
        if line == "":
            # Dispatch the event.
            if data == "":
                event_type = ""
                continue
            if data.endswith("\n"):
                data = data[:-1]
            events.append(Event(event_type or "message", data, last_event_id, retry))
            data = ""
            event_type = ""
            continue
        if line.startswith(":"):
            continue  # a comment
        if ":" in line:
            name = line[: line.index(":")]
            value = line[line.index(":") + 1 :]
            if value.startswith(" "):
                value = value[1:]
        else:
            name, value = line, ""
        if name == "event":
            event_type = value
        elif name == "data":
            data += value + "\n"
        elif name == "id":
            if "\0" not in value:
                last_event_id = value
        elif name == "retry":
            if value != "" and all(c in "0123456789" for c in value):
                retry = int(value)
    return Result(events, last_event_id, retry)
