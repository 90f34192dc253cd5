"""pf_browser.notebook and the models' HTML, under IPython's real display machinery.

An ``InteractiveShell`` is the display machinery a Jupyter kernel uses; its
display publisher is swapped for one that records every message (display and
``update_display``), so the tests see what a notebook front end would get.
With ipywidgets, the HTML widget's values are recorded as they are set.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

pytest.importorskip("IPython")
from IPython.core.displaypub import DisplayPublisher
from IPython.core.interactiveshell import InteractiveShell
from mock_api import READY, RUN, async_client, error, file_event, sse, sync_client

from pf_browser import (
    App,
    AppFile,
    AppPage,
    Deployment,
    EndUserUsage,
    PermissionDeniedError,
    PromptFloe,
    PromptFloeError,
    Session,
    Usage,
)
from pf_browser.notebook import Generation, preview, watch
from pf_browser.transports import Request, Response

EVIL = '<img src=x onerror="alert(1)">'


class Recorder(DisplayPublisher):
    """Every message the shell would send to the front end, in order."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.messages: list[dict[str, Any]] = []

    def publish(self, data: dict[str, Any], metadata: Any = None, source: Any = None, *,
                transient: Any = None, update: bool = False, **kwargs: Any) -> None:
        self.messages.append({"data": data, "transient": transient or {}, "update": update})

    def html(self) -> list[str]:
        return [m["data"].get("text/html", "") for m in self.messages]


@pytest.fixture
def shown() -> Iterator[Recorder]:
    shell = InteractiveShell.instance()
    recorder = Recorder()
    saved, shell.display_pub = shell.display_pub, recorder
    try:
        yield recorder
    finally:
        shell.display_pub = saved


@pytest.fixture
def no_widgets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # import ipywidgets -> ImportError


@pytest.fixture
def widget_values(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Each value the progress widget is given, in order."""
    ipywidgets: Any = pytest.importorskip("ipywidgets")
    values: list[str] = []
    base: Any = ipywidgets.HTML

    class RecordedHTML(base):  # type: ignore[misc]
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.observe(lambda change: values.append(change["new"]), names="value")

    monkeypatch.setattr(ipywidgets, "HTML", RecordedHTML)
    return values


def stream_handler(events: list[tuple[str, Any]]) -> Any:
    def handler(request: Request) -> Response:
        # A resume (GET /v1/runs/{id}/events) finds nothing more.
        body = sse(events) if request.path == "/v1/apps/generate" else b""
        return Response(200, content=body, headers={"content-type": "text/event-stream"})
    return handler


EVENTS = [RUN, file_event(1), file_event(2), file_event(3), READY]


def file_counts(bodies: list[str]) -> list[int]:
    return [int(m.group(1)) for b in bodies for m in [re.search(r'data-pf-files="(\d+)"', b)]
            if m]


def states(bodies: list[str]) -> list[str]:
    return [m.group(1) for b in bodies for m in [re.search(r'data-pf-state="(\w+)"', b)] if m]


def assert_preview(message: dict[str, Any], url: str) -> None:
    frame = message["data"]["text/html"]
    assert "<iframe" in frame and "credentialless" in frame
    assert 'sandbox="allow-scripts allow-forms allow-same-origin"' in frame
    assert f'src="{url}"' in frame


# -- without ipywidgets: IPython.display with update_display --------------------

def test_sync_watch_updates_one_display_then_shows_the_preview(
        shown: Recorder, no_widgets: None) -> None:
    client = sync_client(stream_handler(EVENTS))
    result = watch(client.apps.generate_stream("a bakery"))

    first, *updates, frame = shown.messages
    display_id = first["transient"]["display_id"]
    assert not first["update"]
    assert updates and all(m["update"] and m["transient"]["display_id"] == display_id
                           for m in updates)
    bodies = shown.html()[:-1]
    assert file_counts(bodies) == [0, 0, 1, 2, 3, 3]  # start, run, 3 files, ready
    assert states(bodies)[-1] == "done" and "f3.txt" in bodies[-2]
    assert_preview(frame, "http://api/preview/app_1/")
    assert isinstance(result, Generation)
    assert (result.run_id, result.app_id) == ("run_1", "app_1")
    assert [f.path for f in result.files] == ["f1.txt", "f2.txt", "f3.txt"]
    assert result.preview_url == "http://api/preview/app_1/" and len(result.events) == 5
    assert result.total_bytes == 3


async def test_async_watch_is_awaited_and_gives_the_same_result(
        shown: Recorder, no_widgets: None) -> None:
    client = async_client(stream_handler(EVENTS))
    async with client.apps.generate_stream("a bakery") as stream:  # entered first: fine too
        result = await watch(stream)
    assert file_counts(shown.html()[:-1]) == [0, 0, 1, 2, 3, 3]
    assert_preview(shown.messages[-1], "http://api/preview/app_1/")
    assert [f.path for f in result.files] == ["f1.txt", "f2.txt", "f3.txt"]


def test_a_refused_generation_says_why_in_the_progress_and_raises(
        shown: Recorder, no_widgets: None) -> None:
    client = sync_client(lambda r: error(403, "insufficient_scope", "lacks the 'build' scope"))
    with pytest.raises(PermissionDeniedError):
        watch(client.apps.generate_stream("a bakery"))
    last = shown.html()[-1]
    assert states([last]) == ["error"] and "lacks the &#x27;build&#x27; scope" in last
    assert not any("<iframe" in h for h in shown.html())


def test_a_stream_that_ends_without_ready_says_so_and_shows_no_preview(
        shown: Recorder, no_widgets: None) -> None:
    # The run's stream ends, and so do the resumes: the client gives up in words.
    client = sync_client(stream_handler([RUN, file_event(1)]))
    with pytest.raises(PromptFloeError):
        watch(client.apps.generate_stream("a bakery"))
    assert states(shown.html())[-1] == "error"
    assert not any("<iframe" in h for h in shown.html())


def test_a_preview_url_that_is_not_http_is_refused(shown: Recorder, no_widgets: None) -> None:
    ready = ("ready", {"appId": "app_1", "previewUrl": "javascript:alert(1)"})
    client = sync_client(stream_handler([RUN, ready]))
    with pytest.raises(PromptFloeError, match="not http"):
        watch(client.apps.generate_stream("a bakery"))
    assert not any("<iframe" in h for h in shown.html())


def test_file_names_are_escaped_in_the_progress(shown: Recorder, no_widgets: None) -> None:
    evil = ("file", {"path": EVIL, "size": 1, "content": ""})
    watch(sync_client(stream_handler([RUN, evil, READY])).apps.generate_stream("x"))
    assert all(EVIL not in h for h in shown.html())
    assert any("&lt;img src=x" in h for h in shown.html())


def test_the_preview_src_is_escaped() -> None:
    frame: str = preview('http://api/p/"><script>x</script>')._repr_html_()  # type: ignore[no-untyped-call]
    assert "<script>" not in frame and "&quot;&gt;&lt;script&gt;" in frame


def test_watch_refuses_what_is_not_a_stream() -> None:
    with pytest.raises(TypeError, match="generate_stream"):
        watch([])  # type: ignore[call-overload]


# -- with ipywidgets: one HTML widget whose value follows the events ------------

def test_with_ipywidgets_the_progress_is_a_widget_updated_in_place(
        shown: Recorder, widget_values: list[str]) -> None:
    result = watch(sync_client(stream_handler(EVENTS)).apps.generate_stream("a bakery"))
    widget_view, frame = shown.messages  # the widget once, then the preview
    assert "application/vnd.jupyter.widget-view+json" in widget_view["data"]
    assert file_counts(widget_values) == [0, 0, 1, 2, 3, 3]
    assert states(widget_values)[-1] == "done"
    assert_preview(frame, "http://api/preview/app_1/")
    assert len(result.files) == 3


def test_widgets_true_without_ipywidgets_says_how_to_install_it(
        shown: Recorder, no_widgets: None) -> None:
    client = sync_client(stream_handler(EVENTS))
    with pytest.raises(ImportError, match="pip install ipywidgets"):
        watch(client.apps.generate_stream("a bakery"), widgets=True)


# -- against the real server, httpx transport (CPython Jupyter) -----------------

def test_watch_against_the_local_server(shown: Recorder, live_server: Any,
                                        widget_values: list[str]) -> None:
    with PromptFloe(api_key=live_server.api_key, base_url=live_server.base_url) as client:
        result = watch(client.apps.generate_stream("A landing page for a cheese shop"))
        app = client.apps.get(result.app_id or "")
    assert [f.path for f in result.files] == [f.path for f in app.files]
    counts = file_counts(widget_values)
    assert counts == sorted(counts) and counts[-1] == len(app.files) > 1
    assert_preview(shown.messages[-1], app.preview_url or "")
    assert live_server.fetch_preview(result.preview_url or "").status_code == 200


# -- the models' HTML -------------------------------------------------------------

WHEN = datetime(2026, 11, 28, 19, 30, tzinfo=UTC)


def test_a_session_shows_who_what_and_how_long_but_never_the_token() -> None:
    session = Session(id="sess_1", token="pf_sess_SECRET", end_user_id="ada",
                      scopes=("build", "read"), expires_at=WHEN, expires_in=1800)
    page = session._repr_html_()
    assert "SECRET" not in page and "pf_sess_" not in page
    assert "ada" in page and "build, read" in page and "30 min" in page
    assert "SECRET" not in repr(session)


def test_an_app_and_a_page_of_apps_escape_what_they_show() -> None:
    app = App(id="app_1", end_user_id="ada", prompt=EVIL, status="ready", created_at=WHEN,
              preview_url="http://api/preview/app_1/", deployed_url="javascript:alert(1)",
              files=(AppFile("index.html", 10),))
    for page in (app._repr_html_(), AppPage(data=(app,), next_cursor="c")._repr_html_()):
        assert EVIL not in page and "&lt;img" in page
        assert 'href="javascript:' not in page
    assert 'href="http://api/preview/app_1/"' in app._repr_html_()
    assert "No apps yet" in AppPage(data=(), next_cursor=None)._repr_html_()


def test_a_deployment_links_its_url() -> None:
    page = Deployment(app_id="app_1", url="http://api/sites/app_1/",
                      deployed_at=WHEN)._repr_html_()
    assert 'href="http://api/sites/app_1/"' in page


def test_usage_is_a_small_table_per_end_user() -> None:
    usage = Usage(date="2026-11-28", quota=100, used=3,
                  by_end_user=(EndUserUsage("ada", 2, 5), EndUserUsage(EVIL, 1, 1)))
    page = usage._repr_html_()
    assert "3 of 100" in page
    assert re.search(r"<code>ada</code></td><td[^>]*>2</td><td[^>]*>5</td>", page)
    assert EVIL not in page


# -- import cost ----------------------------------------------------------------------

def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)


def test_import_pf_browser_imports_no_notebook_machinery() -> None:
    done = run_python(
        "import sys, pf_browser\n"
        "heavy = {'IPython', 'ipywidgets', 'pf_browser.notebook', 'pf_browser._html', 'html'}\n"
        "print(sorted(heavy & set(sys.modules)))")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_notebook_module_without_ipython_says_what_to_do() -> None:
    done = run_python("import sys; sys.modules['IPython'] = None\n"
                      "import pf_browser.notebook")
    assert done.returncode != 0
    assert "pf_browser.notebook needs IPython" in done.stderr
