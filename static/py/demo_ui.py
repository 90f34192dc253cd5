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

    def element(self, name: str) -> Any:
        """The page's element with id ``name``, looked up once: the elements
        stay put, and from a worker each lookup costs round trips to the page
        (10 to 30 ms an element while the page boots)."""
        node = self._nodes.get(name)
        if node is None:
            node = self._nodes[name] = self.doc.getElementById(name)
        return node

    def status(self, state: str, text: str) -> None:
        node = self.element("status")
        node.setAttribute("data-state", state)
        node.textContent = text

    def ready(self, who: str | None, booted: str | None = None) -> None:
        """Python is up: hide the boot bar and enable Generate.

        ``booted``: how Python started (``snapshot`` or ``plain``), kept in
        ``data-boot`` for whoever measures or tests the page.
        """
        if booted:
            self.element("status").setAttribute("data-boot", booted)
        self.element("boot").hidden = True
        self.element("generate").disabled = False
        if who:
            self.status("ready", f"Ready. Describe an app and press Generate, {who}.")
        else:
            self.status("ready", "Ready. Sign in (top right) to generate an app.")

    def start_run(self) -> None:
        self.count = 0
        self.size = 0
        self.runs += 1
        self.element("files").replaceChildren()
        self.element("file-summary").textContent = "Waiting for the first file…"
        progress = self.element("run-progress")
        progress.removeAttribute("value")  # indeterminate: the total is not known yet
        self._fresh_preview()
        self.element("preview-link").hidden = True
        self.element("preview-empty").hidden = False
        self.element("preview-empty").textContent = "Your app appears here as soon as it is ready."
        self.element("generate").disabled = True
        self.element("cancel").disabled = False
        self.element("status").removeAttribute("data-run-id")
        self.status("generating", "Connecting…")
        # data-runs: a click reaches Python later (always so in a worker), so a
        # test waits for this count before it reads data-state. Written last,
        # so whoever sees the new count also sees this run's state.
        self.element("status").setAttribute("data-runs", str(self.runs))

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
        self.element("status").setAttribute("data-run-id", run_id)
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
        self.element("files").append(item)
        self.element("file-summary").textContent = file_summary(self.count, self.size)
        self.status("generating", f"Writing {path}…")

    def _fresh_preview(self) -> None:
        """A new, empty preview frame in place of one that showed an app: the
        old app stops, and it leaves no entry in the page's history (so Back
        leaves the page rather than stepping through earlier previews)."""
        frame = self.element("preview")
        if frame.getAttribute("src") is not None:
            fresh = frame.cloneNode(False)
            fresh.removeAttribute("src")
            frame.replaceWith(fresh)
            self._nodes["preview"] = frame = fresh
        frame.hidden = True

    def show_preview(self, url: str) -> None:
        progress = self.element("run-progress")
        progress.value = 1
        frame = self.element("preview")
        frame.setAttribute("src", url)
        frame.hidden = False
        link = self.element("preview-link")
        link.setAttribute("href", url)
        link.hidden = False
        self.element("preview-empty").hidden = True
        self.status("done", f"Done: {file_summary(self.count, self.size)}. "
                            "Your app is in the preview.")

    def _stopped(self) -> None:
        self.element("run-progress").value = 0
        self.element("file-summary").textContent = (
            file_summary(self.count, self.size) if self.count else "No files yet")

    def cancelled(self) -> None:
        self._stopped()
        self.status("cancelled", f"Cancelled after {file_summary(self.count, self.size)}.")

    def unavailable(self, message: str) -> None:
        """Python is up, but this page cannot run here: say why in the status, Generate off."""
        self.element("boot").hidden = True
        self.element("generate").disabled = True
        self.status("error", message)

    def error(self, message: str) -> None:
        self._stopped()
        self.status("error", message)

    def idle(self) -> None:
        self.element("generate").disabled = False
        self.element("cancel").disabled = True
