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


def same_origin(client: httpx.Client) -> dict[str, str]:
    """What a browser sends with a form posted from the demo's own page."""
    return {"Origin": str(client.base_url).rstrip("/"), "Sec-Fetch-Site": "same-origin"}


def sign_in(client: httpx.Client, user: DemoUser) -> None:
    answer = client.post("/signin", data={"user": user.id}, follow_redirects=False,
                         headers=same_origin(client))
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
    client.post("/signout", follow_redirects=False, headers=same_origin(client))
    assert client.get("/config.json").json()["user"] is None
    assert client.post("/api/promptfloe/session").status_code == 401


def test_unknown_demo_user_cannot_sign_in(client: httpx.Client) -> None:
    answer = client.post("/signin", data={"user": "mallory"}, follow_redirects=False,
                         headers=same_origin(client))
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


# -- cross-site requests, redirects, Host -----------------------------------------

CROSS_SITE = [
    pytest.param({"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"},
                 id="another site"),
    pytest.param({"Origin": "http://127.0.0.1:1", "Sec-Fetch-Site": "same-site"},
                 id="another port of 127.0.0.1 (same site, other origin)"),
    pytest.param({"Origin": "null", "Sec-Fetch-Site": "cross-site"},
                 id="a sandboxed frame, such as a generated app"),
    pytest.param({"Origin": "http://evil.example"}, id="Origin only"),
    pytest.param({"Referer": "http://evil.example/page"}, id="Referer only"),
    pytest.param({}, id="no Origin, Sec-Fetch-Site or Referer"),
]


@pytest.mark.parametrize("headers", CROSS_SITE)
def test_sign_in_from_another_site_is_refused(client: httpx.Client,
                                               headers: dict[str, str]) -> None:
    answer = client.post("/signin", data={"user": BUILDER.id}, headers=headers,
                         follow_redirects=False)
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "cross_site_request"
    assert "set-cookie" not in answer.headers
    assert client.get("/config.json").json()["user"] is None


@pytest.mark.parametrize("headers", CROSS_SITE)
def test_sign_out_from_another_site_is_refused(client: httpx.Client, api: Any,
                                                headers: dict[str, str]) -> None:
    sign_in(client, BUILDER)
    token = client.post("/api/promptfloe/session").json()["token"]
    answer = client.post("/signout", headers=headers, follow_redirects=False)
    assert answer.status_code == 403
    assert client.get("/config.json").json()["user"]["id"] == BUILDER.id
    still = httpx.get(api.base_url + "/v1/apps", headers={"Authorization": f"Bearer {token}"})
    assert still.status_code == 200  # its sessions were not revoked


@pytest.mark.parametrize("fetch_site", ["cross-site", "same-site", "none"])
def test_the_browsers_sec_fetch_site_wins_over_the_other_headers(client: httpx.Client,
                                                                   fetch_site: str) -> None:
    """Origin and Referer can be stripped or rewritten on the way (proxies,
    Referrer-Policy); Sec-Fetch-Site is the browser's own word, so it decides."""
    origin = str(client.base_url).rstrip("/")
    headers = {"Sec-Fetch-Site": fetch_site, "Origin": origin, "Referer": origin + "/"}
    answer = client.post("/signin", data={"user": READER.id}, headers=headers,
                         follow_redirects=False)
    assert answer.status_code == 403
    assert client.get("/config.json").json()["user"] is None


@pytest.mark.parametrize("headers", [
    pytest.param({"Sec-Fetch-Site": "same-origin"}, id="Sec-Fetch-Site alone"),
    pytest.param({"Origin": "ORIGIN"}, id="Origin alone (older browsers)"),
    pytest.param({"Referer": "ORIGIN/worker.html"}, id="Referer alone"),
])
def test_each_same_origin_signal_is_enough(client: httpx.Client,
                                           headers: dict[str, str]) -> None:
    origin = str(client.base_url).rstrip("/")
    headers = {k: v.replace("ORIGIN", origin) for k, v in headers.items()}
    answer = client.post("/signin", data={"user": READER.id}, headers=headers,
                         follow_redirects=False)
    assert answer.status_code == 303
    assert client.get("/config.json").json()["user"]["id"] == READER.id


@pytest.mark.parametrize(("referer", "location"), [
    ("ORIGIN/worker.html", "/worker.html"),
    ("ORIGIN//evil.example/x", "/"),
    ("ORIGIN/\\evil.example/x", "/"),
    ("ORIGIN/%2F%2Fevil.example", "/%2F%2Fevil.example"),
    ("http://evil.example/x", "/"),
    ("//evil.example/x", "/"),
    ("ORIGIN", "/"),
    ("", "/"),
])
def test_the_redirect_after_sign_in_and_out_stays_on_the_demos_origin(
        client: httpx.Client, referer: str, location: str) -> None:
    origin = str(client.base_url).rstrip("/")
    headers = {"Origin": origin, "Sec-Fetch-Site": "same-origin",
               "Referer": referer.replace("ORIGIN", origin)}
    for path, data in (("/signin", {"user": BUILDER.id}), ("/signout", None)):
        answer = client.post(path, data=data, headers=headers, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"] == location


@pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "127.0.0.2",
                                  "localhost.evil.example"])
def test_a_request_for_another_host_is_refused(client: httpx.Client, host: str) -> None:
    """A site whose name was made to resolve to 127.0.0.1 (DNS rebinding)
    sends its own name as Host: it gets neither a page nor a session."""
    for method, path in (("GET", "/config.json"), ("GET", "/"),
                         ("POST", "/api/promptfloe/session")):
        answer = client.request(method, path, headers={"Host": host})
        assert answer.status_code == 421, (method, path)
        assert answer.json()["error"]["code"] == "unknown_host"


def test_loopback_names_are_all_served_by_default(client: httpx.Client) -> None:
    port = client.base_url.port
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", "[::1]"):
        assert client.get("/config.json", headers={"Host": host}).status_code == 200


def test_with_a_public_origin_only_it_is_served_and_redirects_never_use_host(
        api: Any, site: Path) -> None:
    app = create_app(api_base_url=api.base_url, api_key=api.api_key, site_dir=site,
                     users=[BUILDER], public_origin="https://demo.example")
    public = {"Host": "demo.example", "Origin": "https://demo.example",
              "Sec-Fetch-Site": "same-origin"}
    with ThreadedServer(app) as server, httpx.Client(base_url=server.origin) as browser:
        assert browser.get("/config.json").status_code == 421  # 127.0.0.1 is not it
        answer = browser.post("/signin", data={"user": BUILDER.id}, follow_redirects=False,
                              headers={**public, "Referer": "https://demo.example/worker.html"})
        assert answer.status_code == 303 and answer.headers["location"] == "/worker.html"
        forged = browser.post("/signin", data={"user": BUILDER.id}, follow_redirects=False,
                              headers={**public, "Host": "evil.example",
                                       "Origin": "https://evil.example"})
        assert forged.status_code == 421


def test_trusting_the_host_header_is_a_choice(api: Any, site: Path) -> None:
    app = create_app(api_base_url=api.base_url, api_key=api.api_key, site_dir=site,
                     users=[BUILDER], trust_host_header=True)
    with ThreadedServer(app) as server, httpx.Client(base_url=server.origin) as browser:
        headers = {"Host": "demo.internal", "Origin": "http://demo.internal",
                   "Referer": "http://demo.internal/worker.html"}
        answer = browser.post("/signin", data={"user": BUILDER.id}, headers=headers,
                              follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == "/worker.html"
        assert browser.post("/signin", data={"user": BUILDER.id}, follow_redirects=False,
                            headers={**headers, "Origin": "http://evil.example"}
                            ).status_code == 403


def test_a_bad_public_origin_is_refused_at_start(api: Any, site: Path) -> None:
    with pytest.raises(ValueError, match="public_origin"):
        create_app(api_base_url=api.base_url, api_key=api.api_key, site_dir=site,
                   public_origin="demo.example")


# -- when PromptFloe cannot be reached ---------------------------------------------

def test_an_unreachable_api_is_named_to_the_page_and_its_cause_logged(
        site: Path, caplog: pytest.LogCaptureFixture) -> None:
    import logging
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    secret = "pf_test_" + "s3cret" * 6
    app = create_app(api_base_url=dead, api_key=secret, site_dir=site, users=[BUILDER])
    caplog.set_level(logging.DEBUG)
    with ThreadedServer(app) as server, httpx.Client(base_url=server.origin,
                                                     timeout=60) as browser:
        sign_in(browser, BUILDER)
        answer = browser.post("/api/promptfloe/session")
        signed_out = browser.post("/signout", headers=same_origin(browser),
                                  follow_redirects=False)
    assert answer.status_code == 503
    error = answer.json()["error"]
    assert error["code"] == "promptfloe_unreachable"
    assert error["message"].startswith("PromptFloe can't be reached right now")
    assert signed_out.status_code == 303  # signing out still works
    logged = [r for r in caplog.records if r.name == "pf_demo"]
    messages = [r.getMessage() for r in logged]
    assert any("can't be reached" in m and dead in m and "ConnectError" in m
               for m in messages), messages
    assert any(m.startswith("sign-out") and dead in m for m in messages), messages
    assert secret not in caplog.text
