"""Small helpers for the server tests: calls with a credential, and reading event streams."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx

from pf_browser.sse import SSEDecoder


def bearer(credential: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {credential}"}


def call(server: Any, method: str, path: str, credential: str | None = None,
         **kwargs: Any) -> httpx.Response:
    headers = dict(kwargs.pop("headers", {}))
    if credential is not None:
        headers.update(bearer(credential))
    return httpx.request(method, server.base_url + path, headers=headers, timeout=30, **kwargs)


def session(server: Any, end_user_id: str = "user_1", **body: Any) -> dict[str, Any]:
    """A session minted with the server's secret key; the answer's JSON."""
    answer = call(server, "POST", "/v1/sessions", server.api_key,
                  json={"endUserId": end_user_id, **body})
    assert answer.status_code == 201, answer.text
    result: dict[str, Any] = answer.json()
    return result


def events(body: bytes) -> list[tuple[str | None, str, dict[str, Any]]]:
    """(id, type, data) of each event in an event-stream body, with our own decoder."""
    return [(e.id, e.event, json.loads(e.data)) for e in SSEDecoder().feed(body)]


def generate(server: Any, credential: str, prompt: str = "A landing page for a bakery",
             ) -> tuple[httpx.Response, list[tuple[str | None, str, dict[str, Any]]]]:
    """POST /v1/apps/generate and read the whole stream."""
    with httpx.stream("POST", server.base_url + "/v1/apps/generate", json={"prompt": prompt},
                      headers=bearer(credential), timeout=30) as answer:
        body = answer.read()
    return answer, (events(body) if answer.status_code == 200 else [])


class LogLines(logging.Handler):
    """Every record it is given, formatted, tracebacks included: to look for secrets in."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))
        if record.exc_info:
            self.lines.append(logging.Formatter().formatException(record.exc_info))
