"""Who is calling: the bearer credential to a :class:`Principal`, and what it may do.

A secret key (``pf_test_…``) acts for its workspace with its scopes. A session
token (``pf_sess_…``) acts for one end user of that workspace, with the
scopes it was minted with, until it expires or is revoked — or its key is.
Failures follow RFC 6750 §3: 401 with ``WWW-Authenticate: Bearer …`` for a
missing or bad credential, 403 ``insufficient_scope`` naming the scope.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass

from starlette.requests import Request

from .clock import day_of
from .credentials import SESSION_PREFIX
from .errors import ApiError
from .services import services

__all__ = ["SCOPES", "Principal", "authorize"]

log = logging.getLogger("pf_server")

SCOPES = ("read", "build", "deploy")
_REALM = 'Bearer realm="promptfloe"'
_MAX_CREDENTIAL = 512


@dataclass(frozen=True, slots=True)
class Principal:
    workspace_id: str
    key_id: str
    scopes: tuple[str, ...]
    session_id: str | None = None     # None: a secret key
    end_user_id: str | None = None    # set for sessions: whose apps and runs

    @property
    def is_session(self) -> bool:
        return self.session_id is not None


def _unauthorized(code: str, message: str, *, bare: bool = False) -> ApiError:
    # RFC 6750 §3.1: a request with no credential gets the challenge without an error code.
    challenge = _REALM if bare else f'{_REALM}, error="invalid_token"'
    return ApiError(401, code, message, headers={"WWW-Authenticate": challenge})


def _credential(request: Request) -> str:
    header = request.headers.get("authorization")
    if header is None:
        raise _unauthorized("invalid_token", "Send your key or session token as "
                            "'Authorization: Bearer <credential>'.", bare=True)
    scheme, _, credential = header.partition(" ")
    credential = credential.strip()
    if scheme.lower() != "bearer" or not credential:
        raise _unauthorized("invalid_token", "The Authorization header must be "
                            "'Bearer <credential>'.")
    if len(credential) > _MAX_CREDENTIAL or not credential.isascii():
        raise _unauthorized("invalid_token", "That credential is not a PromptFloe key or token.")
    return credential


def authenticate(request: Request) -> Principal:
    svc = services(request)
    credential = _credential(request)
    now = svc.clock.now()
    if credential.startswith(SESSION_PREFIX):
        found = svc.store.session_by_token(credential)
        if found is None:
            raise _unauthorized("invalid_token", "Unknown session token; get a new one "
                                "from your app's server.")
        session, key = found
        if session.revoked_at is not None or key.revoked_at is not None:
            raise _unauthorized("token_revoked", "This session was revoked; get a new one "
                                "from your app's server.")
        if now >= session.expires_at:
            raise _unauthorized("token_expired", "This session expired; get a new one "
                                "from your app's server.")
        return Principal(session.workspace_id, session.key_id, session.scopes,
                         session.id, session.end_user_id)
    key_record = svc.store.key_by_secret(credential)
    if key_record is None:
        raise _unauthorized("invalid_token", "Unknown API key; check PROMPTFLOE_API_KEY.")
    if key_record.revoked_at is not None:
        raise _unauthorized("token_revoked", "This API key was revoked; create a new one.")
    return Principal(key_record.workspace_id, key_record.id, key_record.scopes)


def authorize(request: Request, *, scope: str | None = None,
              key_only: bool = False) -> Principal:
    """Authenticate, record the call against the end user, then check what it may do."""
    principal = authenticate(request)
    svc = services(request)
    # The CORS middleware answers with this workspace's origins (cors.py).
    request.state.workspace_id = principal.workspace_id
    now = svc.clock.now()
    if svc.limiter is not None:  # before anything is recorded or done
        svc.limiter.check(principal.session_id or principal.key_id, now)
    try:
        svc.store.record_call(principal.workspace_id, day_of(now), principal.end_user_id)
    except sqlite3.OperationalError as exc:
        # Counting the call must not stop it: a read needs no write to succeed
        # (a database locked too long, or gone read-only, under a GET).
        log.warning("could not count a call (request %s): %s",
                    request.scope.get("state", {}).get("request_id", "-"), exc)
    if key_only and principal.is_session:
        raise ApiError(403, "forbidden", "A session token cannot do this; call from your "
                       "app's server with its secret key.")
    if scope is not None and scope not in principal.scopes:
        raise ApiError(403, "insufficient_scope",
                       f"This credential lacks the '{scope}' scope.",
                       headers={"WWW-Authenticate":
                                f'{_REALM}, error="insufficient_scope", scope="{scope}"'})
    return principal
