"""``GET /v1/usage?date=YYYY-MM-DD``: a day's runs and calls per end user (secret key only).

``used`` counts every run of the day (keys' and sessions'); ``byEndUser``
lists the end users that made calls or runs through session tokens. The
numbers come from :mod:`pf_server.usage`, as the dashboard's and the CLI's do.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..auth import authorize
from ..clock import day_of
from ..errors import bad_request, not_found
from ..services import services
from ..usage import day_usage, parse_day


async def get_usage(request: Request) -> Response:
    principal = authorize(request, key_only=True)
    svc = services(request)
    raw = request.query_params.get("date")
    day = day_of(svc.clock.now()) if raw is None else parse_day(raw)
    if day is None:
        raise bad_request("'date' must be a date as YYYY-MM-DD.")
    ws = svc.store.workspace(principal.workspace_id)
    if ws is None:
        raise not_found("workspace")
    return JSONResponse(day_usage(svc.store, ws, day).to_json())


routes = [Route("/v1/usage", get_usage, methods=["GET"])]
