"""The per-credential rate limit: a token bucket, and 429 ``rate_limited`` over loopback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from helpers import call, session

from pf_browser import PromptFloe, RateLimitError
from pf_server.ratelimit import RateLimiter
from pf_server.testing import LiveServer

# -- the bucket ---------------------------------------------------------------------------


def test_a_burst_is_allowed_then_one_request_per_interval() -> None:
    limiter = RateLimiter(rate=2, burst=3)
    assert [limiter.wait("key", 100.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.wait("key", 100.0) == pytest.approx(0.5)
    assert limiter.wait("key", 100.25) == pytest.approx(0.25)  # a refused try takes nothing
    assert limiter.wait("key", 100.5) == 0.0
    assert limiter.wait("key", 100.5) == pytest.approx(0.5)


def test_buckets_are_per_credential_and_refill_only_to_the_burst() -> None:
    limiter = RateLimiter(rate=1, burst=2)
    assert limiter.wait("a", 0.0) == 0.0 and limiter.wait("a", 0.0) == 0.0
    assert limiter.wait("a", 0.0) > 0
    assert limiter.wait("b", 0.0) == 0.0  # another credential is untouched
    assert [limiter.wait("a", 3600.0) for _ in range(3)][2] > 0  # an idle hour: still 2


def test_a_clock_that_steps_back_grants_nothing_extra() -> None:
    limiter = RateLimiter(rate=1, burst=1)
    assert limiter.wait("a", 50.0) == 0.0
    assert limiter.wait("a", 10.0) == pytest.approx(1.0)


def test_idle_buckets_are_forgotten_once_there_are_many() -> None:
    limiter = RateLimiter(rate=1, burst=1)
    for i in range(10_000):
        limiter.wait(f"user_{i}", 0.0)
    limiter.wait("late", 5.0)  # the one over the bound: every full bucket goes
    assert set(limiter._buckets) == {"late"}
    assert limiter.wait("user_0", 5.0) == 0.0


def test_with_many_busy_credentials_the_table_is_scanned_only_as_it_doubles() -> None:
    limiter = RateLimiter(rate=1, burst=1)
    scans = 0
    prune = limiter._prune

    def counted(now: float) -> None:
        nonlocal scans
        scans += 1
        prune(now)

    limiter._prune = counted  # type: ignore[method-assign]
    for i in range(30_000):  # every bucket emptied at once: nothing to forget
        limiter.wait(f"user_{i}", 0.0)
    assert len(limiter._buckets) == 30_000
    assert scans == 2  # past 10,000 and past 20,000, not once a request


@pytest.mark.parametrize(("rate", "burst"), [(0, None), (-1, None), (1, 0)])
def test_a_limiter_needs_a_positive_rate_and_burst(rate: float, burst: int | None) -> None:
    with pytest.raises(ValueError):
        RateLimiter(rate, burst)


def test_the_default_burst_is_the_rate_rounded_up() -> None:
    assert RateLimiter(0.5).burst == 1 and RateLimiter(2.5).burst == 3


# -- over loopback --------------------------------------------------------------------------

RATE, BURST = 1.0, 2


@pytest.fixture
def limited() -> Iterator[Any]:
    with LiveServer(rate_limit=RATE, rate_burst=BURST) as server:
        yield server


def test_past_the_burst_the_server_answers_429_rate_limited_with_retry_after(
        limited: Any) -> None:
    answers = [call(limited, "GET", "/v1/apps", limited.api_key) for _ in range(BURST + 1)]
    assert [answer.status_code for answer in answers] == [200] * BURST + [429]
    refused = answers[-1]
    assert refused.headers["retry-after"] == "1"
    error = refused.json()["error"]
    assert error["type"] == "rate_limit_error" and error["code"] == "rate_limited"
    assert "retry after 1 s" in error["message"]
    assert limited.api_key not in refused.text


def test_each_session_has_its_own_bucket_and_refused_calls_are_not_recorded(
        limited: Any) -> None:
    token = session(limited, "user_busy")["token"]  # the key's 1st request
    for _ in range(BURST):
        assert call(limited, "GET", "/v1/apps", token).status_code == 200
    assert call(limited, "GET", "/v1/apps", token).status_code == 429
    other = session(limited, "user_calm")["token"]  # the key's 2nd: its bucket is apart
    assert call(limited, "GET", "/v1/apps", other).status_code == 200
    limited.clock.advance(1 / RATE)  # the server's clock: a token more for the key
    usage = call(limited, "GET", "/v1/usage", limited.api_key).json()
    calls = {row["endUserId"]: row["calls"] for row in usage["byEndUser"]}
    assert calls["user_busy"] == BURST  # the 429 did nothing and counts for nothing
    assert calls["user_calm"] == 1


def test_the_client_raises_RateLimitError_with_retry_after_when_it_may_not_retry(
        limited: Any) -> None:
    with PromptFloe(api_key=limited.api_key, base_url=limited.base_url,
                    max_retries=0) as client:
        for _ in range(BURST):
            client.apps.list()
        with pytest.raises(RateLimitError) as caught:
            client.apps.list()
    assert caught.value.code == "rate_limited" and caught.value.retry_after == 1.0
    assert "Wait 1 seconds" in str(caught.value)


def test_the_client_waits_out_retry_after_and_carries_on(limited: Any) -> None:
    statuses: list[int] = []
    seen = httpx.Client(event_hooks={"response": [lambda r: statuses.append(r.status_code)]})
    with PromptFloe(api_key=limited.api_key, base_url=limited.base_url, max_retries=2,
                    http_client=seen) as client:
        sessions = [client.sessions.issue("user_patient", scopes=["build"]) for _ in range(3)]
    assert len({s.token for s in sessions}) == 3
    assert statuses.count(429) >= 1  # the third was refused, waited for and sent again
    assert statuses[-1] == 201
