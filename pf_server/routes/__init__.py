"""The API's routes, one module per resource; :data:`routes` is the whole table."""

from __future__ import annotations

from starlette.routing import BaseRoute

from . import apps, meta, runs, sessions, usage

__all__ = ["routes"]

routes: list[BaseRoute] = [*meta.routes, *sessions.routes, *apps.routes, *runs.routes,
                           *usage.routes]
