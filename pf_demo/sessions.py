"""``POST /api/promptfloe/session``: mint a session token for the signed-in user.

This is the endpoint a page's ``session_url`` points at. The secret key stays
here; the browser only ever receives a short-lived session token for its own
end user, with that user's scopes (docs/api.md, "Sessions").
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from pf_browser import APIConnectionError, APIStatusError, AsyncPromptFloe, PromptFloeError

from .users import DemoUser

log = logging.getLogger("pf_demo")

#: What the page shows when this server cannot reach PromptFloe (the code
#: ``promptfloe_unreachable`` tells the page's Python to say it in words).
UNREACHABLE = "PromptFloe can't be reached right now. Try again in a moment."

# The token is in the body: no cache may keep it.
NO_STORE = {"Cache-Control": "no-store"}


def error_body(type_: str, code: str, message: str) -> dict[str, Any]:
    """The same error shape as the PromptFloe API, so one client handles both."""
    return {"error": {"type": type_, "code": code, "message": message}}


class SessionMinter:
    """Mints sessions with the workspace's secret key and counts each one.

    ``mints`` counts successful mints per end user, so tests can assert that a
    revoked session was replaced by exactly one refresh.
    """

    def __init__(self, client: AsyncPromptFloe, ttl_minutes: int,
                 api_base_url: str = "") -> None:
        self._client = client
        self._ttl_minutes = ttl_minutes
        self._api = api_base_url or client.base_url
        self.mints: Counter[str] = Counter()

    @property
    def count(self) -> int:
        return sum(self.mints.values())

    async def mint(self, user: DemoUser | None) -> JSONResponse:
        if user is None:
            return JSONResponse(
                error_body("authentication_error", "signed_out",
                           "You are signed out. Sign in, then try again."),
                status_code=401, headers=NO_STORE)
        try:
            session = await self._client.sessions.issue(
                user.id, scopes=list(user.scopes), ttl_minutes=self._ttl_minutes)
        except APIConnectionError as exc:
            # The cause goes to our log (the page only needs to know that it
            # is PromptFloe, not the person's sign-in); never a credential:
            # pf_browser's messages hold none.
            cause = exc.__cause__
            log.error("session for %s: PromptFloe at %s can't be reached: %s%s", user.id,
                      self._api, exc,
                      f" ({type(cause).__name__}: {cause})" if cause is not None else "")
            return JSONResponse(
                error_body("api_error", "promptfloe_unreachable", UNREACHABLE),
                status_code=503, headers={**NO_STORE, "Retry-After": "5"})
        except PromptFloeError as exc:
            request_id = exc.request_id if isinstance(exc, APIStatusError) else None
            log.error("session for %s: PromptFloe at %s refused to mint it: %r (request id "
                      "%s)", user.id, self._api, exc, request_id)
            # The message is ours or the API's, never a credential (_exceptions.py).
            return JSONResponse(
                error_body("api_error", "session_unavailable",
                           f"Could not get a PromptFloe session: {exc}"),
                status_code=502, headers=NO_STORE)
        self.mints[user.id] += 1
        return JSONResponse({
            "token": session.token,
            "expiresAt": session.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "expiresIn": session.expires_in,
            "id": session.id,
            "endUserId": session.end_user_id,
            "scopes": list(session.scopes),
        }, headers=NO_STORE)

    async def handle(self, request: Request) -> JSONResponse:
        return await self.mint(request.state.user)
