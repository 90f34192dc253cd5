"""The events of a generation stream: frozen value classes that are just data.

As h11 keeps its event classes in ``_events.py``. Each has a ``type`` string;
``from_wire`` builds one from the event's JSON (``_event_parser.py`` picks
which). ``UnknownEvent`` carries any type this version does not know.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._frozen import Frozen, set_field

__all__ = ["Event", "FileEvent", "ReadyEvent", "RunEvent", "UnknownEvent"]


# ``from_wire`` builds each event from its JSON on the stream's hot path, so it
# skips __init__, which sets each field of a frozen class through
# ``object.__setattr__``: it makes the object with ``object.__new__`` and sets
# the slots through their descriptors: about half the time in CPython 3.11,
# a tenth less in Pyodide 3.14 (benchmarks/bench_sse.py, "loads+objects"
# against "scan+from_wire"). tests/test_events.py checks that it builds what
# the constructor builds, field for field.

_new = object.__new__


def _slot_setters(cls: type[Frozen]) -> tuple[Callable[[object, Any], None], ...]:
    """The ``__set__`` of each field's slot descriptor, in field order."""
    return tuple(getattr(cls, name).__set__ for name in cls.__slots__)


class RunEvent(Frozen):
    """The first event of a generation: which run, which app."""

    __slots__ = ("run_id", "app_id", "type")  # noqa: RUF023 (the fields, in order)
    __match_args__ = ("run_id", "app_id")
    run_id: str
    app_id: str
    type: str

    def __init__(self, run_id: str, app_id: str) -> None:
        set_field(self, "run_id", run_id)
        set_field(self, "app_id", app_id)
        set_field(self, "type", "run")

    @classmethod
    def from_wire(cls, d: dict[str, Any]) -> RunEvent:
        ev = _new(cls)
        set_run_id, set_app_id, set_type = _RUN_SETTERS
        set_run_id(ev, d["runId"])
        set_app_id(ev, d["appId"])
        set_type(ev, "run")
        return ev


class FileEvent(Frozen):
    """One generated file, whole (``content`` is left out of the repr)."""

    __slots__ = ("path", "size", "content", "type")  # noqa: RUF023 (the fields, in order)
    __match_args__ = ("path", "size", "content")
    _hidden = ("content",)
    path: str
    size: int
    content: str
    type: str

    def __init__(self, path: str, size: int, content: str) -> None:
        set_field(self, "path", path)
        set_field(self, "size", size)
        set_field(self, "content", content)
        set_field(self, "type", "file")

    @classmethod
    def from_wire(cls, d: dict[str, Any]) -> FileEvent:
        ev = _new(cls)
        set_path, set_size, set_content, set_type = _FILE_SETTERS
        set_path(ev, d["path"])
        set_size(ev, d["size"])
        set_content(ev, d["content"])
        set_type(ev, "file")
        return ev


class ReadyEvent(Frozen):
    """The app is complete and can be previewed at ``preview_url``."""

    __slots__ = ("app_id", "preview_url", "type")
    __match_args__ = ("app_id", "preview_url")
    app_id: str
    preview_url: str
    type: str

    def __init__(self, app_id: str, preview_url: str) -> None:
        set_field(self, "app_id", app_id)
        set_field(self, "preview_url", preview_url)
        set_field(self, "type", "ready")

    @classmethod
    def from_wire(cls, d: dict[str, Any]) -> ReadyEvent:
        ev = _new(cls)
        set_app_id, set_preview_url, set_type = _READY_SETTERS
        set_app_id(ev, d["appId"])
        set_preview_url(ev, d["previewUrl"])
        set_type(ev, "ready")
        return ev


_RUN_SETTERS = _slot_setters(RunEvent)
_FILE_SETTERS = _slot_setters(FileEvent)
_READY_SETTERS = _slot_setters(ReadyEvent)


class UnknownEvent(Frozen):
    """An event type this version does not know, passed through untouched.

    ``data`` is the event's raw data string (usually JSON).
    """

    __slots__ = __match_args__ = ("type", "data")
    type: str
    data: str

    def __init__(self, type: str, data: str) -> None:
        set_field(self, "type", type)
        set_field(self, "data", data)


Event = RunEvent | FileEvent | ReadyEvent | UnknownEvent
