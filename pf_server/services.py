"""What every route needs, gathered once by :func:`app.create_app`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.requests import Request

from .clock import Clock
from .generator import Generator
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
    public_url: str | None = None   # else each answer's own scheme://host
    max_body: int = 64 * 1024       # bytes of JSON a request may send
    limiter: RateLimiter | None = None  # per credential; None: no rate limit

    def base_url(self, request: Request) -> str:
        """Where the API is reachable, without a trailing slash (for preview URLs)."""
        return (self.public_url or str(request.base_url)).rstrip("/")


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found
