"""Fixtures shared by the test suites: a real local PromptFloe server.

``live_server`` is one :class:`pf_server.testing.LiveServer` per module (pace
zero, a generous quota); ``fresh_server`` is a new one per test, for tests
that count usage or move the clock. Both run uvicorn on an ephemeral
127.0.0.1 port; ``server.api_key`` is a secret key with every scope. See
``pf_server.testing`` for the levers (clock, keys, origins, dropped streams).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


def _live_server(**kwargs: Any) -> Any:
    testing = pytest.importorskip("pf_server.testing")  # needs the `server` extra
    return testing.LiveServer(**kwargs)


@pytest.fixture(scope="module")
def live_server() -> Iterator[Any]:
    with _live_server(pace=0.0, quota=100_000) as server:
        yield server


@pytest.fixture
def fresh_server() -> Iterator[Any]:
    with _live_server(pace=0.0, quota=1000) as server:
        yield server

