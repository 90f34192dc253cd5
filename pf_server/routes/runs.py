"""``GET /v1/runs/{runId}/events``: resume a run's stream after ``Last-Event-ID``.

Replays every event after that id from the log, then follows the run live
(runs.py). Scope ``build`` or ``read``; a session sees only its own end
user's runs (another's is 404, as for apps).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..auth import authorize
from ..bodies import is_digits
from ..errors import ApiError, bad_request, not_found
from ..services import services
from ..streams import EventStreamResponse


def _last_event_id(request: Request) -> int:
    raw = request.headers.get("last-event-id", "").strip()
    if not raw:
        return 0
    if not is_digits(raw) or len(raw) > 18:
        raise bad_request("Last-Event-ID must be the id of an event of this run (an integer).")
    return int(raw)


async def run_events(request: Request) -> Response:
    principal = authorize(request)
    if not {"build", "read"} & set(principal.scopes):
        raise ApiError(403, "insufficient_scope", "Following a run needs the 'build' or "
                       "'read' scope.")
    svc = services(request)
    run = svc.store.run(request.path_params["run_id"])
    if (run is None or run.workspace_id != principal.workspace_id
            or (principal.is_session and run.end_user_id != principal.end_user_id)):
        raise not_found("run")
    after = _last_event_id(request)
    return EventStreamResponse(svc.runs, run.id, svc.runs.follow(run.id, after), {})  # type: ignore[return-value]


routes = [Route("/v1/runs/{run_id}/events", run_events, methods=["GET"])]
