"""CORS per workspace: preflights, actual answers, errors included (WHATWG Fetch)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from helpers import call, session

from pf_server.testing import LiveServer

APP = "http://app.example.test:5173"
OTHER = "http://other.example.test"


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    with LiveServer(allowed_origins=[APP]) as live:
        yield live


def preflight(server: Any, origin: str, headers: str = "authorization, content-type"
              ) -> httpx.Response:
    return httpx.options(server.base_url + "/v1/apps/generate", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": headers})


def test_a_preflight_from_an_allowed_origin_allows_the_contracts_headers(server: Any) -> None:
    answer = preflight(server, APP, "authorization, content-type, last-event-id, idempotency-key")
    assert answer.status_code == 204
    assert answer.headers["access-control-allow-origin"] == APP
    allowed = {h.strip().lower() for h in answer.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "last-event-id", "idempotency-key"} <= allowed
    assert "POST" in answer.headers["access-control-allow-methods"]
    assert "Origin" in answer.headers["vary"]


def test_a_preflight_from_another_origin_is_refused(server: Any) -> None:
    answer = preflight(server, OTHER)
    assert answer.status_code == 403
    assert "access-control-allow-origin" not in answer.headers
    assert answer.json()["error"]["code"] == "origin_not_allowed"


def test_an_answer_to_an_allowed_origin_exposes_the_contracts_headers(server: Any) -> None:
    with httpx.stream("POST", server.base_url + "/v1/apps/generate",
                      json={"prompt": "a bakery"},
                      headers={"Origin": APP, "Authorization": f"Bearer {server.api_key}"}
                      ) as answer:
        answer.read()
    assert answer.headers["access-control-allow-origin"] == APP
    exposed = {h.strip() for h in answer.headers["access-control-expose-headers"].split(",")}
    assert {"PromptFloe-Run-Id", "PromptFloe-Request-Id", "Retry-After",
            "WWW-Authenticate"} <= exposed


@pytest.mark.parametrize(("credential", "status"), [(None, 401), ("session-read", 403)])
def test_errors_carry_cors_so_the_page_can_read_them(server: Any, credential: str | None,
                                                     status: int) -> None:
    token = session(server, scopes=["read"])["token"] if credential else None
    answer = call(server, "POST", "/v1/apps/generate", token, json={"prompt": "x"},
                  headers={"Origin": APP})
    assert answer.status_code == status
    assert answer.headers["access-control-allow-origin"] == APP


def test_an_answer_to_another_origin_has_no_allow_origin(server: Any) -> None:
    answer = call(server, "GET", "/v1/apps", server.api_key, headers={"Origin": OTHER})
    assert answer.status_code == 200  # the server answers; the browser hides it from OTHER
    assert "access-control-allow-origin" not in answer.headers


def test_origins_are_per_workspace(server: Any) -> None:
    other_key = server.create_key(origins=[OTHER])  # a workspace allowing only OTHER
    assert preflight(server, OTHER).status_code == 204  # some workspace allows it
    mine = call(server, "GET", "/v1/apps", server.api_key, headers={"Origin": OTHER})
    assert "access-control-allow-origin" not in mine.headers
    theirs = call(server, "GET", "/v1/apps", other_key, headers={"Origin": OTHER})
    assert theirs.headers["access-control-allow-origin"] == OTHER
    theirs_from_app = call(server, "GET", "/v1/apps", other_key, headers={"Origin": APP})
    assert "access-control-allow-origin" not in theirs_from_app.headers


def test_set_allowed_origins_takes_effect_at_once() -> None:
    with LiveServer() as live:
        assert preflight(live, APP).status_code == 403
        live.set_allowed_origins([APP])
        assert preflight(live, APP).status_code == 204


def test_every_answer_may_be_embedded_by_an_isolated_page(server: Any) -> None:
    for path in ("/v1/apps", "/nothing", "/openapi.json"):
        answer = call(server, "GET", path, server.api_key)
        assert answer.headers["cross-origin-resource-policy"] == "cross-origin"
