"""The daily run quota: atomic at its edge, attributed per end user, and a clear 429."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from helpers import bearer, call, generate, session
from test_bad_input import assert_error

from pf_server.clock import day_of
from pf_server.testing import LiveServer


def test_100_concurrent_generates_one_under_the_edge_spend_exactly_one_run() -> None:
    quota = 100
    with LiveServer(quota=quota) as server:
        day = day_of(server.clock.now())
        for _ in range(quota - 1):  # the same counter generate spends, brought to the edge
            granted, _ = server.store.spend_run(server.workspace.id, day, quota, None)
            assert granted
        token = session(server, "racer")["token"]

        async def one(client: httpx.AsyncClient) -> int:
            async with client.stream("POST", "/v1/apps/generate", json={"prompt": "a race"},
                                     headers=bearer(token)) as answer:
                await answer.aread()
                return answer.status_code

        async def race() -> list[int]:
            limits = httpx.Limits(max_connections=100)
            async with httpx.AsyncClient(base_url=server.base_url, limits=limits,
                                         timeout=60) as client:
                return list(await asyncio.gather(*(one(client) for _ in range(100))))

        statuses = asyncio.run(race())
        assert sorted(statuses) == [200] + [429] * 99
        usage = call(server, "GET", "/v1/usage", server.api_key).json()
        assert usage["used"] == quota
        assert usage["byEndUser"] == [{"endUserId": "racer", "runs": 1, "calls": 100}]


def test_over_quota_is_429_with_retry_after_and_the_quota_body() -> None:
    with LiveServer(quota=1) as server:
        assert generate(server, server.api_key)[0].status_code == 200
        answer = call(server, "POST", "/v1/apps/generate", server.api_key,
                      json={"prompt": "one more"})
        error = assert_error(answer, 429, "quota_exceeded")
        assert error["quota"] == 1 and error["used"] == 1
        assert error["resetsAt"].endswith("T00:00:00Z")
        retry_after = int(answer.headers["retry-after"])
        assert 1 <= retry_after <= 86_400
        # The next UTC day has a fresh quota (the clock moves; nothing sleeps).
        server.clock.advance(retry_after + 1)
        assert generate(server, server.api_key)[0].status_code == 200


def test_quota_is_per_workspace(live_server: Any) -> None:
    small = live_server.create_key(quota=1)
    assert generate(live_server, small)[0].status_code == 200
    assert call(live_server, "POST", "/v1/apps/generate", small,
                json={"prompt": "x"}).status_code == 429
    assert generate(live_server, live_server.api_key)[0].status_code == 200
