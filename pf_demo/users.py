"""Demo users and the signed cookie that says who is signed in.

A real app has its own accounts; the demo has a fixed list, each with the
PromptFloe scopes its sessions get, so the page can show what a user without
``build`` sees.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

COOKIE = "pf_demo_user"


@dataclass(frozen=True)
class DemoUser:
    id: str
    name: str
    scopes: tuple[str, ...]


class CookieSigner:
    """``<user id>.<hex HMAC-SHA256>``: the browser can read the id, not forge one."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def sign(self, user_id: str) -> str:
        return f"{user_id}.{self._mac(user_id)}"

    def verify(self, value: str | None) -> str | None:
        if not value:
            return None
        user_id, _, mac = value.rpartition(".")
        # Constant-time compare: a timing leak would let a forger learn the MAC.
        if user_id and hmac.compare_digest(mac, self._mac(user_id)):
            return user_id
        return None

    def _mac(self, user_id: str) -> str:
        return hmac.new(self._secret, user_id.encode(), hashlib.sha256).hexdigest()
