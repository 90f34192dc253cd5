"""What every route needs, gathered once by :func:`app.create_app`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.requests import Request

from .clock import Clock
from .generator import Generator
from .previews import PREVIEW, SITE, PreviewOrigins
from .store import Store

if TYPE_CHECKING:
    from .ratelimit import RateLimiter
    from .runs import Runs

__all__ = ["Services", "services"]


@dataclass(frozen=True)
class Services:
    store: Store
    clock: Clock
    generator: Generator
    runs: Runs
    previews: PreviewOrigins        # where generated apps are served (previews.py)
    public_url: str | None = None   # where browsers reach this server; else each request's
    max_body: int = 64 * 1024       # bytes of JSON a request may send
    limiter: RateLimiter | None = None  # per credential; None: no rate limit

    def preview_url(self, request: Request, app_id: str) -> str:
        return self.previews.url(PREVIEW, app_id, _port(request))

    def site_url(self, request: Request, app_id: str) -> str:
        return self.previews.url(SITE, app_id, _port(request))


def _port(request: Request) -> int | None:
    # The port this server listens on, not the request's Host: a client
    # cannot steer the URLs the server hands out.
    server = request.scope.get("server")
    return int(server[1]) if server and server[1] is not None else None


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found
