"""The "Sync · main thread" demo page end to end, in a real headless browser.

``sync.html`` runs the sync client (``PromptFloe``, ``for event in stream``)
on the page's main thread, with no worker and no cross-origin isolation: it
waits on the network through JSPI. The servers are the same as for the other
demo pages (``test_demo.py``): the real PromptFloe API and the demo app server
that mints session tokens, on two loopback origins.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from test_demo import (
    BUILDER,
    PROMPT,
    RUN_TIMEOUT_MS,
    Demo,
    demo_servers,
    generate,
    listed_files,
    open_demo,
    preview_app_id,
)

PAGE = "/sync.html"


@pytest.fixture(scope="module")
def sync_demo(site_dir: Path) -> Iterator[Demo]:
    with demo_servers(site_dir, pace=0.0) as servers:
        yield servers


@pytest.fixture(scope="module")
def paced_sync_demo(site_dir: Path) -> Iterator[Demo]:
    """A server that takes its time between files, so a run can be cancelled mid-way."""
    with demo_servers(site_dir, pace=1.0) as servers:
        yield servers


def test_sync_page_generates_end_to_end_without_isolation(page: Page, sync_demo: Demo) -> None:
    open_demo(page, sync_demo.origin, PAGE, user=BUILDER)
    assert page.evaluate("crossOriginIsolated") is False
    generate(page)
    files = listed_files(page)
    assert {"index.html", "styles.css", "app.js"} <= set(files)
    app = sync_demo.api_call("GET", f"/v1/apps/{preview_app_id(page)}").json()
    assert app["endUserId"] == BUILDER.id
    assert files == [f["path"] for f in app["files"]]
    body = page.frame_locator("[data-testid=preview]").locator("body")
    expect(body).to_contain_text("bakery", ignore_case=True, timeout=RUN_TIMEOUT_MS)


def test_sync_page_links_the_other_demo_modes_and_they_link_it(page: Page,
                                                               sync_demo: Demo) -> None:
    for path in ("/", PAGE, "/worker.html"):
        page.goto(sync_demo.origin + path)
        links = page.locator("nav.modes a").evaluate_all(
            "links => links.map(a => [a.getAttribute('href'), a.textContent])")
        assert ["./sync.html", "Sync · main thread"] in links
        assert len(links) == 3


def test_sync_page_revoked_session_is_replaced_by_exactly_one_refresh(
        page: Page, sync_demo: Demo) -> None:
    open_demo(page, sync_demo.origin, PAGE, user=BUILDER)
    before = sync_demo.mints(BUILDER)
    generate(page)
    assert sync_demo.mints(BUILDER) == before + 1  # the first token, fetched on first use
    revoked = sync_demo.api_call("POST", "/v1/sessions/revoke",
                                 json={"endUserId": BUILDER.id})
    assert revoked.status_code < 300, revoked.text
    generate(page, "A to-do list for a climbing club")
    assert sync_demo.mints(BUILDER) == before + 2  # exactly one refresh after the revoke
    expect(page.get_by_test_id("preview")).to_be_visible(timeout=RUN_TIMEOUT_MS)


def test_sync_page_signed_out_says_sign_in(page: Page, sync_demo: Demo) -> None:
    open_demo(page, sync_demo.origin, PAGE)
    generate(page, until="error")
    expect(page.get_by_test_id("status")).to_contain_text("signed out", timeout=RUN_TIMEOUT_MS)
    assert listed_files(page) == []


def test_sync_page_cancel_mid_stream_aborts_the_fetch_and_the_server_sees_it(
        page: Page, paced_sync_demo: Demo) -> None:
    # While Python waits for the next event, the page is free: Cancel's
    # handler closes the stream, which aborts its fetch.
    open_demo(page, paced_sync_demo.origin, PAGE, user=BUILDER)
    page.get_by_test_id("prompt").fill(PROMPT)
    page.get_by_test_id("generate").click()
    expect(page.locator("[data-testid=files] li")).to_have_count(1, timeout=RUN_TIMEOUT_MS)
    run_id = page.get_by_test_id("status").get_attribute("data-run-id")
    assert run_id
    page.get_by_test_id("cancel").click()
    expect(page.get_by_test_id("status")).to_have_attribute("data-state", "cancelled",
                                                            timeout=RUN_TIMEOUT_MS)
    assert paced_sync_demo.api.wait_for_disconnect(run_id), "the server never saw it"
    expect(page.get_by_test_id("preview")).to_be_hidden(timeout=RUN_TIMEOUT_MS)
    expect(page.get_by_test_id("generate")).to_be_enabled(timeout=RUN_TIMEOUT_MS)
