"""``/v1/apps``: generate an app (a streamed run), list, get and deploy apps.

A session sees only its own end user's apps: another end user's app answers
404 ``not_found``, exactly as a missing one does, so ids reveal nothing
(documented in openapi.json).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..auth import Principal, authorize
from ..bodies import is_digits, read_json
from ..clock import rfc3339
from ..errors import ApiError, bad_request, not_found
from ..quota import spend_run
from ..services import Services, services
from ..store import AppRecord
from ..streams import EventStreamResponse

MAX_PROMPT = 8000
DEFAULT_LIMIT, MAX_LIMIT = 20, 100


def visible_app(svc: Services, principal: Principal, app_id: str) -> AppRecord:
    """The app if this caller may see it; 404 otherwise (other workspace or end user)."""
    app = svc.store.app(app_id)
    if (app is None or app.workspace_id != principal.workspace_id
            or (principal.is_session and app.end_user_id != principal.end_user_id)):
        raise not_found("app")
    return app


def app_json(svc: Services, request: Request, app: AppRecord) -> dict[str, Any]:
    return {
        "id": app.id, "endUserId": app.end_user_id, "prompt": app.prompt,
        "status": app.status, "createdAt": rfc3339(app.created_at),
        "previewUrl": svc.preview_url(request, app.id) if app.status == "ready" else None,
        "deployedUrl": app.deployed_url,
        "files": [{"path": p, "size": n} for p, n in svc.store.files(app.id)],
    }


async def generate(request: Request) -> Response:
    principal = authorize(request, scope="build")
    svc = services(request)
    body = await read_json(request, svc.max_body)
    prompt = body.get("prompt")
    if not isinstance(prompt, str):
        raise bad_request("'prompt' is required: a string of 1 to 8000 characters.")
    if not prompt.strip():
        raise bad_request("'prompt' must not be empty.")
    if len(prompt) > MAX_PROMPT:
        raise ApiError(413, "prompt_too_long",
                       f"The prompt is {len(prompt)} characters; the limit is {MAX_PROMPT}.")
    spend_run(svc.store, svc.clock, principal)
    app, run = svc.store.create_app_and_run(principal.workspace_id, principal.end_user_id,
                                            prompt, svc.clock.now())
    svc.runs.start(app, run, svc.preview_url(request, app.id))
    return EventStreamResponse(svc.runs, run.id, svc.runs.follow(run.id, 0), {})  # type: ignore[return-value]


def _limit(request: Request) -> int:
    raw = request.query_params.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    if not is_digits(raw) or not 1 <= int(raw) <= MAX_LIMIT:
        raise bad_request(f"'limit' must be an integer from 1 to {MAX_LIMIT}.")
    return int(raw)


def _cursor(request: Request) -> int | None:
    raw = request.query_params.get("cursor")
    if raw is None:
        return None
    if not is_digits(raw) or len(raw) > 18:
        raise bad_request("'cursor' must be a nextCursor from an earlier page.")
    return int(raw)


async def list_apps(request: Request) -> Response:
    principal = authorize(request, scope="read")
    svc = services(request)
    limit, cursor = _limit(request), _cursor(request)
    apps = svc.store.apps(principal.workspace_id, principal.end_user_id,
                          before_seq=cursor, limit=limit + 1)
    page = apps[:limit]
    next_cursor = str(page[-1].seq) if len(apps) > limit else None
    return JSONResponse({"data": [app_json(svc, request, a) for a in page],
                         "nextCursor": next_cursor})


async def get_app(request: Request) -> Response:
    principal = authorize(request, scope="read")
    svc = services(request)
    app = visible_app(svc, principal, request.path_params["app_id"])
    return JSONResponse(app_json(svc, request, app))


async def deploy_app(request: Request) -> Response:
    principal = authorize(request, scope="deploy")
    svc = services(request)
    app = visible_app(svc, principal, request.path_params["app_id"])
    if app.status != "ready":
        raise ApiError(409, "app_not_ready",
                       f"The app is {app.status}; only a ready app can be deployed.")
    now = svc.clock.now()
    url = svc.site_url(request, app.id)
    svc.store.deploy(app.id, url, now)
    return JSONResponse({"appId": app.id, "url": url, "deployedAt": rfc3339(now)})


routes = [
    Route("/v1/apps/generate", generate, methods=["POST"]),
    Route("/v1/apps", list_apps, methods=["GET"]),
    Route("/v1/apps/{app_id}", get_app, methods=["GET"]),
    Route("/v1/apps/{app_id}/deploy", deploy_app, methods=["POST"]),
]
