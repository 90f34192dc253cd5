"""HTML for the models a notebook shows (their ``_repr_html_``).

Imported only when a notebook asks for a model's HTML, so ``import
pf_browser`` does not pay for it. Every value is escaped; links are made only
of http(s) URLs. A session's token is never shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from html import escape
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from ._models import App, AppPage, AsyncAppPage, Deployment, Session, Usage

_TABLE = 'style="border-collapse:collapse;font-size:90%"'
_CELL = 'style="text-align:left;padding:2px 10px 2px 0;vertical-align:top"'


def _text(value: object) -> str:
    if value is None:
        return "&mdash;"
    if isinstance(value, datetime):
        return escape(value.strftime("%Y-%m-%d %H:%M:%S %Z").strip())
    return escape(str(value))


def _link(url: str | None) -> str:
    if not url:
        return "&mdash;"
    if urlsplit(url).scheme not in ("http", "https"):
        return _text(url)
    return (f'<a href="{escape(url, quote=True)}" target="_blank" rel="noopener">'
            f"{escape(url)}</a>")


def _fields(title: str, rows: Iterable[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th {_CELL}>{escape(k)}</th><td {_CELL}>{v}</td></tr>"
                   for k, v in rows)
    return f"<div><b>{escape(title)}</b><table {_TABLE}>{body}</table></div>"


def _table(head: Sequence[str], rows: Iterable[Sequence[str]], empty: str) -> str:
    cells = ["<tr>" + "".join(f"<td {_CELL}>{c}</td>" for c in row) + "</tr>" for row in rows]
    if not cells:
        return f"<i>{escape(empty)}</i>"
    header = "<tr>" + "".join(f"<th {_CELL}>{escape(h)}</th>" for h in head) + "</tr>"
    return f"<table {_TABLE}>{header}{''.join(cells)}</table>"


def app_html(app: App) -> str:
    files = ", ".join(f"<code>{escape(f.path)}</code>" for f in app.files) or "&mdash;"
    return _fields(f"App {app.id}", [
        ("prompt", _text(app.prompt)),
        ("status", _text(app.status)),
        ("end user", _text(app.end_user_id)),
        ("created", _text(app.created_at)),
        ("files", files),
        ("preview", _link(app.preview_url)),
        ("deployed", _link(app.deployed_url)),
    ])


def app_page_html(page: AppPage | AsyncAppPage) -> str:
    rows = [(f"<code>{escape(a.id)}</code>", _text(a.prompt), _text(a.status),
             _text(a.created_at), str(len(a.files)), _link(a.deployed_url))
            for a in page.data]
    more = ("<div><i>More apps on later pages: iterate this page to get them all, "
            "or call <code>next_page()</code>.</i></div>" if page.next_cursor else "")
    return _table(("app", "prompt", "status", "created", "files", "deployed"), rows,
                  "No apps yet.") + more


def deployment_html(deployment: Deployment) -> str:
    return _fields(f"Deployment of {deployment.app_id}", [
        ("url", _link(deployment.url)),
        ("deployed", _text(deployment.deployed_at)),
    ])


def session_html(session: Session) -> str:
    # Never the token: what it is for and how long it lasts is what a reader needs.
    return _fields(f"Session {session.id}", [
        ("end user", _text(session.end_user_id)),
        ("scopes", _text(", ".join(session.scopes) or "none")),
        ("expires", _text(session.expires_at)),
        ("valid for", _text(f"{session.expires_in // 60} min {session.expires_in % 60} s")),
        ("token", "<i>hidden</i>"),
    ])


def usage_html(usage: Usage) -> str:
    rows = [(f"<code>{escape(u.end_user_id)}</code>", str(u.runs), str(u.calls))
            for u in usage.by_end_user]
    head = (f"<div><b>Usage on {escape(usage.date)}</b>: {usage.used} of {usage.quota} "
            "runs</div>")
    return head + _table(("end user", "runs", "calls"), rows, "No calls by end users.")
