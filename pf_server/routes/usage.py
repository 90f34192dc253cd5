"""``GET /v1/usage?date=YYYY-MM-DD``: a day's runs and calls per end user (secret key only).

``used`` counts every run of the day (keys' and sessions'); ``byEndUser``
lists the end users that made calls or runs through session tokens.
"""

from __future__ import annotations

from datetime import date

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..auth import authorize
from ..clock import day_of
from ..errors import bad_request, not_found
from ..services import services


async def get_usage(request: Request) -> Response:
    principal = authorize(request, key_only=True)
    svc = services(request)
    day = request.query_params.get("date")
    if day is None:
        day = day_of(svc.clock.now())
    try:
        valid = len(day) == 10 and date.fromisoformat(day).isoformat() == day
    except ValueError:
        valid = False
    if not valid:
        raise bad_request("'date' must be a date as YYYY-MM-DD.")
    ws = svc.store.workspace(principal.workspace_id)
    if ws is None:
        raise not_found("workspace")
    used, rows = svc.store.usage(ws.id, day)
    return JSONResponse({
        "date": day, "quota": ws.daily_quota, "used": used,
        "byEndUser": [{"endUserId": r.end_user_id, "runs": r.runs, "calls": r.calls}
                      for r in rows],
    })


routes = [Route("/v1/usage", get_usage, methods=["GET"])]
