"""The demo page's view: what the user sees, driven from Python.

Each method is one visible change, made in one call into the page: a list
of changes to its elements (by id), which the page's ``pfApply`` (boot.js)
carries out. The main-thread pages call it directly; the worker page calls
it through PyScript's ``window``, from its worker, where each call is a round
trip to the page, and each page element Python held would cost many more
(about a hundred, 10 to 50 ms an element, as Pyodide inspects the proxy it
gets). So the view holds no elements, only their ids.

``data-state`` on the status element is the stable hook for tests: booting,
ready, generating, done, cancelled, error; ``data-runs`` counts the runs
started, ``data-run-id`` names the current one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pf_browser import FileEvent, ReadyEvent, RunEvent


def human_bytes(n: int) -> str:
    """1234 -> '1.2 KB' (decimal units, as file managers show them)."""
    if n < 1000:
        return f"{n} B"
    for unit in ("KB", "MB", "GB"):
        n_f = n / 1000
        if n_f < 1000 or unit == "GB":
            return f"{n_f:.1f} {unit}"
        n = int(n_f)
    return f"{n} B"  # not reached


def file_summary(count: int, size: int) -> str:
    return f"{count} file{'s' if count != 1 else ''} · {human_bytes(size)}"


Change = list[Any]  # ["set", id, property, value], ["attr", id, name, value or None], ...


def page_apply(window: Any) -> Callable[[list[Change]], None]:
    """What carries out the view's changes: the page's ``pfApply``, from
    ``window`` (``js`` on the main thread, ``pyscript.window`` in a worker),
    looked up once, and given plain JavaScript arrays and objects."""
    import js
    from pyodide.ffi import to_js

    apply = window.pfApply
    return lambda changes: apply(to_js(changes, dict_converter=js.Object.fromEntries))


class View:
    def __init__(self, apply: Callable[[list[Change]], None]) -> None:
        self.apply = apply
        self.count = 0
        self.size = 0
        self.runs = 0
        self.showing = False  # the preview frame holds an app

    @staticmethod
    def _status(state: str, text: str) -> list[Change]:
        return [["attr", "status", "data-state", state], ["set", "status", "textContent", text]]

    def status(self, state: str, text: str) -> None:
        self.apply(self._status(state, text))

    def listen(self, handlers: dict[str, Callable[[Any], None]]) -> None:
        """Call each handler on a click on the element of that id."""
        self.apply([["listen", name, "click", handler] for name, handler in handlers.items()])

    def ready(self, who: str | None, booted: str | None = None) -> None:
        """Python is up: hide the boot bar and enable Generate.

        ``booted``: how Python started (``snapshot`` or ``plain``), kept in
        ``data-boot`` for whoever measures or tests the page.
        """
        changes: list[Change] = [["attr", "status", "data-boot", booted]] if booted else []
        changes += [["set", "boot", "hidden", True], ["set", "generate", "disabled", False]]
        if who:
            changes += self._status("ready", f"Ready. Describe an app and press Generate, {who}.")
        else:
            changes += self._status("ready", "Ready. Sign in (top right) to generate an app.")
        self.apply(changes)

    def start_run(self) -> None:
        self.count = 0
        self.size = 0
        self.runs += 1
        changes: list[Change] = [
            ["set", "files", "textContent", ""],
            ["set", "file-summary", "textContent", "Waiting for the first file…"],
            # indeterminate: the total is not known yet
            ["attr", "run-progress", "value", None],
        ]
        if self.showing:
            # A new, empty preview frame in place of the one that showed an app:
            # the old app stops, and it leaves no entry in the page's history (so
            # Back leaves the page rather than stepping through earlier previews).
            changes.append(["renew", "preview"])
            self.showing = False
        changes += [
            ["set", "preview", "hidden", True],
            ["set", "preview-link", "hidden", True],
            ["set", "preview-empty", "hidden", False],
            ["set", "preview-empty", "textContent",
             "Your app appears here as soon as it is ready."],
            ["set", "generate", "disabled", True],
            ["set", "cancel", "disabled", False],
            ["attr", "status", "data-run-id", None],
            *self._status("generating", "Connecting…"),
            # data-runs: a click reaches Python later (always so in a worker), so a
            # test waits for this count before it reads data-state. Written last,
            # so whoever sees the new count also sees this run's state.
            ["attr", "status", "data-runs", str(self.runs)],
        ]
        self.apply(changes)

    def show(self, event: object) -> None:
        """One event of a run, as every page shows it: the run's start, each
        file as it arrives, then the app in the preview."""
        if isinstance(event, RunEvent):
            self.run_started(event.run_id, event.app_id)
        elif isinstance(event, FileEvent):
            self.add_file(event.path, event.size)
        elif isinstance(event, ReadyEvent):
            self.show_preview(event.preview_url)

    def run_started(self, run_id: str, app_id: str) -> None:
        # data-run-id: lets a test ask the server about this very run.
        self.apply([["attr", "status", "data-run-id", run_id],
                    *self._status("generating", f"Generating {app_id}…")])

    def add_file(self, path: str, size: int) -> None:
        self.count += 1
        self.size += size
        item = ["li", {"data-path": path}, ["span", {"class": "path"}, path],
                ["span", {"class": "size"}, human_bytes(size)]]
        self.apply([["append", "files", item],
                    ["set", "file-summary", "textContent", file_summary(self.count, self.size)],
                    *self._status("generating", f"Writing {path}…")])

    def show_preview(self, url: str) -> None:
        self.showing = True
        self.apply([
            ["set", "run-progress", "value", 1],
            ["attr", "preview", "src", url],
            ["set", "preview", "hidden", False],
            ["attr", "preview-link", "href", url],
            ["set", "preview-link", "hidden", False],
            ["set", "preview-empty", "hidden", True],
            *self._status("done", f"Done: {file_summary(self.count, self.size)}. "
                                  "Your app is in the preview."),
        ])

    def _stopped(self) -> list[Change]:
        summary = file_summary(self.count, self.size) if self.count else "No files yet"
        return [["set", "run-progress", "value", 0],
                ["set", "file-summary", "textContent", summary]]

    def cancelled(self) -> None:
        self.apply([*self._stopped(), *self._status(
            "cancelled", f"Cancelled after {file_summary(self.count, self.size)}.")])

    def unavailable(self, message: str) -> None:
        """Python is up, but this page cannot run here: say why in the status, Generate off."""
        self.apply([["set", "boot", "hidden", True], ["set", "generate", "disabled", True],
                    *self._status("error", message)])

    def error(self, message: str) -> None:
        self.apply([*self._stopped(), *self._status("error", message)])

    def idle(self) -> None:
        self.apply([["set", "generate", "disabled", False], ["set", "cancel", "disabled", True]])
