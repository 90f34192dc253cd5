"""The demo app server (pf_demo) over HTTP, without a browser.

It holds the workspace's secret key and hands the page session tokens only:
these tests pin who gets one, what it looks like, and which page is
cross-origin isolated. The PromptFloe API is pf_server's LiveServer and the
app server runs under uvicorn, both on loopback: real sockets, real cookies.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from _local_servers import ThreadedServer

pf_server_testing = pytest.importorskip("pf_server.testing")

from pf_demo import DemoUser, create_app  # noqa: E402
from pf_demo.users import COOKIE  # noqa: E402

BUILDER = DemoUser("ada", "Ada (builder)", ("build", "read"))
READER = DemoUser("rey", "Rey (read-only)", ("read",))


@pytest.fixture(scope="module")
def api() -> Iterator[Any]:
    with pf_server_testing.LiveServer(allowed_origins=[], pace=0.0) as server:
        yield server


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "index.html").write_text("<!doctype html><title>main</title>")
    (tmp_path / "worker.html").write_text("<!doctype html><title>worker</title>")
    return tmp_path


@pytest.fixture
def app(api: Any, site: Path) -> Any:
    return create_app(api_base_url=api.base_url, api_key=api.api_key, site_dir=site,
                      users=[BUILDER, READER], ttl_minutes=15)


@pytest.fixture
def client(app: Any) -> Iterator[httpx.Client]:
    with ThreadedServer(app) as server, httpx.Client(base_url=server.origin,
                                                     timeout=30) as browser:
        yield browser


def sign_in(client: httpx.Client, user: DemoUser) -> None:
    answer = client.post("/signin", data={"user": user.id}, follow_redirects=False)
    assert answer.status_code == 303


def test_signed_out_session_request_is_401_json(client: httpx.Client, app: Any) -> None:
    answer = client.post("/api/promptfloe/session")
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "signed_out"
    assert app.state.minter.count == 0


def test_signed_in_user_gets_a_session_token_with_their_scopes(client: httpx.Client,
                                                               app: Any) -> None:
    sign_in(client, READER)
    answer = client.post("/api/promptfloe/session")
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"token", "expiresAt", "expiresIn", "id", "endUserId", "scopes"}
    assert body["token"].startswith("pf_sess_")
    assert body["endUserId"] == READER.id and body["scopes"] == ["read"]
    assert 0 < body["expiresIn"] <= 15 * 60 and body["expiresAt"].endswith("Z")
    assert answer.headers["cache-control"] == "no-store"
    assert app.state.minter.mints[READER.id] == 1


def test_each_request_mints_a_new_token(client: httpx.Client) -> None:
    # docs/api.md: refresh_fn must return a newly minted token each call.
    sign_in(client, BUILDER)
    first = client.post("/api/promptfloe/session").json()["token"]
    second = client.post("/api/promptfloe/session").json()["token"]
    assert first != second


def test_forged_cookie_is_treated_as_signed_out(client: httpx.Client) -> None:
    client.cookies.set(COOKIE, f"{BUILDER.id}.{'0' * 64}")
    assert client.post("/api/promptfloe/session").status_code == 401
    assert client.get("/config.json").json()["user"] is None


def test_sign_out_clears_the_user(client: httpx.Client) -> None:
    sign_in(client, BUILDER)
    assert client.get("/config.json").json()["user"]["id"] == BUILDER.id
    client.post("/signout", follow_redirects=False)
    assert client.get("/config.json").json()["user"] is None
    assert client.post("/api/promptfloe/session").status_code == 401


def test_unknown_demo_user_cannot_sign_in(client: httpx.Client) -> None:
    answer = client.post("/signin", data={"user": "mallory"}, follow_redirects=False)
    assert answer.status_code == 400
    assert client.post("/api/promptfloe/session").status_code == 401


def test_only_the_worker_page_is_cross_origin_isolated(client: httpx.Client) -> None:
    worker = client.get("/worker.html")
    assert worker.headers["cross-origin-opener-policy"] == "same-origin"
    assert worker.headers["cross-origin-embedder-policy"] == "require-corp"
    main = client.get("/")
    assert main.status_code == 200
    assert "cross-origin-embedder-policy" not in main.headers


def test_the_secret_key_never_reaches_the_browser(client: httpx.Client, api: Any) -> None:
    sign_in(client, BUILDER)
    answers = [client.get("/config.json"), client.get("/"),
               client.post("/api/promptfloe/session")]
    for answer in answers:
        assert api.api_key not in answer.text
        assert api.api_key not in str(answer.headers)
