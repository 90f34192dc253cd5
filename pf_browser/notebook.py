"""Watch a generation in a notebook: live progress, then the app itself.

Works in any Jupyter: JupyterLite (Pyodide kernel) and classic Jupyter or
JupyterLab on CPython. ::

    from pf_browser.notebook import watch

    result = await watch(client.apps.generate_stream("a landing page for a bakery"))
    result.preview_url, [f.path for f in result.files]

:func:`watch` shows the files as they arrive (how many so far, their bytes,
the latest one), then the preview of the generated app in an ``IFrame``, and
returns a :class:`Generation` with every event. Give it an ``AsyncStream``
(from ``AsyncPromptFloe``) and ``await`` it, or a sync ``Stream`` (from
``PromptFloe``) and call it plainly. A stream already entered with
``async with``/``with`` is fine too; either way it is closed at the end.

The progress is an ipywidgets ``HTML`` widget when ipywidgets is importable,
otherwise an ``IPython.display`` output updated in place (``update_display``).
If the stream fails, the progress says why in words and the exception is
raised. IPython is needed (it is in every Jupyter kernel); it is imported only
when this module is, and ``import pf_browser`` never imports this module.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any, Protocol, overload
from urllib.parse import urlsplit

from ._events import Event, FileEvent, ReadyEvent, RunEvent
from ._exceptions import PromptFloeError
from ._streaming import AsyncStream, Stream

try:
    from IPython.core.display import HTML
    from IPython.display import IFrame, display
except ImportError as exc:  # pragma: no cover - exercised by a subprocess test
    raise ImportError(
        "pf_browser.notebook needs IPython, which every Jupyter kernel has: "
        "run it in a notebook, or `pip install ipython`.") from exc

__all__ = ["PREVIEW_SANDBOX", "Generation", "preview", "watch"]

#: The preview iframe's ``sandbox``: the generated app may run its scripts and
#: forms, never with the notebook page's authority. Same-origin is the app's own
#: origin (the API serves each app on one of its own), so it gets its own
#: storage and nothing else.
PREVIEW_SANDBOX = "allow-scripts allow-forms allow-same-origin"
PREVIEW_HEIGHT = 420
MAX_LISTED = 40  # files listed in the progress (the count covers them all)


@dataclass(frozen=True)
class Generation:
    """What a watched generation produced: the run, its files, where to preview it.

    ``events`` holds every event in order; ``files`` the ``file`` events.
    ``preview_url`` is ``None`` if the stream ended without a ``ready`` event.
    """

    run_id: str | None = None
    app_id: str | None = None
    files: tuple[FileEvent, ...] = ()
    preview_url: str | None = None
    events: tuple[Event, ...] = field(default=(), repr=False)

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)


class _View(Protocol):
    def show(self, body: str) -> None: ...
    def update(self, body: str) -> None: ...


class _WidgetView:
    """An ipywidgets ``HTML`` widget, its value replaced as events arrive."""

    def __init__(self, widgets: Any) -> None:
        self.widget = widgets.HTML()

    def show(self, body: str) -> None:
        self.widget.value = body
        display(self.widget)

    def update(self, body: str) -> None:
        self.widget.value = body


class _DisplayView:
    """An ``IPython.display`` output, replaced in place through its display id."""

    def __init__(self) -> None:
        self.handle: Any = None

    def show(self, body: str) -> None:
        self.handle = display(HTML(body), display_id=True)

    def update(self, body: str) -> None:
        self.handle.update(HTML(body))


def _new_view(widgets: bool | None) -> _View:
    if widgets is False:
        return _DisplayView()
    try:
        import ipywidgets
    except ImportError:
        if widgets:
            raise ImportError("watch(widgets=True) needs ipywidgets: "
                              "`%pip install ipywidgets`") from None
        return _DisplayView()
    return _WidgetView(ipywidgets)


class _Progress:
    """The events so far, and the progress view drawn from them."""

    def __init__(self, view: _View) -> None:
        self.view = view
        self.events: list[Event] = []
        self.files: list[FileEvent] = []
        self.run_id: str | None = None
        self.app_id: str | None = None
        self.preview_url: str | None = None
        self.view.show(self.render("waiting", "Starting the generation…"))

    def add(self, event: Event) -> None:
        self.events.append(event)
        if isinstance(event, RunEvent):
            self.run_id, self.app_id = event.run_id, event.app_id
            self.view.update(self.render("running", "Generating…"))
        elif isinstance(event, FileEvent):
            self.files.append(event)
            self.view.update(self.render("running", "Generating…"))
        elif isinstance(event, ReadyEvent):
            self.app_id = event.app_id
            self.preview_url = _checked(event.preview_url)
            self.view.update(self.render("done", "Ready."))

    def failed(self, message: str) -> None:
        self.view.update(self.render("error", message))

    def ended_early(self) -> None:
        self.view.update(self.render("error", "The stream ended before the app was ready."))

    def result(self) -> Generation:
        return Generation(self.run_id, self.app_id, tuple(self.files), self.preview_url,
                          tuple(self.events))

    def render(self, state: str, message: str) -> str:
        count = len(self.files)
        size = sum(f.size for f in self.files)
        latest = self.files[-1].path if self.files else None
        colour = {"error": "#b00020", "done": "#1b5e20"}.get(state, "inherit")
        head = (f'<b style="color:{colour}">{html.escape(message)}</b> '
                f'<span data-pf-files="{count}">{count} file{"s" if count != 1 else ""}, '
                f'{_size(size)}</span>')
        if latest is not None and state == "running":
            head += f" &middot; latest: <code>{html.escape(latest)}</code>"
        if self.app_id:
            head += f' &middot; app <code>{html.escape(self.app_id)}</code>'
        # The latest files only: a redraw per event stays small in a big run.
        shown = self.files[-MAX_LISTED:]
        rows = "".join(f"<li><code>{html.escape(f.path)}</code> ({_size(f.size)})</li>"
                       for f in shown)
        start = count - len(shown) + 1
        files = (f'<ol start="{start}" style="margin:0.3em 0 0 0;columns:2">{rows}</ol>'
                 if rows else "")
        return (f'<div class="pf-progress" data-pf-state="{state}" '
                f'style="font-family:sans-serif;font-size:90%">{head}{files}</div>')


def _size(n: int) -> str:
    return f"{n} bytes" if n < 1000 else f"{n / 1000:.1f} kB"


def _checked(url: str) -> str:
    """The preview URL, which the API sends absolute: http(s) only, nothing else
    (a ``javascript:`` URL in an iframe would run in the notebook's page)."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise PromptFloeError(f"The API sent a preview URL that is not http(s): {url!r}")
    return url


class PreviewFrame(IFrame):
    """IPython's ``IFrame``, rendered with ``src`` escaped exactly once.

    IPython 9 escapes ``src`` itself and IPython 8 pastes it in as is, so
    neither escaping it beforehand nor leaving it works on both: the tag is
    written here, the same in every kernel.
    """

    def _repr_html_(self) -> str:
        extras = " ".join(self.extras)
        return (f'<iframe width="{html.escape(str(self.width))}" '
                f'height="{html.escape(str(self.height))}" '
                f'src="{html.escape(str(self.src), quote=True)}" frameborder="0" '
                f'allowfullscreen referrerpolicy="strict-origin-when-cross-origin" '
                f"{extras}></iframe>")


def preview(url: str, *, height: int = PREVIEW_HEIGHT) -> IFrame:
    """An ``IFrame`` of a generated app that loads whether or not the notebook
    page is cross-origin isolated (``credentialless``), sandboxed."""
    return PreviewFrame(url, width="100%", height=height,
                        extras=["credentialless", f'sandbox="{PREVIEW_SANDBOX}"',
                                'title="Preview of the generated app"'])


@overload
def watch(stream: AsyncStream, *, widgets: bool | None = None,
          height: int = PREVIEW_HEIGHT) -> _AsyncWatch: ...
@overload
def watch(stream: Stream, *, widgets: bool | None = None,
          height: int = PREVIEW_HEIGHT) -> Generation: ...
def watch(stream: AsyncStream | Stream, *, widgets: bool | None = None,
          height: int = PREVIEW_HEIGHT) -> _AsyncWatch | Generation:
    """Show a generation's progress live, then its preview; return what it produced.

    ``await watch(async_stream)`` or ``watch(sync_stream)``. ``widgets``:
    ``None`` uses ipywidgets when importable, ``False`` never, ``True``
    requires it. ``height`` is the preview's, in pixels. Errors raise as
    they would from the stream, after the progress shows them in words.
    """
    if isinstance(stream, AsyncStream):
        return _AsyncWatch(stream, widgets, height)
    if isinstance(stream, Stream):
        return _watch_sync(stream, widgets, height)
    raise TypeError("watch() takes the stream from client.apps.generate_stream(...), "
                    f"not {type(stream).__name__}")


def _watch_sync(stream: Stream, widgets: bool | None, height: int) -> Generation:
    progress = _Progress(_new_view(widgets))
    try:
        with stream:
            for event in stream:
                progress.add(event)
    except PromptFloeError as exc:
        progress.failed(str(exc))
        raise
    except BaseException:
        progress.failed("Stopped.")
        raise
    return _finish(progress, height)


class _AsyncWatch:
    """``await`` it: the async side of :func:`watch`."""

    def __init__(self, stream: AsyncStream, widgets: bool | None, height: int) -> None:
        self._stream = stream
        self._widgets = widgets
        self._height = height

    def __await__(self) -> Any:
        return self._run().__await__()

    async def _run(self) -> Generation:
        stream = self._stream
        progress = _Progress(_new_view(self._widgets))
        try:
            async with stream:
                async for event in stream:
                    progress.add(event)
        except PromptFloeError as exc:
            progress.failed(str(exc))
            raise
        except BaseException:  # cancelled, interrupted
            progress.failed("Stopped.")
            raise
        return _finish(progress, self._height)


def _finish(progress: _Progress, height: int) -> Generation:
    if progress.preview_url is None:
        progress.ended_early()
    else:
        display(preview(progress.preview_url, height=height))
    return progress.result()
