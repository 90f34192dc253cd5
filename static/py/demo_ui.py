"""The demo page's view: what the user sees, driven from Python.

Works on any DOM-like ``document``: ``js.document`` on the main thread,
``pyscript.document`` (a proxy to the page) in a worker. Each method is one
visible change, so both pages share it. ``data-state`` on the status element
is the stable hook for tests: booting, ready, generating, done, cancelled,
error; ``data-runs`` counts the runs started, ``data-run-id`` names the current one.
"""

from __future__ import annotations

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


class View:
    def __init__(self, document: Any) -> None:
        self.doc = document
        self.count = 0
        self.size = 0
        self.runs = 0
        self._nodes: dict[str, Any] = {}

    def _id(self, name: str) -> Any:
        # The page's elements stay put: each is looked up once (from a worker,
        # every lookup is a round trip to the page).
        node = self._nodes.get(name)
        if node is None:
            node = self._nodes[name] = self.doc.getElementById(name)
        return node

    def status(self, state: str, text: str) -> None:
        node = self._id("status")
        node.setAttribute("data-state", state)
        node.textContent = text

    def ready(self, who: str | None, booted: str | None = None) -> None:
        """Python is up: hide the boot bar and enable Generate.

        ``booted``: how Python started (``snapshot`` or ``plain``), kept in
        ``data-boot`` for whoever measures or tests the page.
        """
        if booted:
            self._id("status").setAttribute("data-boot", booted)
        self._id("boot").hidden = True
        self._id("generate").disabled = False
        if who:
            self.status("ready", f"Ready. Describe an app and press Generate, {who}.")
        else:
            self.status("ready", "Ready. Sign in (top right) to generate an app.")

    def start_run(self) -> None:
        self.count = 0
        self.size = 0
        self.runs += 1
        self._id("files").replaceChildren()
        self._id("file-summary").textContent = "Waiting for the first file…"
        progress = self._id("run-progress")
        progress.removeAttribute("value")  # indeterminate: the total is not known yet
        self._fresh_preview()
        self._id("preview-link").hidden = True
        self._id("preview-empty").hidden = False
        self._id("preview-empty").textContent = "Your app appears here as soon as it is ready."
        self._id("generate").disabled = True
        self._id("cancel").disabled = False
        self._id("status").removeAttribute("data-run-id")
        self.status("generating", "Connecting…")
        # data-runs: a click reaches Python later (always so in a worker), so a
        # test waits for this count before it reads data-state. Written last,
        # so whoever sees the new count also sees this run's state.
        self._id("status").setAttribute("data-runs", str(self.runs))

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
        self._id("status").setAttribute("data-run-id", run_id)
        self.status("generating", f"Generating {app_id}…")

    def add_file(self, path: str, size: int) -> None:
        self.count += 1
        self.size += size
        doc = self.doc
        item = doc.createElement("li")
        item.setAttribute("data-path", path)
        name = doc.createElement("span")
        name.className = "path"
        name.textContent = path
        weight = doc.createElement("span")
        weight.className = "size"
        weight.textContent = human_bytes(size)
        item.append(name, weight)
        self._id("files").append(item)
        self._id("file-summary").textContent = file_summary(self.count, self.size)
        self.status("generating", f"Writing {path}…")

    def _fresh_preview(self) -> None:
        """A new, empty preview frame in place of one that showed an app: the
        old app stops, and it leaves no entry in the page's history (so Back
        leaves the page rather than stepping through earlier previews)."""
        frame = self._id("preview")
        if frame.getAttribute("src") is not None:
            fresh = frame.cloneNode(False)
            fresh.removeAttribute("src")
            frame.replaceWith(fresh)
            self._nodes["preview"] = frame = fresh
        frame.hidden = True

    def show_preview(self, url: str) -> None:
        progress = self._id("run-progress")
        progress.value = 1
        frame = self._id("preview")
        frame.setAttribute("src", url)
        frame.hidden = False
        link = self._id("preview-link")
        link.setAttribute("href", url)
        link.hidden = False
        self._id("preview-empty").hidden = True
        self.status("done", f"Done: {file_summary(self.count, self.size)}. "
                            "Your app is in the preview.")

    def _stopped(self) -> None:
        self._id("run-progress").value = 0
        self._id("file-summary").textContent = (
            file_summary(self.count, self.size) if self.count else "No files yet")

    def cancelled(self) -> None:
        self._stopped()
        self.status("cancelled", f"Cancelled after {file_summary(self.count, self.size)}.")

    def unavailable(self, message: str) -> None:
        """Python is up, but this page cannot run here: say why in the status, Generate off."""
        self._id("boot").hidden = True
        self._id("generate").disabled = True
        self.status("error", message)

    def error(self, message: str) -> None:
        self._stopped()
        self.status("error", message)

    def idle(self) -> None:
        self._id("generate").disabled = False
        self._id("cancel").disabled = True
