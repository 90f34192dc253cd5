"""Generated apps are served on origins of their own, with headers fit for user content."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from helpers import call, generate

from pf_server.previews import PreviewOrigins
from pf_server.testing import LiveServer

APP_ID = "app_" + "ab" * 16


def _port(server: Any) -> str:
    return str(server.base_url.rsplit(":", 1)[1])


def test_each_app_has_its_own_absolute_preview_origin_on_the_servers_port(
        live_server: Any) -> None:
    first = generate(live_server, live_server.api_key)[1]
    second = generate(live_server, live_server.api_key, "A to-do list for a choir")[1]
    urls = [evs[-1][2]["previewUrl"] for evs in (first, second)]
    for evs, url in zip((first, second), urls, strict=True):
        assert url == f"http://app-{evs[0][2]['appId'][4:]}.localhost:{_port(live_server)}/"
    assert urls[0] != urls[1]


def test_the_port_comes_from_the_server_not_from_the_requests_host(live_server: Any) -> None:
    evs = generate(live_server, live_server.api_key)[1]
    app_id = evs[0][2]["appId"]
    answer = call(live_server, "GET", f"/v1/apps/{app_id}", live_server.api_key,
                  headers={"Host": "evil.example:666"})
    assert answer.json()["previewUrl"] == evs[-1][2]["previewUrl"]


def test_preview_answers_carry_headers_for_user_content(live_server: Any) -> None:
    url = generate(live_server, live_server.api_key)[1][-1][2]["previewUrl"]
    live_server.set_allowed_origins(["http://127.0.0.1:5173"])
    page = live_server.fetch_preview(url, headers={"Origin": "http://127.0.0.1:5173",
                                                   "Cookie": "demo_session=x"})
    assert page.status_code == 200
    h = page.headers
    assert h["x-content-type-options"] == "nosniff"
    assert h["cross-origin-resource-policy"] == "cross-origin"
    assert h["cross-origin-embedder-policy"] == "require-corp"
    assert h["cache-control"] == "no-store"
    csp = {d.split()[0]: d.split()[1:] for d in h["content-security-policy"].split("; ")}
    assert csp["default-src"] == ["'self'"] and csp["connect-src"] == ["'self'"]
    assert csp["frame-src"] == ["'none'"]
    # No credentials are accepted or set, and no other origin may read it.
    for name in ("access-control-allow-origin", "access-control-allow-credentials",
                 "set-cookie"):
        assert name not in h


def test_a_preview_origin_serves_only_its_own_apps_files_and_no_api(live_server: Any) -> None:
    mine = generate(live_server, live_server.api_key)[1]
    other = generate(live_server, live_server.api_key, "A notes board for a lab")[1]
    url, other_id = mine[-1][2]["previewUrl"], other[0][2]["appId"]
    for path in (f"preview/{other_id}/", f"preview/{other_id}/index.html", "v1/apps",
                 "openapi.json", "healthz"):
        answer = live_server.fetch_preview(url + path,
                                           headers={"Authorization":
                                                    f"Bearer {live_server.api_key}"})
        assert answer.status_code == 404, path
        assert answer.json()["error"]["code"] == "not_found"
    refused = httpx.post(live_server.base_url + "/v1/apps/generate",
                         headers={"Host": url.split("/")[2],
                                  "Authorization": f"Bearer {live_server.api_key}"},
                         json={"prompt": "x"})
    assert refused.status_code == 405 and refused.headers["allow"] == "GET, HEAD"


def test_head_answers_without_a_body(live_server: Any) -> None:
    url = generate(live_server, live_server.api_key)[1][-1][2]["previewUrl"]
    answer = httpx.head(live_server.base_url + "/", headers={"Host": url.split("/")[2]})
    assert answer.status_code == 200 and answer.content == b""
    assert int(answer.headers["content-length"]) > 0


def test_a_configured_preview_origin_is_used_for_previews_and_sites() -> None:
    with LiveServer(preview_origin="https://{app}.previews.example.test") as server:
        evs = generate(server, server.api_key)[1]
        app_id = evs[0][2]["appId"]
        assert evs[-1][2]["previewUrl"] == f"https://app-{app_id[4:]}.previews.example.test/"
        deployed = call(server, "POST", f"/v1/apps/{app_id}/deploy", server.api_key).json()
        assert deployed["url"] == f"https://site-{app_id[4:]}.previews.example.test/"
        # A proxy in front forwards the Host; the server routes by it.
        for url in (evs[-1][2]["previewUrl"], deployed["url"]):
            page = httpx.get(server.base_url + "/",
                             headers={"Host": url.split("/")[2]})
            assert page.status_code == 200 and "<!doctype html>" in page.text
        # The default *.localhost names are not preview origins of this server.
        page = httpx.get(server.base_url + "/",
                         headers={"Host": f"app-{app_id[4:]}.localhost:{_port(server)}"})
        assert page.status_code == 404


def test_origin_templates_build_and_match_urls() -> None:
    origins = PreviewOrigins()
    url = origins.url("app", APP_ID, 8787)
    assert url == f"http://app-{'ab' * 16}.localhost:8787/"
    assert origins.match(f"APP-{'ab' * 16}.LocalHost:8787") == ("app", APP_ID)
    assert origins.match(f"site-{'ab' * 16}.localhost") == ("site", APP_ID)
    for host in ("127.0.0.1:8787", "localhost", f"x.app-{'ab' * 16}.localhost",
                 f"app-{'ab' * 15}.localhost", f"app-{'ab' * 16}.localhost.evil.example",
                 "[::1]:8787"):
        assert origins.match(host) is None, host
    assert origins.url("site", APP_ID, None) == f"http://site-{'ab' * 16}.localhost/"


@pytest.mark.parametrize("template", [
    "ftp://{app}.example", "http://previews.example", "http://{app}.example/path",
    "http://{app}.example:{prt}", "http://{app}.example:abc", "{app}.example",
])
def test_a_bad_origin_template_is_refused_with_the_reason(template: str) -> None:
    with pytest.raises(ValueError, match="--preview-origin"):
        PreviewOrigins(template)
