"""Fixtures shared by the test suites: a real local PromptFloe server.

``live_server`` is one :class:`pf_server.testing.LiveServer` per module (pace
zero, a generous quota); ``fresh_server`` is a new one per test, for tests
that count usage or move the clock. Both run uvicorn on an ephemeral
127.0.0.1 port; ``server.api_key`` is a secret key with every scope. See
``pf_server.testing`` for the levers (clock, keys, origins, dropped streams).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

#: Set by ``build.py test`` (what CI runs): a skipped test fails the run, so a
#: suite that skips itself for a missing dependency (a package, Chromium)
#: cannot pass unnoticed.
FORBID_SKIPS = "PF_FORBID_SKIPS"


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not os.environ.get(FORBID_SKIPS):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if not skipped:
        return
    lines = [f"  {report.nodeid or report.fspath}: {_reason(report)}" for report in skipped]
    if reporter is not None:
        reporter.ensure_newline()
        reporter.write_line(
            f"{len(skipped)} skipped, and {FORBID_SKIPS} is set (build.py test): a skip "
            "here means a suite did not run. Install what it needs:", red=True, bold=True)
        for line in lines:
            reporter.write_line(line, red=True)
    if session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _reason(report: Any) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    return str(longrepr)


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

