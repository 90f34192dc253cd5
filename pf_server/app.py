"""The server, assembled in one place: storage, clock, generator, runs, routes, the
dashboard, middleware."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware

from .clock import Clock, SystemClock
from .cors import CorsMiddleware
from .dashboard import routes as dashboard_routes
from .errors import CatchAllMiddleware, exception_handlers
from .generator import Generator, TemplateGenerator
from .liveness import Liveness
from .previews import DEFAULT_PREVIEW_ORIGIN, PreviewMiddleware, PreviewOrigins
from .ratelimit import RateLimiter
from .request_ids import RequestIdMiddleware
from .routes import routes
from .runs import Runs
from .services import Services
from .store import Store

__all__ = ["create_app"]


def create_app(store: Store, *, clock: Clock | None = None, generator: Generator | None = None,
               pace: float = 0.0, keepalive: float = 15.0, public_url: str | None = None,
               preview_origin: str | None = None,
               max_body: int = 64 * 1024, rate_limit: float = 0.0,
               rate_burst: int | None = None) -> Starlette:
    """The PromptFloe API over ``store``.

    ``generator`` defaults to :class:`TemplateGenerator` with ``pace`` seconds
    before each file; ``keepalive`` is the idle time before a ``: keep-alive``
    comment; ``public_url`` is where browsers reach this server (the
    dashboard's own origin; else each request's); ``preview_origin`` is the
    template of each app's own origin (previews.py; default
    ``http://{app}.localhost:{port}``); ``max_body`` caps JSON bodies (413
    beyond it);
    ``rate_limit`` requests a second per credential, in bursts of up to
    ``rate_burst`` (default: the rate, rounded up), else 429 ``rate_limited``
    (0: no limit).
    """
    clock = clock or SystemClock()
    generator = generator or TemplateGenerator(pace)
    liveness = Liveness(store)
    runs = Runs(store, clock, generator, keepalive, liveness.server_id)
    limiter = RateLimiter(rate_limit, rate_burst) if rate_limit > 0 else None
    previews = PreviewOrigins(preview_origin or DEFAULT_PREVIEW_ORIGIN)
    svc = Services(store, clock, generator, runs, previews, public_url, max_body, limiter)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        liveness.start()  # runs of servers that died end now; others' live runs go on
        yield
        await runs.stop()  # ours end with run_interrupted
        await liveness.stop()

    app = Starlette(
        routes=[*routes, *dashboard_routes],
        # Outermost first: a preview origin's request never reaches the API;
        # every API answer gets a request id (preflights too), and CORS sees
        # every answer, the catch-all's JSON 500 included.
        middleware=[Middleware(PreviewMiddleware, origins=previews, store=store),
                    Middleware(RequestIdMiddleware), Middleware(CorsMiddleware, store=store),
                    Middleware(CatchAllMiddleware)],
        exception_handlers=exception_handlers,
        lifespan=lifespan,
    )
    app.state.services = svc
    return app
