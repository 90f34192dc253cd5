"""The sync demo on the main thread: ``PromptFloe`` and ``for event in stream``.

No worker and no cross-origin isolation. The sync client waits on ``fetch``
through JSPI (``pyodide.ffi.run_sync``), which hands the page back to the
browser while Python waits, so the page stays responsive while a run streams.
That needs the call to come in through an async door: this script's top level
(PyScript runs it with ``runPythonAsync``) and the ``async def`` click handler
below. A plain ``def`` handler could not stream, and the client would say so.

Cancel closes the stream: its fetch is aborted at once, and the loop ends
before the next event. Signing in or out does not reload the page: the
client renews its token for whoever is signed in now.
"""

import json

import js
from demo_errors import describe
from demo_ui import View, page_apply
from pyodide.ffi import can_run_sync, create_proxy

from pf_browser import PromptFloe, PromptFloeError, Stream

view = View(page_apply(js))


class Demo:
    def __init__(self, client: PromptFloe) -> None:
        self.client = client
        self.running = False
        self.stream: Stream | None = None
        self.cancelled = False
        self.booted: str | None = None

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
                    view.show(event)
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

    async def on_account_changed(self, _event: object) -> None:
        # boot.js posted the sign-in or sign-out form; data-user is who is signed in now.
        user = json.loads(js.document.getElementById("account-changed").dataset.user)
        self.on_cancel(None)  # a run started for the previous user stops here
        try:
            # Signed in: a token for this user now, so Generate starts at once.
            # Signed out: the endpoint refuses, and the client keeps no token.
            self.client.refresh_token()
        except PromptFloeError:
            pass  # the next Generate asks again, and says in words what went wrong
        if not self.running:
            view.idle()
        view.ready((user or {}).get("name"), self.booted)

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


def cannot_stream_here() -> str:
    """The sync client's own words for why it cannot stream in this browser, and
    what to use instead. Asked only where JSPI is missing (WebKit/Safari): the
    client refuses before it fetches a token or opens anything."""
    probe = PromptFloe(session_url="/api/promptfloe/session")
    try:
        with probe.apps.generate_stream("probe") as stream:
            next(iter(stream), None)
    except PromptFloeError as exc:
        return str(exc)
    return "This browser cannot run the sync client on the main thread; use the async page."


if not can_run_sync():
    # Without JSPI nothing here can wait on the network, not even the config
    # fetch below: say so in the page rather than never getting ready.
    view.unavailable(cannot_stream_here())
else:
    # Listen before asking who is signed in: a sign-in in between is not missed.
    changes: list[object] = []
    account_changed = js.document.getElementById("account-changed")
    on_change = create_proxy(changes.append)
    account_changed.addEventListener("click", on_change)
    config = fetch_config()
    client = PromptFloe(session_url="/api/promptfloe/session", base_url=config["apiBaseUrl"])
    demo = Demo(client)
    demo.booted = getattr(js, "pfPythonBoot", None)
    js.window.pfDemo = demo  # for a developer poking at the page from the console
    account_changed.removeEventListener("click", on_change)
    account_changed.addEventListener("click", create_proxy(demo.on_account_changed))
    js.document.getElementById("generate").addEventListener("click", create_proxy(demo.on_generate))
    js.document.getElementById("cancel").addEventListener("click", create_proxy(demo.on_cancel))
    view.ready((config.get("user") or {}).get("name"), demo.booted)
    if changes and json.loads(account_changed.dataset.user) != config.get("user"):
        account_changed.click()  # the account changed after the config came
