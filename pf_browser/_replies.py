"""A reply (a response read whole) to its value, or to its typed exception.

:func:`error_from_reply` maps each status and error code of the contract
(docs/api.md, "Errors") to the exception a caller catches, with a message
that says what to do; :func:`json_body` reads a success.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

from ._exceptions import (
    APIStatusError,
    AuthenticationError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    QuotaExceededError,
    RateLimitError,
    ServerError,
)
from ._frozen import Frozen, set_field
from ._retry import retry_after as _retry_after

__all__ = ["Reply", "error_from_reply", "json_body"]


class _HasStatus(Protocol):
    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...


class Reply(Frozen):
    """A response whose body has been read whole."""

    __slots__ = __match_args__ = ("status_code", "headers", "content")
    status_code: int
    headers: Mapping[str, str]
    content: bytes

    def __init__(self, status_code: int, headers: Mapping[str, str], content: bytes) -> None:
        set_field(self, "status_code", status_code)
        set_field(self, "headers", headers)
        set_field(self, "content", content)

    def __repr__(self) -> str:
        return f"<Reply [{self.status_code}]>"


def json_body(reply: Reply) -> Any:
    """The reply's JSON, or None for an empty body."""
    if not reply.content:
        return None
    try:
        return json.loads(reply.content)
    except ValueError:
        raise APIStatusError(
            f"The API answered {reply.status_code} with a body that is not JSON; "
            "check that base_url points at a PromptFloe API.",
            status_code=reply.status_code,
            request_id=_request_id(reply),
        ) from None


_BY_STATUS: dict[int, tuple[type[APIStatusError], str]] = {
    400: (InvalidRequestError, "Fix the request; sending it again as is will fail the same way."),
    413: (InvalidRequestError, "Shorten the prompt (at most 8,000 characters)."),
    422: (InvalidRequestError, "Fix the request; sending it again as is will fail the same way."),
    401: (AuthenticationError,
          "The key or session token is invalid, expired or revoked: mint a new session "
          "(pass session_url= or refresh_fn= to renew automatically)."),
    403: (PermissionDeniedError,
          "The credential is valid but may not do this: check the session's scopes "
          "and which end user owns the app."),
    404: (NotFoundError, "Check the id; a session sees only its own end user's apps."),
    409: (ConflictError, "The resource changed meanwhile; fetch it again."),
}


def error_from_reply(reply: Reply) -> APIStatusError:
    """The typed exception for an error reply (docs/api.md, "Errors")."""
    status = reply.status_code
    err: dict[str, Any] = {}
    body: Any = None
    try:
        body = json.loads(reply.content) if reply.content else None
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        err = body["error"]
    code = err.get("code") if isinstance(err.get("code"), str) else None
    said = err.get("message") if isinstance(err.get("message"), str) else None
    request_id = _request_id(reply)
    retry_after = _retry_after(reply.headers)

    if status == 429:
        if code == "quota_exceeded":
            quota, used, resets = _quota_fields(body, err)
            return QuotaExceededError(
                f"{said or 'The daily quota is used up'} ({used} of {quota} runs). "
                f"Generation is available again at {resets or 'the next daily reset'}.",
                status_code=status, code=code, request_id=request_id, body=body,
                quota=quota, used=used, resets_at=resets, retry_after=retry_after)
        wait = f"{retry_after:g} seconds" if retry_after is not None else "a moment"
        return RateLimitError(
            f"{said or 'Too many requests'}. Wait {wait}, then try again.",
            status_code=status, code=code or "rate_limited", request_id=request_id,
            body=body, retry_after=retry_after)
    cls, advice = _BY_STATUS.get(status, (None, ""))
    if cls is None:
        if status >= 500:
            cls, advice = ServerError, "The API failed; try again later."
        else:
            cls, advice = APIStatusError, ""
    head = said or f"The API answered {status}"
    message = f"{head}{'' if head.endswith('.') else '.'} {advice}".strip()
    return cls(message, status_code=status, code=code, request_id=request_id, body=body)


def _request_id(reply: _HasStatus) -> str | None:
    return reply.headers.get("promptfloe-request-id") or reply.headers.get("x-request-id")


def _quota_fields(body: Any, err: dict[str, Any]) -> tuple[int | None, int | None, str | None]:
    # The contract puts quota, used and resetsAt in "the body"; accept them at the
    # top level or inside "error".
    def pick(name: str) -> Any:
        if name in err:
            return err[name]
        return body.get(name) if isinstance(body, dict) else None

    quota, used, resets = pick("quota"), pick("used"), pick("resetsAt")
    return (quota if isinstance(quota, int) else None,
            used if isinstance(used, int) else None,
            resets if isinstance(resets, str) else None)
