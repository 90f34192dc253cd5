"""What the demo page says, checked in CPython: each error in a person's words.

The page's Python (static/py/) is plain Python over a DOM-like object, so
its wording and formatting are tested here without a browser; the Chromium
tests (test_demo.py) check that the page shows them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "static" / "py"))

from demo_errors import NETWORK_DOWN, PROMPTFLOE_UNREACHABLE, SIGNED_OUT, describe
from demo_ui import file_summary, human_bytes

from pf_browser import (
    APIConnectionError,
    AuthenticationError,
    InvalidRequestError,
    PermissionDeniedError,
    QuotaExceededError,
    RateLimitError,
    RefreshError,
    ServerError,
    StreamError,
)


def refresh_error_caused_by(cause: BaseException) -> RefreshError:
    try:
        raise RefreshError("the session endpoint failed") from cause
    except RefreshError as exc:
        return exc


def test_over_quota_says_how_many_and_when_it_resets() -> None:
    exc = QuotaExceededError("quota", status_code=429, code="quota_exceeded", quota=100,
                             used=100, resets_at="2026-11-30T00:00:00Z", retry_after=3600)
    assert describe(exc) == ("Today's quota is used up (100 of 100 apps). "
                             "You can generate again after 00:00 UTC.")


def test_rate_limit_is_not_called_a_quota() -> None:
    exc = RateLimitError("slow down", status_code=429, code="rate_limited")
    assert "quota" not in describe(exc)


def test_missing_scope_names_the_permission() -> None:
    exc = PermissionDeniedError("no", status_code=403, code="insufficient_scope")
    assert "“build” permission" in describe(exc)


@pytest.mark.parametrize("status", [401, 403])
def test_session_endpoint_refusing_means_signed_out(status: int) -> None:
    cause = AuthenticationError("signed out", status_code=status, code="signed_out")
    assert describe(refresh_error_caused_by(cause)) == SIGNED_OUT


def test_unreachable_app_server_means_network_down() -> None:
    assert describe(refresh_error_caused_by(APIConnectionError())) == NETWORK_DOWN


def test_app_server_that_cannot_reach_promptfloe_says_so_in_words() -> None:
    cause = ServerError("PromptFloe can't be reached right now.", status_code=503,
                        code="promptfloe_unreachable")
    assert describe(refresh_error_caused_by(cause)) == PROMPTFLOE_UNREACHABLE
    assert PROMPTFLOE_UNREACHABLE.startswith("PromptFloe can't be reached right now")


def test_other_session_endpoint_failures_are_not_called_unreachable() -> None:
    cause = ServerError("bad gateway", status_code=502, code="session_unavailable")
    assert describe(refresh_error_caused_by(cause)) != PROMPTFLOE_UNREACHABLE


def test_unreachable_api_means_network_down() -> None:
    assert describe(APIConnectionError()) == NETWORK_DOWN


def test_too_long_prompt_gives_the_limit() -> None:
    exc = InvalidRequestError("too long", status_code=413, code="prompt_too_long")
    assert "8,000 characters" in describe(exc)


def test_stream_error_carries_the_servers_reason() -> None:
    assert "model overloaded" in describe(StreamError("model overloaded", code="overloaded"))


@pytest.mark.parametrize(("size", "words"), [
    (0, "0 B"), (999, "999 B"), (1000, "1.0 KB"), (1834, "1.8 KB"), (2_500_000, "2.5 MB"),
])
def test_sizes_read_like_a_file_manager(size: int, words: str) -> None:
    assert human_bytes(size) == words


def test_file_summary_counts_in_words() -> None:
    assert file_summary(1, 1834) == "1 file · 1.8 KB"
    assert file_summary(3, 4200) == "3 files · 4.2 KB"
