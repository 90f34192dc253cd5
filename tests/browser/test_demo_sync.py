"""The "Sync · main thread" page (``sync.html``) end to end, in every engine.

The page runs the sync client (``PromptFloe``, ``for event in stream``) on
the main thread, with no worker and no cross-origin isolation: it waits on
the network through JSPI. Chromium and Firefox have JSPI, and the page
streams there; WebKit has none, and the page must say so in words (and what
to use instead) rather than never getting ready. The servers and the ways of
driving a page are test_demo's.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from _drivers import Browser, Page
from test_demo import (
    BOOT_TIMEOUT,
    BUILDER,
    Demo,
    cancel_mid_stream,
    checked,
    demo_page,
    demo_servers,
    generates_then_previews,
    one_refresh_after_a_revoke,
    status_text,
    tid,
)

PAGE = "/sync.html"


@pytest.fixture(scope="module")
def demo(site_dir: Path) -> Iterator[Demo]:
    with demo_servers(site_dir) as servers:
        yield servers


# The engines with JSPI, and those without: the engine fixture (conftest),
# given each test's engines here rather than all three.
with_jspi = pytest.mark.parametrize("engine", ["chromium", "firefox"], indirect=True)
without_jspi = pytest.mark.parametrize("engine", ["webkit"], indirect=True)


@with_jspi
class TestSyncBuilder:
    """Signed in with the build scope: one page per engine, several runs in it."""

    @pytest.fixture(scope="class")
    @staticmethod
    def shared(engine: Browser, demo: Demo) -> Iterator[Page]:
        with demo_page(engine, demo.origin, PAGE, user=BUILDER) as page:
            yield page

    @pytest.fixture
    def page(self, shared: Page) -> Iterator[Page]:
        yield from checked(shared)

    def test_sync_page_lists_every_file_then_previews_without_isolation(
            self, page: Page, demo: Demo) -> None:
        assert page.evaluate("crossOriginIsolated") is False
        generates_then_previews(page, demo)

    def test_sync_page_revoked_session_is_replaced_by_exactly_one_refresh(
            self, page: Page, demo: Demo) -> None:
        one_refresh_after_a_revoke(page, demo)

    def test_sync_page_cancel_mid_stream_aborts_the_fetch_and_the_server_sees_it(
            self, page: Page, demo: Demo) -> None:
        # While Python waits for the next event the page is free: Cancel's
        # handler closes the stream, which aborts its fetch.
        cancel_mid_stream(page, demo)


@without_jspi
def test_without_jspi_the_page_says_in_words_what_to_use(engine: Browser, demo: Demo) -> None:
    with engine.page() as page:
        page.goto(demo.origin + PAGE)
        # Python boots, then the page ends in an error state, never "ready".
        page.wait_for(f"document.querySelector('{tid('status')}')?.dataset.state === 'error'",
                      timeout=BOOT_TIMEOUT, what="the page's error in words")
        words = status_text(page)
        assert "cannot stream" in words and "JSPI" in words, words
        assert "AsyncPromptFloe" in words and "worker" in words, words
        assert page.evaluate(f"document.querySelector('{tid('generate')}').disabled") is True
        # From the other pages' snapshot (made without JSPI), not a plain boot:
        # the words come in seconds, not the half minute a plain boot takes.
        assert page.evaluate("globalThis.pfPythonBoot ?? null") == "snapshot"
        assert not page.strays(), page.strays()
