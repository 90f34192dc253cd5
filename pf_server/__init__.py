"""The local PromptFloe server: the HTTP API of ../shared/API.md, for real.

Starlette + SQLite, run by uvicorn (``promptfloe-server``). It is a separate
package from ``pf_browser`` and never imported by it, so the browser wheel
carries no server code. ``pf_server.testing.LiveServer`` runs it in a thread
for tests.
"""

from __future__ import annotations

from .app import create_app

__all__ = ["create_app"]
