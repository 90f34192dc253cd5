"""``/v1/sessions``: mint and revoke end users' session tokens (secret key only)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..auth import SCOPES, authorize
from ..bodies import optional_int, read_json, string_field, string_list_field
from ..clock import rfc3339
from ..errors import ApiError, bad_request, not_found
from ..services import services

MAX_END_USER_ID = 256
DEFAULT_TTL_MINUTES = 60


async def create_session(request: Request) -> Response:
    principal = authorize(request, key_only=True)
    svc = services(request)
    body = await read_json(request, svc.max_body)
    end_user_id = string_field(body, "endUserId", max_len=MAX_END_USER_ID)
    assert end_user_id is not None
    asked = string_list_field(body, "scopes")
    ttl = optional_int(body, "ttlMinutes", low=1, high=60) or DEFAULT_TTL_MINUTES
    if asked is None:
        scopes = principal.scopes
    else:
        unknown = sorted(set(asked) - set(SCOPES))
        if unknown:
            raise bad_request(f"Unknown scope {unknown[0]!r}; scopes are {', '.join(SCOPES)}.")
        beyond = sorted(set(asked) - set(principal.scopes))
        if beyond:
            raise ApiError(403, "insufficient_scope",
                           f"A session cannot have the '{beyond[0]}' scope: this key lacks it.")
        scopes = tuple(dict.fromkeys(asked))  # as asked (the contract's example), no repeats
    now = svc.clock.now()
    session, token = svc.store.create_session(principal.workspace_id, principal.key_id,
                                              end_user_id, scopes, now, now + ttl * 60)
    # The token is in this body only: no cache may keep it.
    return JSONResponse({
        "id": session.id, "token": token, "endUserId": end_user_id, "scopes": list(scopes),
        "expiresAt": rfc3339(session.expires_at), "expiresIn": ttl * 60,
    }, status_code=201, headers={"Cache-Control": "no-store"})


async def delete_session(request: Request) -> Response:
    principal = authorize(request, key_only=True)
    svc = services(request)
    found = svc.store.revoke_session(principal.workspace_id, request.path_params["session_id"],
                                     svc.clock.now())
    if found is None:
        raise not_found("session")
    return Response(status_code=204)


async def revoke_end_user(request: Request) -> Response:
    principal = authorize(request, key_only=True)
    svc = services(request)
    body = await read_json(request, svc.max_body)
    end_user_id = string_field(body, "endUserId", max_len=MAX_END_USER_ID)
    assert end_user_id is not None
    count = svc.store.revoke_end_user(principal.workspace_id, end_user_id, svc.clock.now())
    return JSONResponse({"endUserId": end_user_id, "revoked": count})


routes = [
    Route("/v1/sessions", create_session, methods=["POST"]),
    Route("/v1/sessions/revoke", revoke_end_user, methods=["POST"]),
    Route("/v1/sessions/{session_id}", delete_session, methods=["DELETE"]),
]
