"""The local PromptFloe server: the HTTP API of docs/api.md, for real.

Starlette + SQLite, run by uvicorn (``promptfloe-server``). It ships in the
pf_browser distribution (the ``server`` extra brings Starlette and uvicorn)
but is a separate package that ``pf_browser`` never imports, and the wheel
that browsers load leaves it out (build.py). ``pf_server.testing.LiveServer`` runs it in a thread
for tests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    # PEP 562: Starlette is imported on first use, so that `promptfloe-server`
    # without the server extra can say what is missing.
    if name == "create_app":
        from .app import create_app
        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
