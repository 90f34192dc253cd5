"""The daily run quota of a workspace, and the 429 that says it is spent.

A run is taken from the quota when generation starts, in one guarded
``UPDATE … WHERE used < quota`` (:meth:`Store.spend_run`), so concurrent
generate calls can never spend past it. Days are UTC; the quota resets at
00:00 UTC, which ``Retry-After`` and ``resetsAt`` name.
"""

from __future__ import annotations

import math

from .auth import Principal
from .clock import Clock, day_of, next_midnight, rfc3339
from .errors import ApiError, not_found
from .store import Store

__all__ = ["over_quota", "spend_run"]


def spend_run(store: Store, clock: Clock, principal: Principal) -> None:
    """Take one run from today's quota for ``principal``, or raise 429 ``quota_exceeded``."""
    ws = store.workspace(principal.workspace_id)
    if ws is None:
        raise not_found("workspace")
    now = clock.now()
    granted, used = store.spend_run(ws.id, day_of(now), ws.daily_quota, principal.end_user_id)
    if not granted:
        raise over_quota(ws.daily_quota, used, now)


def over_quota(quota: int, used: int, now: float) -> ApiError:
    """The 429 ``quota_exceeded`` answer, with when the quota comes back."""
    resets = next_midnight(now)
    return ApiError(
        429, "quota_exceeded",
        f"The workspace's daily quota of {quota} runs is used up; "
        f"it resets at {rfc3339(resets)}.",
        headers={"Retry-After": str(max(1, math.ceil(resets - now)))},
        extra={"quota": quota, "used": min(used, quota),
               "resetsAt": rfc3339(resets)})
