"""A real PromptFloe server for tests and demos, in a background thread.

::

    from pf_server.testing import LiveServer

    with LiveServer(allowed_origins=["http://127.0.0.1:5173"], pace=0.0) as server:
        server.base_url            # "http://127.0.0.1:<ephemeral port>"
        server.api_key             # a secret key with every scope (pf_test_…)
        server.create_key(scopes=["read"], quota=5, origins=[...])  # -> another key
        server.clock.advance(3600) # an hour later at once: sessions expire
        server.set_allowed_origins([...])   # e.g. once an app server has its port
        server.drop_streams()      # end every open event stream from the server side
        server.wait_for_disconnect(run_id, timeout=10)  # True once a client left mid-run

uvicorn serves :func:`pf_server.app.create_app` on an ephemeral 127.0.0.1
port with ``db`` (default ``":memory:"``), ``pace`` seconds between generated
files, the workspace's daily ``quota`` of runs, ``clock`` (default an
:class:`~pf_server.clock.AdjustableClock`), ``keepalive`` seconds of idle
stream before a comment, ``generator`` (default the template one), and
``rate_limit``/``rate_burst`` per credential (default: no limit), and
``preview_origin`` (default ``http://{app}.localhost:{port}``: each app's
preview on its own origin, on this server's port; :meth:`fetch_preview`
reads one without resolving the name).
``create_key`` with ``quota`` or ``origins`` makes a key in a workspace of
its own (own quota, own origins); without them, the key joins the main
workspace. Everything here is safe to call from the test's thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import Any

import uvicorn

from .app import create_app
from .auth import SCOPES
from .clock import AdjustableClock, Clock
from .generator import Generator
from .runs import Runs
from .store import Store

__all__ = ["LiveServer"]

_START_TIMEOUT = 20.0


class LiveServer:
    def __init__(self, allowed_origins: Sequence[str] = (), pace: float = 0.0,
                 db: str = ":memory:", quota: int = 1000, clock: Clock | None = None,
                 keepalive: float = 15.0, log_level: str = "warning",
                 generator: Generator | None = None, rate_limit: float = 0.0,
                 rate_burst: int | None = None, preview_origin: str | None = None) -> None:
        self.clock: Any = clock if clock is not None else AdjustableClock()
        self.store = Store(db)
        now = self.clock.now()
        self.workspace = self.store.create_workspace(quota, list(allowed_origins), now)
        _, self.api_key = self.store.create_key(self.workspace.id, SCOPES, now)
        self.app = create_app(self.store, clock=self.clock, pace=pace, keepalive=keepalive,
                              generator=generator, rate_limit=rate_limit,
                              rate_burst=rate_burst, preview_origin=preview_origin)
        config = uvicorn.Config(self.app, host="127.0.0.1", port=0, log_level=log_level,
                                lifespan="on", timeout_graceful_shutdown=2)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="pf-live-server",
                                        daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:  # never the key
        return f"LiveServer(base_url={self.base_url!r})"

    @property
    def runs(self) -> Runs:
        runs: Runs = self.app.state.services.runs
        return runs

    @property
    def base_url(self) -> str:
        if not self._server.started:
            return "http://127.0.0.1:0"
        port = self._server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __enter__(self) -> LiveServer:
        self._thread.start()
        steps = int(_START_TIMEOUT / 0.02)
        for _ in range(steps):  # bounded wait for uvicorn to bind
            if self._server.started or not self._thread.is_alive():
                break
            self._thread.join(timeout=0.02)
        if not self._server.started:
            raise RuntimeError("the PromptFloe LiveServer did not start")
        # uvicorn serves the app on the loop its listening socket belongs to.
        self._loop = self._server.servers[0].get_loop()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._thread.is_alive():
            self.drop_streams()
        self._server.should_exit = True
        self._thread.join(timeout=15)
        self.store.close()

    # -- the test's levers ---------------------------------------------------------

    def create_key(self, scopes: Sequence[str] = SCOPES, quota: int | None = None,
                   origins: Sequence[str] | None = None) -> str:
        """A new secret key; in a workspace of its own when ``quota`` or ``origins`` is given."""
        now = self.clock.now()
        workspace_id = self.workspace.id
        if quota is not None or origins is not None:
            main = self.store.workspace(self.workspace.id)
            assert main is not None
            ws = self.store.create_workspace(
                main.daily_quota if quota is None else quota,
                list(main.allowed_origins if origins is None else origins), now)
            workspace_id = ws.id
        _, secret = self.store.create_key(workspace_id, list(scopes), now)
        return secret

    def set_allowed_origins(self, origins: Sequence[str]) -> None:
        """The main workspace's browser origins (CORS), replacing the old ones."""
        self.store.update_workspace(self.workspace.id, origins=list(origins))

    def set_quota(self, quota: int) -> None:
        self.store.update_workspace(self.workspace.id, daily_quota=quota)

    def drop_streams(self) -> int:
        """End every open event stream from the server side; how many there were."""
        assert self._loop is not None, "the server is not running"

        async def drop() -> int:
            return self.runs.drop_streams()

        return asyncio.run_coroutine_threadsafe(drop(), self._loop).result(timeout=5)

    def fetch_preview(self, url: str, **kwargs: Any) -> Any:
        """GET a preview or site URL from this server, sending its host as ``Host``.

        Python's resolver may not know ``*.localhost`` names (browsers do), so
        this connects to the server's own address.
        """
        import httpx

        parts = httpx.URL(url)
        return httpx.get(self.base_url + parts.raw_path.decode(),
                         headers={"Host": parts.netloc.decode(), **kwargs.pop("headers", {})},
                         timeout=30, **kwargs)

    def wait_for_disconnect(self, run_id: str, timeout: float = 10.0) -> bool:
        """True as soon as a client streaming ``run_id`` went away before the run ended."""
        return self.runs.wait_for_disconnect(run_id, timeout)
