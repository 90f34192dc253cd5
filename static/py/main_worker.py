"""The worker demo: the sync client in a PyScript worker.

``PromptFloe`` blocks while it streams, which is fine in a worker: the page
stays responsive. The page is reached through PyScript's ``window`` and
``document`` (proxies to the page, which needs the page to be cross-origin
isolated): the view's changes go to the page's ``pfApply`` in one call each
(see py/demo_ui.py), and what is read from the page is read on a click.
Cancel is a flag the page sets (boot.js) and this loop reads between events.
Signing in or out does not reload the page: the client renews its token.

The page's script is ``from main_worker import start`` and ``await
start()``: this module comes with its bytecode (build.py page_files), and
what must wait (the config, the helper worker) waits in ``start``.
"""

import asyncio
import json

import js
from demo_errors import describe
from demo_ui import View, page_apply
from pyodide.ffi import create_proxy
from pyscript import document, window

from pf_browser import PromptFloe, PromptFloeError
from pf_browser.transports import PyodideHttpTransport

# The page's origin, from this worker's own location (a blob: URL made by the
# page, so of its origin): `window.location` would be a round trip to the page.
# URLs are absolute: the worker's own location is not the page's.
ORIGIN = js.location.origin


async def fetch_config() -> dict:
    # This worker's own fetch. (`window.XMLHttpRequest` would make the request
    # on the page's main thread, synchronously, while this worker blocks on
    # it: Firefox now and then never finished booting that way.)
    response = await js.fetch(ORIGIN + "/config.json",
                              js.Object.fromEntries([["cache", "no-store"]]))
    return json.loads(await response.text())


# pyodide-http streams through a helper worker, which starts once this
# worker's event loop runs: made first, it starts while the config arrives.
transport = PyodideHttpTransport()
config_arriving = asyncio.ensure_future(fetch_config())
# Meanwhile, the page's side of the view (one proxy, looked up once).
view = View(page_apply(window))
# js is this worker's own global scope, where the boot module said how it started.
booted = getattr(js, "pfPythonBoot", None)
client: PromptFloe  # made by start(), once the config has come


def on_account_changed(_event: object) -> None:
    # boot.js posted the sign-in or sign-out form (and asked a running run to stop).
    user = json.loads(document.getElementById("account-changed").getAttribute("data-user"))
    try:
        client.refresh_token()  # signed out: refused, and the client keeps no token
    except PromptFloeError:
        pass  # no token now: the next Generate asks again and says what went wrong
    view.idle()
    view.ready((user or {}).get("name"), booted)


def on_generate(_event: object) -> None:
    prompt = document.getElementById("prompt").value.strip()
    if not prompt:
        view.status("error", "Describe the app you want first.")
        return
    body = document.body  # one proxy for the run: each lookup is many round trips

    def cancel_requested() -> bool:
        return body.getAttribute("data-cancel") == "1"

    body.removeAttribute("data-cancel")
    view.start_run()
    try:
        with client.apps.generate_stream(prompt) as stream:
            for event in stream:
                if cancel_requested():
                    view.cancelled()
                    break  # leaving the `with` closes the stream and its connection
                view.show(event)
    except PromptFloeError as exc:
        view.error(describe(exc))
    finally:
        view.idle()


async def start() -> None:
    """The client, once the config has come; the page's listeners; then ready."""
    global client
    config = await config_arriving
    client = PromptFloe(session_url=ORIGIN + "/api/promptfloe/session",
                        base_url=config["apiBaseUrl"], transport=transport)
    # Listeners on the page's elements, added by the page. (Not pyscript.when: it
    # imports pyscript.web, which took about 0.2 s of the worker page's way to ready.)
    view.listen({"account-changed": create_proxy(on_account_changed)})
    # Streaming once the helper worker is up (at once if it started meanwhile).
    streaming = await transport.ready()
    view.listen({"generate": create_proxy(on_generate)})
    if not streaming:
        # Still works, but events arrive only when the run ends (the transport warns why).
        view.apply([["set", "engine", "textContent", "sync client in a worker · buffered"]])
    view.ready((config.get("user") or {}).get("name"), booted)
