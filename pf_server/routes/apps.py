"""``/v1/apps``: generate an app (a streamed run), list, get and deploy apps.

A session sees only its own end user's apps: another end user's app answers
404 ``not_found``, exactly as a missing one does, so ids reveal nothing
(documented in openapi.json).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..auth import Principal, authorize
from ..bodies import is_digits, read_json
from ..clock import day_of, rfc3339
from ..errors import ApiError, bad_request, not_found
from ..quota import over_quota
from ..services import Services, services
from ..store import AppRecord, Idempotency
from ..streams import EventStreamResponse

MAX_PROMPT = 8000
DEFAULT_LIMIT, MAX_LIMIT = 20, 100
IDEMPOTENCY_KEY = re.compile(r"[\x20-\x7e]{1,255}")  # printable ASCII
IDEMPOTENCY_TTL = 24 * 3600.0


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
    idempotency = _idempotency(request, principal, body)
    ws = svc.store.workspace(principal.workspace_id)
    if ws is None:
        raise not_found("workspace")
    now = svc.clock.now()
    started = svc.store.start_run(
        ws.id, principal.end_user_id, prompt, now=now, day=day_of(now), quota=ws.daily_quota,
        server_id=svc.runs.server_id, idempotency=idempotency, idempotency_ttl=IDEMPOTENCY_TTL)
    if started.conflict:
        raise ApiError(409, "idempotency_key_reused",
                       "This Idempotency-Key was used with a different request body; "
                       "send a new key for a new request.")
    if started.run is None:
        raise over_quota(ws.daily_quota, started.used, now)
    headers = {}
    if started.replayed:
        # The same run as the first call with this key: its stream from the start.
        headers["Idempotent-Replayed"] = "true"
    else:
        assert started.app is not None
        svc.runs.start(started.app, started.run, svc.preview_url(request, started.app.id))
    run_id = started.run.id
    return EventStreamResponse(svc.runs, run_id, svc.runs.follow(run_id, 0), headers)  # type: ignore[return-value]


def _idempotency(request: Request, principal: Principal,
                 body: dict[str, Any]) -> Idempotency | None:
    """The request's ``Idempotency-Key``, scoped to whoever sends it (a key, or a
    session's end user, so a token refreshed between two tries finds the run)."""
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not IDEMPOTENCY_KEY.fullmatch(key):
        raise bad_request("Idempotency-Key must be 1 to 255 printable ASCII characters.")
    owner = (f"user:{principal.workspace_id}:{principal.end_user_id}" if principal.is_session
             else f"key:{principal.key_id}")
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return Idempotency(owner, key, hashlib.sha256(canonical.encode()).hexdigest())


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
