"""CORS for each workspace's allowed origins (WHATWG Fetch, "CORS protocol").

A preflight carries no credential, so it is answered for an origin that any
workspace allows. An actual response is answered for the calling workspace's
origins once the credential is known (``scope["state"]["workspace_id"]``,
set by :func:`auth.authorize`), else again for any workspace's. Error
responses get the headers too, so the browser SDK can read a 401, 403 or 429.
Every answer carries ``Cross-Origin-Resource-Policy: cross-origin`` so a
cross-origin-isolated page (COEP ``require-corp``) may load its responses.
(Generated apps are not served here: see previews.py.)
"""

from __future__ import annotations

import json

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .store import Store

__all__ = ["ALLOW_HEADERS", "EXPOSE_HEADERS", "CorsMiddleware"]

ALLOW_METHODS = "GET, POST, DELETE"
ALLOW_HEADERS = "Authorization, Content-Type, Last-Event-ID, Idempotency-Key"
EXPOSE_HEADERS = ("PromptFloe-Run-Id, PromptFloe-Request-Id, Idempotent-Replayed, Retry-After, "
                  "WWW-Authenticate")


class CorsMiddleware:
    def __init__(self, app: ASGIApp, store: Store) -> None:
        self.app = app
        self.store = store

    def _allowed(self, origin: str, workspace_id: str | None) -> bool:
        if workspace_id is not None:
            ws = self.store.workspace(workspace_id)
            return ws is not None and origin in ws.allowed_origins
        return any(origin in ws.allowed_origins for ws in self.store.workspaces())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if (scope["method"] == "OPTIONS" and origin is not None
                and "access-control-request-method" in headers):
            await self._preflight(origin, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                out["Cross-Origin-Resource-Policy"] = "cross-origin"
                out.add_vary_header("Origin")
                workspace_id = scope.get("state", {}).get("workspace_id")
                if origin is not None and self._allowed(origin, workspace_id):
                    out["Access-Control-Allow-Origin"] = origin
                    out["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
            await send(message)

        await self.app(scope, receive, send_with_cors)

    async def _preflight(self, origin: str, send: Send) -> None:
        headers = [(b"vary", b"Origin"), (b"cross-origin-resource-policy", b"cross-origin")]
        if self._allowed(origin, None):
            status, body = 204, b""
            headers += [(b"access-control-allow-origin", origin.encode("latin-1")),
                        (b"access-control-allow-methods", ALLOW_METHODS.encode()),
                        (b"access-control-allow-headers", ALLOW_HEADERS.encode()),
                        (b"access-control-max-age", b"600")]
        else:
            status = 403
            body = json.dumps({"error": {
                "type": "permission_error", "code": "origin_not_allowed",
                "message": "This origin is not allowed for any workspace; add it with "
                           "`promptfloe-server serve --allow-origin ORIGIN`."}}).encode()
            headers += [(b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
