"""Helpers for the dashboard's tests: signing in over HTTP, and reading its pages."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx

FORM_TOKEN = re.compile(r'name="csrf" value="([0-9a-f]{64})"')


def client(server: Any) -> httpx.Client:
    return httpx.Client(base_url=server.base_url, timeout=30)


def form_token(page: httpx.Response) -> str:
    found = FORM_TOKEN.search(page.text)
    assert found, page.text[:2000]
    return found.group(1)


def sign_in(server: Any, key: str | None = None) -> tuple[httpx.Client, httpx.Response]:
    """A client holding a dashboard session (its cookie jar), and the sign-in answer."""
    browser = client(server)
    token = form_token(browser.get("/dashboard"))
    secret = server.api_key if key is None else key
    answer = browser.post("/dashboard/sign-in", data={"csrf": token, "key": secret})
    return browser, answer


def signed_in(server: Any) -> httpx.Client:
    browser, answer = sign_in(server)
    assert answer.status_code == 303, answer.text
    return browser


def table(page: str, testid: str) -> str:
    start = page.index(f'data-testid="{testid}"')
    return page[start:page.index("</table>", start)]


def usage_rows(page: str) -> list[dict[str, Any]]:
    """The page's "end users on <day>" table, in GET /v1/usage's shape."""
    rows = re.findall(r'<tr data-end-user="([^"]*)">.*?data-testid="runs">(\d+)</td>'
                      r'<td class="num" data-testid="calls">(\d+)</td>',
                      table(page, "by-end-user"), re.S)
    return [{"endUserId": html.unescape(u), "runs": int(r), "calls": int(c)}
            for u, r, c in rows]


def live_users(page: str) -> list[str]:
    return [html.unescape(u) for u in
            re.findall(r'<tr data-end-user="([^"]*)">', table(page, "live-sessions"))]


def message(page: httpx.Response) -> str:
    found = re.search(r'data-testid="error">(.*?)</p>', page.text, re.S)
    assert found, page.text[:2000]
    return html.unescape(found.group(1))
