"""Keys, tokens and ids: how they are made and how they are stored.

Keys (``pf_test_…``) and session tokens (``pf_sess_…``) carry 256 random bits,
so a plain SHA-256 of the whole credential is a safe stored form: nothing
stretches a guess of a random 256-bit value. The server stores only that hash
and, after finding the row by it, compares in constant time
(``hmac.compare_digest``). Ids (``app_…``, ``sess_…``) are random too: an app
id is the capability for its preview, which an iframe fetches without a
bearer header.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

__all__ = ["KEY_PREFIX", "SESSION_PREFIX", "hash_credential", "hashes_match", "new_id",
           "new_key", "new_session_token"]

KEY_PREFIX = "pf_test_"  # a local server's keys are test keys: they build nothing billable
SESSION_PREFIX = "pf_sess_"


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def new_session_token() -> str:
    return SESSION_PREFIX + secrets.token_urlsafe(32)


def new_id(prefix: str) -> str:
    """``prefix_`` + 128 random bits in hex: unguessable, URL-safe."""
    return f"{prefix}_{secrets.token_hex(16)}"


def hash_credential(credential: str) -> str:
    return hashlib.sha256(credential.encode("utf-8", "surrogatepass")).hexdigest()


def hashes_match(stored: str, presented: str) -> bool:
    return hmac.compare_digest(stored.encode(), presented.encode())

