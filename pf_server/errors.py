"""The contract's one error shape, and the handlers that guarantee it.

Every failure answers ``{"error": {"type", "code", "message"}}`` (docs/api.md,
"Errors"): routes raise :class:`ApiError`; Starlette's own 404 and 405 and any
unexpected exception are turned into the same shape here, so no request ever
sees an HTML page or a stack trace.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["ApiError", "CatchAllMiddleware", "bad_request", "error_response", "exception_handlers",
           "not_found"]

log = logging.getLogger("pf_server")

# The ``type`` that goes with each status (the client keys on status and code).
_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
          404: "not_found_error", 405: "invalid_request_error", 409: "conflict_error",
          413: "invalid_request_error", 429: "rate_limit_error", 500: "api_error"}


class ApiError(Exception):
    """Raise from a route to answer with the contract's JSON error."""

    def __init__(self, status: int, code: str, message: str, *,
                 headers: Mapping[str, str] | None = None,
                 extra: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})


def bad_request(message: str) -> ApiError:
    return ApiError(400, "invalid_request", message)


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"No such {what}.")


def error_response(error: ApiError) -> JSONResponse:
    body = {"type": _TYPES.get(error.status, "api_error"), "code": error.code,
            "message": error.message, **error.extra}
    return JSONResponse({"error": body}, status_code=error.status, headers=error.headers)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return error_response(ApiError(404, "not_found", "No such route. See /openapi.json."))
    if exc.status_code == 405:
        allow = (exc.headers or {}).get("Allow", "")
        return error_response(ApiError(
            405, "method_not_allowed", f"{request.method} is not allowed here; use {allow}.",
            headers={"Allow": allow} if allow else None))
    return error_response(ApiError(exc.status_code, "invalid_request", str(exc.detail)))


exception_handlers: dict[Any, Any] = {ApiError: _api_error, HTTPException: _http_error}


class CatchAllMiddleware:
    """Any unexpected exception becomes a JSON 500 without details.

    It sits inside the CORS middleware (Starlette's own 500 handler sits
    outside all middleware), so even this answer is readable cross-origin.
    The traceback goes to the server's log, never to the client.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            if scope["type"] != "http":
                raise
            log.exception("unexpected error on %s %s (request %s)", scope["method"],
                          scope["path"], scope.get("state", {}).get("request_id", "-"))
            if started:  # too late for a status: the connection just ends
                return
            response = error_response(ApiError(
                500, "internal_error", "The server failed on this request; try again."))
            await response(scope, receive, send)
