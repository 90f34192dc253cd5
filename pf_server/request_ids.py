"""Every answer carries ``PromptFloe-Request-Id``, so a report and the log meet.

The id is random (it says nothing of the caller or the credential), is put
in ``scope["state"]["request_id"]`` for the server's own log lines, and is
exposed to browsers by the CORS middleware; pf_browser puts it on every
``APIStatusError`` as ``request_id``.
"""

from __future__ import annotations

import secrets

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["HEADER", "RequestIdMiddleware"]

HEADER = "PromptFloe-Request-Id"


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = "req_" + secrets.token_hex(12)
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        await self.app(scope, receive, send_with_id)
