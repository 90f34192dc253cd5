"""Turning templates into answers: Jinja2 (autoescaped), the page's security headers,
and the small formatters the templates use.

Every dashboard answer forbids framing and inline script, keeps forms on this
origin, and is never cached (it shows a workspace's usage); the stylesheet is
the one file it loads.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse

__all__ = ["SECURITY_HEADERS", "clock_time", "duration", "first_words", "page"]

HERE = Path(__file__).parent

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",  # a page that opens it gets no handle on it
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # "no-referrer" would make form posts send Origin: null
    "Cache-Control": "no-store",
}


def clock_time(ts: float) -> str:
    """``2026-11-29 14:03:07 UTC``: the day too, since runs and sessions span days."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "running…"
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes} min {secs:02d} s"


def until(seconds: float) -> str:
    """A wait, in words: ``9 h 32 min``, ``4 min``."""
    minutes = max(0, int(seconds // 60))
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def first_words(text: str, words: int = 8, chars: int = 60) -> str:
    cut = " ".join(text.split()[:words])
    if len(cut) > chars:
        cut = cut[:chars].rstrip()
    return cut if cut == " ".join(text.split()) else cut + "…"


_env = Environment(loader=FileSystemLoader(HERE / "templates"),
                   autoescape=select_autoescape(default=True), undefined=StrictUndefined,
                   trim_blocks=True, lstrip_blocks=True)
_env.filters.update(clock_time=clock_time, duration=duration, first_words=first_words,
                    until=until)


def page(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = _env.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def stylesheet() -> bytes:
    return (HERE / "static" / "dashboard.css").read_bytes()
