"""The events of a generation stream: frozen dataclasses that are just data.

As h11 keeps its event classes in ``_events.py``. Each has a ``type`` string;
``from_wire`` builds one from the event's JSON (``_event_parser.py`` picks
which). ``UnknownEvent`` carries any type this version does not know.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

__all__ = ["Event", "FileEvent", "ReadyEvent", "RunEvent", "UnknownEvent"]


# ``from_wire`` builds each event from its JSON on the stream's hot path, so it
# skips the dataclass __init__, which sets each field of a frozen class through
# ``object.__setattr__``: it makes the object with ``object.__new__`` and sets
# the slots through their descriptors: about half the time in CPython 3.11,
# a tenth less in Pyodide 3.14 (benchmarks/bench_sse.py, "loads+objects"
# against "scan+from_wire"). tests/test_events.py checks that it builds what
# the constructor builds, field for field.

_new = object.__new__


def _slot_setters(cls: type) -> tuple[Callable[[object, Any], None], ...]:
    """The ``__set__`` of each field's slot descriptor, in field order."""
    return tuple(getattr(cls, f.name).__set__ for f in fields(cls))


@dataclass(frozen=True, slots=True)
class RunEvent:
    """The first event of a generation: which run, which app."""

    run_id: str
    app_id: str
    type: str = field(default="run", init=False)

    @classmethod
    def from_wire(cls, d: dict[str, Any]) -> RunEvent:
        ev = _new(cls)
        set_run_id, set_app_id, set_type = _RUN_SETTERS
        set_run_id(ev, d["runId"])
        set_app_id(ev, d["appId"])
        set_type(ev, "run")
        return ev


@dataclass(frozen=True, slots=True)
class FileEvent:
    """One generated file, whole."""

    path: str
    size: int
    content: str = field(repr=False)
    type: str = field(default="file", init=False)

    @classmethod
    def from_wire(cls, d: dict[str, Any]) -> FileEvent:
        ev = _new(cls)
        set_path, set_size, set_content, set_type = _FILE_SETTERS
        set_path(ev, d["path"])
        set_size(ev, d["size"])
        set_content(ev, d["content"])
        set_type(ev, "file")
        return ev


@dataclass(frozen=True, slots=True)
class ReadyEvent:
    """The app is complete and can be previewed at ``preview_url``."""

    app_id: str
    preview_url: str
    type: str = field(default="ready", init=False)

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


@dataclass(frozen=True, slots=True)
class UnknownEvent:
    """An event type this version does not know, passed through untouched.

    ``data`` is the event's raw data string (usually JSON).
    """

    type: str
    data: str


Event = RunEvent | FileEvent | ReadyEvent | UnknownEvent
