"""The sync demo on the main thread: ``PromptFloe`` and ``for event in stream``.

No worker and no cross-origin isolation. The sync client waits on ``fetch``
through JSPI (``pyodide.ffi.run_sync``), which hands the page back to the
browser while Python waits, so the page stays responsive while a run streams.
That needs the call to come in through an async door: this script's top level
(PyScript runs it with ``runPythonAsync``) and the ``async def`` click handler
below. A plain ``def`` handler could not stream, and the client would say so.

Cancel closes the stream: its fetch is aborted at once, and the loop ends
before the next event.
"""

import json

import js
from demo_errors import describe
from demo_ui import View
from pyodide.ffi import create_proxy

from pf_browser import FileEvent, PromptFloe, PromptFloeError, ReadyEvent, RunEvent, Stream

view = View(js.document)


class Demo:
    def __init__(self, client: PromptFloe) -> None:
        self.client = client
        self.running = False
        self.stream: Stream | None = None
        self.cancelled = False

    async def on_generate(self, _event: object) -> None:
        # `async def`: the door through which the sync client may wait below.
        prompt = js.document.getElementById("prompt").value.strip()
        if not prompt:
            view.status("error", "Describe the app you want first.")
            return
        if self.running:
            return
        self.running, self.cancelled = True, False
        view.start_run()
        try:
            with self.client.apps.generate_stream(prompt) as stream:
                self.stream = stream
                for event in stream:
                    if self.cancelled:  # pressed while the stream was opening
                        break
                    if isinstance(event, RunEvent):
                        view.run_started(event.run_id, event.app_id)
                    elif isinstance(event, FileEvent):
                        view.add_file(event.path, event.size)
                    elif isinstance(event, ReadyEvent):
                        view.show_preview(event.preview_url)
            if self.cancelled:
                view.cancelled()
        except PromptFloeError as exc:
            if self.cancelled:
                view.cancelled()
            else:
                view.error(describe(exc))
        finally:
            self.running, self.stream = False, None
            view.idle()

    def on_cancel(self, _event: object) -> None:
        # Runs while on_generate waits for the network: closing the stream
        # aborts its fetch, and the `for` loop ends without another event.
        if self.running:
            self.cancelled = True
            if self.stream is not None:
                self.stream.close()


def fetch_config() -> dict:
    # Plain synchronous code at the top level: the client's own transport
    # would do the same, so use it here too (run_sync over fetch).
    from pyodide.ffi import run_sync

    response = run_sync(js.fetch("./config.json", js.Object.fromEntries([["cache", "no-store"]])))
    return json.loads(run_sync(response.text()))


config = fetch_config()
client = PromptFloe(session_url="/api/promptfloe/session", base_url=config["apiBaseUrl"])
demo = Demo(client)
js.window.pfDemo = demo  # for a developer poking at the page from the console
js.document.getElementById("generate").addEventListener("click", create_proxy(demo.on_generate))
js.document.getElementById("cancel").addEventListener("click", create_proxy(demo.on_cancel))
view.ready((config.get("user") or {}).get("name"))
