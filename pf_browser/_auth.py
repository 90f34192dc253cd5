"""Credentials and their renewal, with no I/O (docs/api.md, "Tokens").

:class:`TokenState` holds the current token, when it must be renewed (in the
local monotonic clock, so a wrong wall clock in the browser does not matter),
and a generation counter. Its :meth:`TokenState.refresh_flow` decides whether
a refresh is still needed and takes the result in; calling ``refresh_fn`` is
left to the driver, which holds a lock around the whole flow so that every
request that hit a 401 at once waits on one call.

The rules, from Ably (RSA4b), Liveblocks, Supabase auth-js and Google's auth
libraries, and their users' bug reports:

- one refresh at a time; whoever waited for it uses its result;
- a result is taken only if no newer token arrived meanwhile (generations);
- a failing refresh raises :class:`RefreshError` and, for a cool-down, later
  callers get the same error without calling ``refresh_fn`` again;
- renew ahead of expiry by a margin, computed from ``expiresIn`` at arrival.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Generator, Mapping
from datetime import datetime
from typing import Any, Required, TypeAlias, TypedDict

from ._exceptions import PromptFloeError, RefreshError
from ._http import parse_http_date
from ._models import Session, parse_datetime
from ._replies import Reply, error_from_reply
from ._transports.base import Request

__all__ = [
    "CALL_REFRESH",
    "SECRET_PREFIXES",
    "RefreshResult",
    "SessionGrant",
    "TokenState",
    "check_credential",
    "check_not_secret_in_browser",
    "parse_session_reply",
    "session_request",
]

SECRET_PREFIXES = ("pf_live_", "pf_test_")

#: What a refresh flow yields: "call refresh_fn and send me its result".
CALL_REFRESH = "call refresh_fn"


class SessionGrant(TypedDict, total=False):
    """A new session token and its lifetime, as a session endpoint answers:
    ``{"token": ..., "expiresAt": "2026-11-28T20:00:00Z", "expiresIn": 1800}``.
    Without either expiry the token is renewed only on a 401."""

    token: Required[str]
    expiresAt: str | datetime
    expiresIn: float


#: What ``refresh_fn`` returns: the new token, a :class:`SessionGrant`, or
#: the :class:`~pf_browser.Session` that ``sessions.issue()`` returned.
RefreshResult: TypeAlias = str | SessionGrant | Session


def check_credential(value: str, what: str) -> str:
    """``value`` without surrounding whitespace, if it can be sent as a bearer credential.

    A key read from a file ends in a newline: that is stripped. Any other
    character outside printable ASCII (or a space inside it) cannot be a
    PromptFloe credential and cannot go into an HTTP header; it raises
    :class:`PromptFloeError` before anything is sent, saying where and what
    kind of character it is, never the credential itself. ``what`` names where
    the credential came from ("api_key", "the token refresh_fn returned", ...).
    """
    if not isinstance(value, str):
        raise PromptFloeError(f"{what} must be a string, not {type(value).__name__}.")
    stripped = value.strip()
    if not stripped:
        raise PromptFloeError(f"{what} is empty (or only whitespace).")
    for position, char in enumerate(stripped, 1):
        if not "!" <= char <= "~":  # printable ASCII, space excluded
            kind = ("a space" if char == " " else
                    "a control character" if char.isascii() or char in "\x85\u2028\u2029"
                    else "a non-ASCII character")
            raise PromptFloeError(
                f"{what} has {kind} at position {position} of {len(stripped)}: PromptFloe "
                "keys and session tokens are printable ASCII. Check how the credential is "
                "read or copied (a stray quote, a line break or a smart character).")
    return stripped


def check_not_secret_in_browser(credential: str, allow: bool) -> None:
    """Refuse a secret key in a browser: anyone who can read the page can read it."""
    if sys.platform == "emscripten" and credential.startswith(SECRET_PREFIXES) and not allow:
        raise PromptFloeError(
            "A secret PromptFloe key (pf_live_/pf_test_) was given to a client running in "
            "a browser, where anyone can read it. Mint a session token on your server and "
            "pass session_url= instead (or dangerously_allow_browser=True if this page "
            "is never public)."
        )


class TokenState:
    """The current credential and when to renew it.

    ``clock`` is monotonic seconds; ``wall`` is Unix time, used only to read an
    ``expiresAt`` that comes without ``expiresIn``.
    """

    def __init__(
        self,
        token: str | None,
        *,
        can_refresh: bool,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        margin: float = 60.0,
        cooldown: float = 5.0,
        allow_secret_in_browser: bool = False,
        source: str = "refresh_fn",
    ) -> None:
        self.token = token
        self.source = source  # where new tokens come from, for messages
        self.can_refresh = can_refresh
        self.generation = 0
        self._clock = clock
        self._wall = wall
        self._margin = margin
        self._cooldown = cooldown
        self._allow_secret = allow_secret_in_browser
        self._renew_at: float | None = None
        self._failure: RefreshError | None = None
        self._failed_at = 0.0

    def __repr__(self) -> str:
        return f"<TokenState generation={self.generation} fresh={self.fresh()}>"

    def fresh(self) -> bool:
        """A token is held and is not due for renewal."""
        if self.token is None:
            return False
        return self._renew_at is None or self._clock() < self._renew_at

    def refresh_flow(self, seen_generation: int, *, force: bool = False
                     ) -> Generator[str, Any, None]:
        """Renew the token if still needed; yields :data:`CALL_REFRESH` at most once.

        ``seen_generation`` is the generation of the token the caller used (or
        found stale). If a newer one arrived while the caller waited, it is
        used as is: the concurrent 401s share one refresh.
        """
        if not force and self.generation != seen_generation and self.fresh():
            return
        if not force and self._failure is not None:
            if self._clock() - self._failed_at < self._cooldown:
                failure = RefreshError(str(self._failure))
                raise failure from self._failure.__cause__
            self._failure = None
        try:
            result = yield CALL_REFRESH
            token, lifetime = self._read_result(result)
        except Exception as exc:
            if force:
                # An explicit renewal (the end user signed in again, as someone
                # else, or out) that fails leaves no token: never the previous one.
                self.token = None
                self._renew_at = None
            self._failure = _refresh_error(exc)
            self._failed_at = self._clock()
            if self._failure is exc:  # already says what failed; keep its own cause
                raise
            raise self._failure from exc
        self.token = token
        self.generation += 1
        self._failure = None
        if lifetime is None:
            self._renew_at = None
        else:
            # Renew a margin before expiry; a short-lived token gets half its life.
            self._renew_at = self._clock() + lifetime - min(self._margin, lifetime / 2)

    def _read_result(self, result: Any) -> tuple[str, float | None]:
        """(token, seconds it lives) from what refresh_fn returned."""
        token: Any = None
        expires_in: Any = None
        expires_at: Any = None
        if isinstance(result, str):
            token = result
        elif isinstance(result, Mapping):
            token = result.get("token")
            expires_in = result.get("expiresIn", result.get("expires_in"))
            expires_at = result.get("expiresAt", result.get("expires_at"))
        elif hasattr(result, "token"):  # a Session from sessions.issue()
            token = result.token
            expires_in = getattr(result, "expires_in", None)
            expires_at = getattr(result, "expires_at", None)
        if not isinstance(token, str) or not token:
            raise RefreshError(
                f"refresh_fn returned {type(result).__name__}, not a token: return the new "
                "session token, or a mapping with 'token' and 'expiresAt' or 'expiresIn'."
            )
        try:
            token = check_credential(token, f"The token {self.source} returned")
        except PromptFloeError as exc:
            raise RefreshError(str(exc)) from None
        check_not_secret_in_browser(token, self._allow_secret)
        if isinstance(expires_in, int | float) and not isinstance(expires_in, bool):
            return token, float(expires_in)
        if isinstance(expires_at, str):
            expires_at = parse_datetime(expires_at)
        if isinstance(expires_at, datetime):
            return token, expires_at.timestamp() - self._wall()
        return token, None


def _refresh_error(exc: Exception) -> RefreshError:
    if isinstance(exc, RefreshError):
        return exc
    return RefreshError(
        f"Could not get a new session token: {exc} "
        "If the end user signed out, sign them in again, then call refresh_token()."
    )


# -- the usual refresh_fn: POST to the app's own session endpoint -----------------

def session_request(url: str, timeout: float | None) -> Request:
    """The request a ``session_url`` client sends to the app's server.

    No Authorization header: the app's server knows its user by its own
    means (a cookie, which fetch sends to the page's own origin).
    """
    return Request(
        "POST",
        url,
        {"content-type": "application/json", "accept": "application/json"},
        b"{}",
        timeout,
    )


def parse_session_reply(reply: Reply) -> dict[str, Any]:
    """The session endpoint's JSON; an error status raises :class:`RefreshError`
    caused by the status's typed exception (401/403: signed out, final)."""
    status = reply.status_code
    if not 200 <= status < 300:
        cause = error_from_reply(reply)  # attached: callers read its status_code
        advice = ("the end user is signed out or may not use PromptFloe: sign them in "
                  "again, then call refresh_token()" if status in (401, 403)
                  else "try again in a moment")
        code = f" ({cause.code})" if cause.code else ""
        raise RefreshError(
            f"The app's session endpoint answered {status}{code}: {advice}.") from cause
    try:
        body = json.loads(reply.content)
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("token"), str):
        raise RefreshError(
            "The session endpoint did not answer with a token: it must return JSON "
            '{"token": …, "expiresAt": …, "expiresIn": …}.'
        )
    # expiresAt is wall-clock; if the server said when it answered, measure
    # against its clock, not ours (skew-safe), unless expiresIn is given.
    if "expiresIn" not in body and isinstance(body.get("expiresAt"), str):
        date = reply.headers.get("date")
        if date:
            try:
                served = parse_http_date(date)
                body = {**body, "expiresIn": (parse_datetime(body["expiresAt"])
                                              - served).total_seconds()}
            except (TypeError, ValueError):
                pass
    return body
