"""Each error the demo can meet, in words a person understands.

The SDK's exceptions say what happened for a developer; this says it for the
person at the keyboard, and what they can do about it.
"""

from __future__ import annotations

from datetime import datetime

from pf_browser import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    InvalidRequestError,
    PermissionDeniedError,
    PromptFloeError,
    QuotaExceededError,
    RateLimitError,
    RefreshError,
    StreamError,
)

SIGNED_OUT = "You are signed out. Sign in (top right), then press Generate again."
NETWORK_DOWN = ("Can't reach PromptFloe right now. Check your connection, "
                "then press Generate again.")
# This site's server could not reach PromptFloe to start a session: not the
# person's connection, nor their sign-in.
PROMPTFLOE_UNREACHABLE = ("PromptFloe can't be reached right now. Wait a moment, "
                          "then press Generate again.")


def _when(resets_at: str | None) -> str:
    """'2026-11-30T00:00:00Z' -> '00:00 UTC'; the API sends RFC 3339."""
    try:
        return datetime.fromisoformat((resets_at or "").replace("Z", "+00:00")).strftime(
            "%H:%M UTC")
    except ValueError:
        return "the quota resets"


def _cause_status(exc: BaseException) -> int | None:
    """The HTTP status behind a RefreshError, if the session endpoint answered one."""
    cause = exc.__cause__ or exc.__context__
    status = getattr(cause, "status_code", None)
    return status if isinstance(status, int) else None


def describe(exc: PromptFloeError) -> str:
    if isinstance(exc, QuotaExceededError):
        return (f"Today's quota is used up ({exc.used} of {exc.quota} apps). "
                f"You can generate again after {_when(exc.resets_at)}.")
    if isinstance(exc, RateLimitError):
        return "Too many requests at once. Wait a few seconds, then try again."
    if isinstance(exc, PermissionDeniedError):
        if exc.code == "insufficient_scope":
            return ("Your account can look at apps but not build them "
                    "(it lacks the “build” permission). Ask an admin for access, "
                    "or sign in as a builder.")
        return "You don't have permission to do that."
    if isinstance(exc, RefreshError):
        status = _cause_status(exc)
        if status in (401, 403):
            return SIGNED_OUT
        if getattr(exc.__cause__, "code", None) == "promptfloe_unreachable":
            return PROMPTFLOE_UNREACHABLE
        if status is None and isinstance(exc.__cause__ or exc.__context__,
                                         APIConnectionError | OSError):
            return NETWORK_DOWN
        return ("This site couldn't start a PromptFloe session for you. "
                "Reload the page, or sign in again.")
    if isinstance(exc, AuthenticationError):
        return "Your session ended and could not be renewed. Sign in again, then retry."
    if isinstance(exc, InvalidRequestError):
        if exc.code == "prompt_too_long":
            return "That description is too long. Keep it under 8,000 characters."
        return f"PromptFloe couldn't use that request: {exc.message}"
    if isinstance(exc, APIConnectionError):
        return NETWORK_DOWN
    if isinstance(exc, StreamError):
        return f"Generation stopped with an error: {exc}. Press Generate to try again."
    if isinstance(exc, APIStatusError):
        return f"PromptFloe answered with an error ({exc.status_code}): {exc.message}"
    return f"Something went wrong: {exc}"
