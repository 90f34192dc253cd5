"""The demo's view (static/py/demo_ui.py), checked in CPython: each visible
change is one call into the page, naming elements the page has, in changes
the page's ``pfApply`` (static/boot.js) knows.

One call each matters on the worker page, where every call is a round trip
from the worker to the page (and every page element Python held would cost
many more). The Chromium tests (test_demo.py, test_demo_sync.py) check what
the changes look like on the pages.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest

STATIC = Path(__file__).resolve().parents[2] / "static"
sys.path.insert(0, str(STATIC / "py"))

from demo_ui import View  # noqa: E402

from pf_browser import FileEvent, ReadyEvent, RunEvent  # noqa: E402

PAGE_IDS = set(re.findall(r'\bid="([^"]+)"', (STATIC / "demo.template.html").read_text()))
KINDS = set(re.findall(r'kind === "(\w+)"', (STATIC / "boot.js").read_text()))


class Page:
    """Records each call the view makes into the page."""

    def __init__(self) -> None:
        self.calls: list[list[list[Any]]] = []

    def __call__(self, changes: list[list[Any]]) -> None:
        self.calls.append(changes)


def handler(_event: object) -> None:
    pass


def run_event() -> RunEvent:
    return RunEvent(run_id="run_1", app_id="app_1")


def file_event(path: str = "index.html") -> FileEvent:
    return FileEvent(path=path, size=1200, content="<!doctype html>")


def ready_event() -> ReadyEvent:
    return ReadyEvent(app_id="app_1", preview_url="http://127.0.0.1:1/p/app_1/")


STEPS = {
    "status": lambda v: v.status("error", "Describe the app you want first."),
    "listen": lambda v: v.listen({"generate": handler, "account-changed": handler}),
    "ready": lambda v: v.ready("Ada", "snapshot"),
    "ready, signed out": lambda v: v.ready(None),
    "start_run": lambda v: v.start_run(),
    "run event": lambda v: v.show(run_event()),
    "file event": lambda v: v.show(file_event()),
    "ready event": lambda v: v.show(ready_event()),
    "cancelled": lambda v: v.cancelled(),
    "unavailable": lambda v: v.unavailable("No JSPI here."),
    "error": lambda v: v.error("PromptFloe is unreachable."),
    "idle": lambda v: v.idle(),
}


@pytest.mark.parametrize("step", STEPS)
def test_each_visible_change_is_one_call_the_page_can_carry_out(step: str) -> None:
    page = Page()
    STEPS[step](View(page))
    assert len(page.calls) == 1, page.calls
    for kind, element, *_ in page.calls[0]:
        assert kind in KINDS, f"boot.js's pfApply does not know {kind!r}"
        assert element in PAGE_IDS, f"the page has no element #{element}"


def test_the_pages_apply_knows_every_kind_of_change() -> None:
    assert KINDS == {"set", "attr", "append", "renew", "listen"}


def test_a_run_after_a_preview_starts_from_a_fresh_frame() -> None:
    page = Page()
    view = View(page)
    view.start_run()
    assert ["renew", "preview"] not in page.calls[-1]  # nothing shown yet: nothing to stop
    view.show(ready_event())
    view.start_run()
    assert ["renew", "preview"] in page.calls[-1]
    view.start_run()
    assert ["renew", "preview"] not in page.calls[-1]


def test_a_file_is_listed_with_its_size_and_counted() -> None:
    page = Page()
    view = View(page)
    view.start_run()
    view.show(file_event("index.html"))
    view.show(file_event("app.js"))
    append = [c for c in page.calls[-1] if c[0] == "append"]
    assert append == [["append", "files", ["li", {"data-path": "app.js"},
                                           ["span", {"class": "path"}, "app.js"],
                                           ["span", {"class": "size"}, "1.2 KB"]]]]
    assert ["set", "file-summary", "textContent", "2 files · 2.4 KB"] in page.calls[-1]
    view.show(ready_event())
    assert ["attr", "status", "data-state", "done"] in page.calls[-1]
