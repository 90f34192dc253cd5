"""The dashboard's sign-in sessions: a random token in a cookie, its hash in the database.

Signing in with a secret key starts a session of :data:`TTL` seconds for the
key's workspace. The cookie holds only a fresh random token (never the key);
the database holds only its SHA-256, as for keys and session tokens
(:mod:`pf_server.credentials`). A session ends when it expires, when its user
signs out, or when the key that started it is revoked.

This module owns the ``dashboard_sessions`` table and reads it through the
store's own locked helpers, as :class:`~pf_server.store.Store`'s methods do.

Forms carry a token derived from the cookie's token (:func:`form_token`): a
page of another site can neither read the cookie nor compute it, and the
server needs to store nothing more to check it (OWASP, "Cross-Site Request
Forgery Prevention", HMAC-based token pattern).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from ..credentials import hash_credential, hashes_match, new_id
from ..store import KeyRecord, Store

__all__ = ["COOKIE", "PATH", "SIGN_IN_COOKIE", "TTL", "DashboardSession", "end", "find",
           "form_token", "form_token_matches", "new_sign_in_token", "plausible", "set_notice",
           "start", "take_notice"]

COOKIE = "pf_dashboard"
SIGN_IN_COOKIE = "pf_dashboard_sign_in"   # the sign-in form's token, before any session
PATH = "/dashboard"
TTL = 30 * 60                             # seconds: a console session, not a day
TOKEN_PREFIX = "pfd_"
_MAX_TOKEN = 128


@dataclass(frozen=True, slots=True)
class DashboardSession:
    id: str
    workspace_id: str
    key_id: str
    expires_at: float
    form_token: str   # what this session's forms must send back


def form_token(cookie_token: str) -> str:
    """The anti-forgery token for forms of the session (or sign-in) behind ``cookie_token``."""
    return hashlib.sha256(b"pf-dashboard-form\0" + cookie_token.encode()).hexdigest()


def form_token_matches(cookie_token: str, sent: str) -> bool:
    return hashes_match(form_token(cookie_token), sent)


def new_sign_in_token() -> str:
    return secrets.token_urlsafe(32)


def plausible(token: str | None) -> bool:
    """Worth looking up: a cookie's value is whatever the browser (or anyone) sent."""
    return token is not None and 0 < len(token) <= _MAX_TOKEN and token.isascii()


def start(store: Store, key: KeyRecord, now: float) -> tuple[DashboardSession, str]:
    """A new session for ``key``'s workspace; the cookie's token is returned once."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session = DashboardSession(new_id("dash"), key.workspace_id, key.id, now + TTL,
                               form_token(token))
    # Sessions over for a day are of no use to anyone: each sign-in clears them away.
    store._run("DELETE FROM dashboard_sessions WHERE expires_at < ?", (now - 86400,))
    store._run("INSERT INTO dashboard_sessions VALUES (?, ?, ?, ?, ?, ?, NULL, NULL)",
               (session.id, hash_credential(token), key.workspace_id, key.id, now,
                session.expires_at))
    return session, token


def find(store: Store, token: str | None, now: float) -> DashboardSession | None:
    """The live session behind a cookie's token: not expired, not ended, its key not revoked."""
    if not plausible(token):
        return None
    assert token is not None
    digest = hash_credential(token)
    row = store._one(
        "SELECT d.id, d.workspace_id, d.key_id, d.expires_at, d.token_hash FROM "
        "dashboard_sessions d JOIN api_keys k ON k.id = d.key_id WHERE d.token_hash = ? "
        "AND d.ended_at IS NULL AND d.expires_at > ? AND k.revoked_at IS NULL", (digest, now))
    if row is None or not hashes_match(str(row[4]), digest):
        return None
    return DashboardSession(str(row[0]), str(row[1]), str(row[2]), float(row[3]),
                            form_token(token))


def end(store: Store, session_id: str, now: float) -> None:
    store._run("UPDATE dashboard_sessions SET ended_at = ? WHERE id = ? AND ended_at IS NULL",
               (now, session_id))


def set_notice(store: Store, session_id: str, notice: str) -> None:
    """A line for the next page this session sees (after a form's redirect)."""
    store._run("UPDATE dashboard_sessions SET notice = ? WHERE id = ?", (notice, session_id))


def take_notice(store: Store, session_id: str) -> str | None:
    with store._tx() as db:  # shown once, even to two tabs at once
        row = db.execute("SELECT notice FROM dashboard_sessions WHERE id = ?",
                         (session_id,)).fetchone()
        db.execute("UPDATE dashboard_sessions SET notice = NULL WHERE id = ?", (session_id,))
    return None if row is None or row[0] is None else str(row[0])
