"""The main-thread demo: the async client, streaming through fetch.

The page's whole PromptFloe code is ``AsyncPromptFloe(session_url=...)``: the
client fetches a session token from this site's server on first use and again
whenever the token expires or is revoked. Signing in or out does not reload
the page: the client renews its token for whoever is signed in now.
"""

import asyncio
import json

import js
from demo_errors import describe
from demo_ui import View, page_apply
from pyodide.ffi import create_proxy

from pf_browser import AsyncPromptFloe, PromptFloeError

view = View(page_apply(js))


async def fetch_config() -> dict:
    # The app server says where the API is and who is signed in.
    response = await js.fetch("./config.json", js.Object.fromEntries([["cache", "no-store"]]))
    return json.loads(await response.text())


class Demo:
    def __init__(self, client: AsyncPromptFloe) -> None:
        self.client = client
        self.task: asyncio.Task | None = None
        self.switching: asyncio.Task | None = None
        self.booted: str | None = None

    def on_generate(self, _event: object) -> None:
        prompt = js.document.getElementById("prompt").value.strip()
        if not prompt:
            view.status("error", "Describe the app you want first.")
            return
        if self.task is None or self.task.done():
            self.task = asyncio.ensure_future(self.generate(prompt))

    def on_cancel(self, _event: object) -> None:
        # Cancelling the task leaves the stream's `async with`, which closes
        # the stream: the fetch is aborted and the server sees the disconnect.
        if self.task is not None and not self.task.done():
            self.task.cancel()

    def on_account_changed(self, _event: object) -> None:
        # boot.js posted the sign-in or sign-out form; data-user is who is signed in now.
        user = json.loads(js.document.getElementById("account-changed").dataset.user)
        if self.task is not None and not self.task.done():
            self.task.cancel()  # a run started for the previous user stops here
        if self.switching is not None and not self.switching.done():
            self.switching.cancel()
        self.switching = asyncio.ensure_future(self.switch_user(user))

    async def switch_user(self, user: dict | None) -> None:
        try:
            # Signed in: a token for this user now, so Generate starts at once.
            # Signed out: the endpoint refuses, and the client keeps no token.
            await self.client.refresh_token()
        except PromptFloeError:
            # No token now (the client keeps none after a failed renewal): the
            # next Generate asks again, and says in words what went wrong.
            pass
        view.idle()
        view.ready((user or {}).get("name"), self.booted)

    async def generate(self, prompt: str) -> None:
        view.start_run()
        try:
            async with self.client.apps.generate_stream(prompt) as stream:
                async for event in stream:
                    view.show(event)
        except asyncio.CancelledError:
            view.cancelled()
        except PromptFloeError as exc:
            view.error(describe(exc))
        finally:
            view.idle()


async def main() -> None:
    doc = js.document
    # Listen before asking who is signed in: a sign-in in between is not missed.
    demo: Demo | None = None
    changes: list[object] = []
    on_change = create_proxy(lambda event: demo.on_account_changed(event) if demo
                             else changes.append(event))
    doc.getElementById("account-changed").addEventListener("click", on_change)
    config = await fetch_config()
    client = AsyncPromptFloe(session_url="/api/promptfloe/session",
                             base_url=config["apiBaseUrl"])
    demo = Demo(client)
    demo.booted = getattr(js, "pfPythonBoot", None)
    js.window.pfDemo = demo  # for a developer poking at the page from the console
    doc.getElementById("generate").addEventListener("click", create_proxy(demo.on_generate))
    doc.getElementById("cancel").addEventListener("click", create_proxy(demo.on_cancel))
    view.ready((config.get("user") or {}).get("name"), demo.booted)
    signed_in = json.loads(doc.getElementById("account-changed").dataset.user)
    if changes and signed_in != config.get("user"):
        demo.on_account_changed(changes[-1])  # the account changed after the config came


# Held in a module global, so the task is not garbage-collected while it runs.
startup = asyncio.ensure_future(main())  # noqa: RUF006
