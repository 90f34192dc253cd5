"""The value classes (pf_browser/_frozen.py) behave as the frozen dataclasses
they replaced, which cost about half of ``import pf_browser`` in Pyodide.

The oracle: each class's former ``@dataclass`` definition, written out here,
fed the same values. Repr, equality, hashing, ``fields``, ``astuple``,
``asdict``, ``replace``, ``__match_args__``, copying and pickling must agree.
"""

from __future__ import annotations

import copy
import dataclasses
import pickle
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import FrozenInstanceError, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pf_browser import (
    App,
    AppFile,
    AppPage,
    AsyncAppPage,
    Deployment,
    EndUserUsage,
    FileEvent,
    ReadyEvent,
    RunEvent,
    Session,
    UnknownEvent,
    Usage,
)
from pf_browser._flow import Refresh, Send, Sleep
from pf_browser._replies import Reply
from pf_browser._retry import RetryPolicy
from pf_browser.sse import ServerSentEvent
from pf_browser.transports import Request

WHEN = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def _fetch(cursor: str) -> Any:
    raise AssertionError("not called")


# -- the former definitions ---------------------------------------------------

@dataclass(frozen=True)
class OldRunEvent:
    run_id: str
    app_id: str
    type: str = field(default="run", init=False)


@dataclass(frozen=True)
class OldFileEvent:
    path: str
    size: int
    content: str = field(repr=False)
    type: str = field(default="file", init=False)


@dataclass(frozen=True)
class OldReadyEvent:
    app_id: str
    preview_url: str
    type: str = field(default="ready", init=False)


@dataclass(frozen=True)
class OldUnknownEvent:
    type: str
    data: str


@dataclass(frozen=True)
class OldServerSentEvent:
    event: str = "message"
    data: str = ""
    id: str = ""
    retry: int | None = None


@dataclass(frozen=True)
class OldSession:
    id: str
    token: str = field(repr=False)
    end_user_id: str
    scopes: tuple[str, ...]
    expires_at: datetime
    expires_in: int


@dataclass(frozen=True)
class OldAppFile:
    path: str
    size: int


@dataclass(frozen=True)
class OldApp:
    id: str
    end_user_id: str | None
    prompt: str
    status: str
    created_at: datetime
    preview_url: str | None
    deployed_url: str | None
    files: tuple[AppFile, ...]


@dataclass(frozen=True)
class OldAppPage:
    data: tuple[App, ...]
    next_cursor: str | None
    _fetch: Any = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class OldDeployment:
    app_id: str
    url: str
    deployed_at: datetime


@dataclass(frozen=True)
class OldEndUserUsage:
    end_user_id: str
    runs: int
    calls: int


@dataclass(frozen=True)
class OldUsage:
    date: str
    quota: int
    used: int
    by_end_user: tuple[EndUserUsage, ...]


@dataclass(frozen=True)
class OldRequest:
    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    content: bytes | None = None
    timeout: float | None = None
    stream: bool = False


@dataclass(frozen=True)
class OldReply:
    status_code: int
    headers: Mapping[str, str]
    content: bytes


@dataclass(frozen=True)
class OldRetryPolicy:
    max_retries: int = 2
    base: float = 0.5
    cap: float = 8.0
    max_retry_after: float = 60.0
    rand: Callable[[], float] = float


@dataclass(frozen=True)
class OldSend:
    request: Any
    stream: bool = False


@dataclass(frozen=True)
class OldRefresh:
    generation: int
    force: bool = False


@dataclass(frozen=True)
class OldSleep:
    seconds: float


FILE = AppFile("index.html", 12)
APP = App("app_1", "ada", "a bakery", "ready", WHEN, "http://p/", None, (FILE,))
REQUEST = Request("GET", "http://api/v1/apps", {"authorization": "Bearer pf_sess_x"})
# (class, its former dataclass, positional arguments, another value for field 0);
# Request and Reply print no headers (their own __repr__), so only the rest is compared.
CASES: list[tuple[type[Any], type[Any], tuple[Any, ...], Any]] = [
    (RunEvent, OldRunEvent, ("run_1", "app_1"), "run_2"),
    (FileEvent, OldFileEvent, ("a.html", 4, "<p>secret content</p>"), "b.html"),
    (ReadyEvent, OldReadyEvent, ("app_1", "http://p/"), "app_2"),
    (UnknownEvent, OldUnknownEvent, ("later", '{"x": 1}'), "other"),
    (ServerSentEvent, OldServerSentEvent, ("file", "{}", "7", 3000), "run"),
    (Session, OldSession, ("ses_1", "pf_sess_secret", "ada", ("build",), WHEN, 1800), "ses_2"),
    (AppFile, OldAppFile, ("a.html", 4), "b.html"),
    (App, OldApp, APP.__getstate__(), "app_2"),
    (AppPage, OldAppPage, ((APP,), "c_2", _fetch), ()),
    (AsyncAppPage, OldAppPage, ((APP,), None, _fetch), ()),
    (Deployment, OldDeployment, ("app_1", "http://site/", WHEN), "app_2"),
    (EndUserUsage, OldEndUserUsage, ("ada", 3, 9), "rey"),
    (Usage, OldUsage, ("2026-11-29", 100, 3, (EndUserUsage("ada", 3, 9),)), "2026-11-30"),
    (Request, OldRequest, ("POST", "http://api/v1/apps/generate", {}, b"{}", 5.0, True), "GET"),
    (Reply, OldReply, (200, {}, b"{}"), 404),
    (RetryPolicy, OldRetryPolicy, (3, 0.1, 2.0, 30.0, float), 4),
    (Send, OldSend, (REQUEST, True), None),
    (Refresh, OldRefresh, (3, True), 4),
    (Sleep, OldSleep, (0.25,), 0.5),
]
IDS = [case[0].__name__ for case in CASES]
OWN_REPR = (Request, Reply)


def _hash_or_error(value: object) -> int | str:
    try:
        return hash(value)
    except TypeError:
        return "unhashable"  # a dict field (Request's headers), then and now


@pytest.mark.parametrize(("cls", "old", "args", "other"), CASES, ids=IDS)
def test_each_class_behaves_as_its_former_dataclass(cls: type[Any], old: type[Any],
                                                     args: tuple[Any, ...], other: Any) -> None:
    ours, theirs = cls(*args), old(*args)
    if cls not in OWN_REPR:
        assert repr(ours) == repr(theirs).replace(old.__name__, cls.__name__, 1)
    assert [dataclasses.is_dataclass(value) for value in (ours, cls)] == [True, True]
    assert [(f.name, f.init, f.repr, f.compare) for f in dataclasses.fields(ours)] == [
        (f.name, f.init, f.repr, f.compare) for f in dataclasses.fields(theirs)]
    assert cls.__match_args__ == old.__match_args__
    assert dataclasses.astuple(ours) == dataclasses.astuple(theirs)
    assert dataclasses.asdict(ours) == dataclasses.asdict(theirs)

    twin = cls(*args)
    assert ours == twin and not ours != twin
    assert _hash_or_error(ours) == _hash_or_error(twin)
    assert (_hash_or_error(theirs) == "unhashable") == (_hash_or_error(ours) == "unhashable")
    assert ours != theirs  # another class, as two dataclasses
    changed = cls(other, *args[1:])
    assert (ours == changed) == (theirs == old(other, *args[1:]))
    assert ours != changed

    first = cls.__match_args__[0]
    replaced = dataclasses.replace(ours, **{first: other})
    assert type(replaced) is cls and getattr(replaced, first) == other
    assert dataclasses.astuple(replaced)[1:] == dataclasses.astuple(ours)[1:]

    for name in cls.__slots__:
        with pytest.raises(FrozenInstanceError):
            setattr(ours, name, other)
        with pytest.raises(FrozenInstanceError):
            delattr(ours, name)
    assert copy.copy(ours) == ours
    assert dataclasses.astuple(copy.deepcopy(ours)) == dataclasses.astuple(ours)
    if args[-1] is not _fetch:  # a local function does not pickle
        assert dataclasses.astuple(pickle.loads(pickle.dumps(ours))) == dataclasses.astuple(ours)


def test_the_hidden_fields_stay_out_of_the_repr() -> None:
    session = Session("ses_1", "pf_sess_secret", "ada", ("build",), WHEN, 1800)
    assert "pf_sess_secret" not in repr(session) and "token" not in repr(session)
    assert "secret content" not in repr(FileEvent("a.html", 4, "secret content"))
    assert "pf_sess_x" not in repr(REQUEST) and repr(REQUEST) == "<Request GET http://api/v1/apps>"
    page = AppPage((APP,), None, _fetch)
    assert page == AppPage((APP,), None) and "_fetch" not in repr(page)


def test_a_match_statement_takes_the_fields_in_order() -> None:
    match FileEvent("a.html", 4, "x"):
        case FileEvent(path, size):
            assert (path, size) == ("a.html", 4)
        case _:
            raise AssertionError("no match")


def test_importing_pf_browser_makes_no_dataclass() -> None:
    # @dataclass compiles each class's methods from source at import: about
    # 1.3 ms a class in Pyodide. The browser path must define none.
    code = ("import sys, dataclasses\nsys.path.insert(0, sys.argv[1])\n"
            "made = []\nreal = dataclasses.dataclass\n"
            "def spy(cls=None, /, **options):\n"
            "    made.append(getattr(cls, '__qualname__', '(with options)'))\n"
            "    return real(cls, **options)\n"
            "dataclasses.dataclass = spy\n"
            "import pf_browser, pf_browser.sse, pf_browser.transports\n"
            "print(made)")
    done = subprocess.run([sys.executable, "-S", "-I", "-c", code,
                           str(Path(__file__).resolve().parents[1])],
                          capture_output=True, text=True, check=False)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr
