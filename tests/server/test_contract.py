"""The API's happy paths answer exactly the contract's shapes (docs/api.md, openapi.json)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from helpers import call, events, generate, session

from pf_browser import NotFoundError, PromptFloe


def test_a_session_has_the_contract_fields_and_an_expiry_ttl_minutes_ahead(
        live_server: Any) -> None:
    answer = call(live_server, "POST", "/v1/sessions", live_server.api_key,
                  json={"endUserId": "user_123", "scopes": ["read", "build"], "ttlMinutes": 30})
    assert answer.status_code == 201
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert set(body) == {"id", "token", "endUserId", "scopes", "expiresAt", "expiresIn"}
    assert body["id"].startswith("sess_") and body["token"].startswith("pf_sess_")
    assert body["endUserId"] == "user_123"
    assert body["scopes"] == ["read", "build"]
    assert body["expiresIn"] == 1800
    expires = datetime.fromisoformat(body["expiresAt"].replace("Z", "+00:00"))
    ahead = expires.timestamp() - live_server.clock.now()
    assert 1790 <= ahead <= 1800


def test_a_session_defaults_to_all_the_keys_scopes_for_sixty_minutes(live_server: Any) -> None:
    body = session(live_server)
    assert body["scopes"] == ["read", "build", "deploy"]
    assert body["expiresIn"] == 3600


def test_generate_streams_run_then_every_file_then_ready_with_ids_from_one(
        live_server: Any) -> None:
    token = session(live_server)["token"]
    answer, evs = generate(live_server, token, "A landing page for a neighbourhood bakery")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/event-stream")
    assert [e[0] for e in evs] == [str(i) for i in range(1, len(evs) + 1)]
    types = [e[1] for e in evs]
    assert types[0] == "run" and types[-1] == "ready"
    assert set(types[1:-1]) == {"file"}
    run = evs[0][2]
    assert answer.headers["promptfloe-run-id"] == run["runId"]
    files = {d["path"]: d for _, t, d in evs if t == "file"}
    assert {"index.html", "styles.css", "app.js"} <= set(files)
    for f in files.values():
        assert f["size"] == len(f["content"].encode())
    assert "bakery" in files["index.html"]["content"].lower()
    ready = evs[-1][2]
    assert ready["appId"] == run["appId"]
    port = live_server.base_url.rsplit(":", 1)[1]
    assert ready["previewUrl"] == f"http://app-{run['appId'][4:]}.localhost:{port}/"


def test_the_same_prompt_generates_the_same_files(live_server: Any) -> None:
    token = session(live_server)["token"]
    first = [d for _, t, d in generate(live_server, token, "A to-do list for a climbing club")[1]
             if t == "file"]
    again = [d for _, t, d in generate(live_server, token, "A to-do list for a climbing club")[1]
             if t == "file"]
    assert first == again
    assert "climbing club" in first[0]["content"].lower()


def test_the_preview_serves_each_file_with_its_type_and_cross_origin_resource_policy(
        live_server: Any) -> None:
    token = session(live_server)["token"]
    evs = generate(live_server, token)[1]
    files = {d["path"]: d["content"] for _, t, d in evs if t == "file"}
    base = evs[-1][2]["previewUrl"]
    page = live_server.fetch_preview(base)
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["cross-origin-resource-policy"] == "cross-origin"
    assert page.text == files["index.html"]
    kinds = {"styles.css": "text/css", "app.js": "text/javascript", "index.html": "text/html"}
    for path, kind in kinds.items():
        answer = live_server.fetch_preview(base + path)
        assert answer.headers["content-type"].split(";")[0] == kind
        assert answer.text == files[path]


def test_the_api_origin_serves_no_generated_file(live_server: Any) -> None:
    app_id = generate(live_server, live_server.api_key)[1][0][2]["appId"]
    call(live_server, "POST", f"/v1/apps/{app_id}/deploy", live_server.api_key)
    for path in (f"/preview/{app_id}/", f"/sites/{app_id}/", f"/preview/{app_id}/index.html"):
        answer = call(live_server, "GET", path)
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"


def test_an_app_lists_its_files_in_order_and_a_preview_url_when_ready(live_server: Any) -> None:
    token = session(live_server, "user_apps")["token"]
    evs = generate(live_server, token)[1]
    app_id = evs[0][2]["appId"]
    app = call(live_server, "GET", f"/v1/apps/{app_id}", token).json()
    assert app["id"] == app_id and app["endUserId"] == "user_apps"
    assert app["status"] == "ready" and app["deployedUrl"] is None
    assert app["previewUrl"] == evs[-1][2]["previewUrl"]
    assert app["files"] == [{"path": d["path"], "size": d["size"]}
                            for _, t, d in evs if t == "file"]
    assert app["createdAt"].endswith("Z")


def test_listing_pages_newest_first_with_a_cursor(fresh_server: Any) -> None:
    token = session(fresh_server, "lister")["token"]
    made = [generate(fresh_server, token, f"A page about topic {i}")[1][0][2]["appId"]
            for i in range(5)]
    seen: list[str] = []
    cursor = None
    for _ in range(5):  # bounded: 5 apps at 2 a page
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = call(fresh_server, "GET", "/v1/apps" + query, token).json()
        seen += [a["id"] for a in page["data"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert seen == made[::-1]


def test_deploy_marks_the_app_deployed_and_serves_it(live_server: Any) -> None:
    app_id = generate(live_server, live_server.api_key)[1][0][2]["appId"]
    port = live_server.base_url.rsplit(":", 1)[1]
    site_url = f"http://site-{app_id[4:]}.localhost:{port}/"
    assert live_server.fetch_preview(site_url).status_code == 404  # not deployed yet
    answer = call(live_server, "POST", f"/v1/apps/{app_id}/deploy", live_server.api_key)
    assert answer.status_code == 200
    body = answer.json()
    assert body["appId"] == app_id and body["url"] == site_url
    assert body["deployedAt"].endswith("Z")
    site = live_server.fetch_preview(body["url"])
    assert site.status_code == 200 and "<!doctype html>" in site.text
    app = call(live_server, "GET", f"/v1/apps/{app_id}", live_server.api_key).json()
    assert app["deployedUrl"] == body["url"]


def test_usage_counts_runs_and_calls_per_end_user(fresh_server: Any) -> None:
    ada = session(fresh_server, "ada", scopes=["build", "read"])["token"]
    bob = session(fresh_server, "bob", scopes=["build", "read"])["token"]
    for _ in range(2):
        generate(fresh_server, ada)
    generate(fresh_server, bob)
    call(fresh_server, "GET", "/v1/apps", bob)
    generate(fresh_server, fresh_server.api_key)  # the key's own run: in `used`, no end user
    today = datetime.fromtimestamp(fresh_server.clock.now(), UTC).strftime("%Y-%m-%d")
    usage = call(fresh_server, "GET", f"/v1/usage?date={today}", fresh_server.api_key).json()
    assert usage == {"date": today, "quota": 1000, "used": 4, "byEndUser": [
        {"endUserId": "ada", "runs": 2, "calls": 2},
        {"endUserId": "bob", "runs": 1, "calls": 2},
    ]}
    other_day = call(fresh_server, "GET", "/v1/usage?date=2020-01-01", fresh_server.api_key)
    assert other_day.json()["used"] == 0 and other_day.json()["byEndUser"] == []


def test_revoking_an_end_user_says_how_many_sessions_it_ended(fresh_server: Any) -> None:
    for _ in range(3):
        session(fresh_server, "leaver")
    answer = call(fresh_server, "POST", "/v1/sessions/revoke", fresh_server.api_key,
                  json={"endUserId": "leaver"})
    assert answer.json() == {"endUserId": "leaver", "revoked": 3}


def test_the_openapi_document_is_served_and_is_the_repos_file(live_server: Any) -> None:
    from pathlib import Path

    import pf_server

    answer = call(live_server, "GET", "/openapi.json")
    assert answer.status_code == 200
    on_disk = json.loads((Path(pf_server.__file__).parent / "openapi.json").read_text())
    assert answer.json() == on_disk
    assert on_disk["openapi"].startswith("3.1")


def test_the_openapi_document_lists_every_413_code_the_server_sends(live_server: Any) -> None:
    import pf_server

    doc = json.loads((Path(pf_server.__file__).parent / "openapi.json").read_text())
    schema = doc["components"]["schemas"]["Error413"]["allOf"][1]
    listed = set(schema["properties"]["error"]["properties"]["code"]["enum"])
    sent = {call(live_server, "POST", "/v1/apps/generate", live_server.api_key,
                 json={"prompt": "x" * 8001}).json()["error"]["code"],
            call(live_server, "POST", "/v1/apps/generate", live_server.api_key,
                 content=b'{"prompt": "' + b"x" * 70_000 + b'"}',
                 headers={"Content-Type": "application/json"}).json()["error"]["code"]}
    assert sent == listed == {"prompt_too_long", "request_too_large"}
    for path, method in (("/v1/apps/generate", "post"), ("/v1/sessions", "post"),
                         ("/v1/sessions/revoke", "post")):
        assert doc["paths"][path][method]["responses"]["413"] == {
            "$ref": "#/components/responses/E413"}


def test_the_event_stream_bytes_are_one_data_line_of_json_per_event(live_server: Any) -> None:
    import httpx

    with httpx.stream("POST", live_server.base_url + "/v1/apps/generate",
                      json={"prompt": "multi\nline\nprompt </script>"},
                      headers={"Authorization": f"Bearer {live_server.api_key}"}) as answer:
        raw = answer.read()
    for block in raw.decode().split("\n\n"):
        if block:
            lines = block.split("\n")
            assert [ln.split(":")[0] for ln in lines] == ["id", "event", "data"]
    assert len(events(raw)) >= 5
    assert live_server.api_key.encode() not in raw


def test_every_answer_carries_its_own_request_id_and_the_client_reports_it(
        live_server: Any) -> None:
    token = session(live_server)["token"]
    answers = [call(live_server, "GET", "/v1/apps", token),
               call(live_server, "GET", "/nothing", token),
               call(live_server, "POST", "/v1/sessions", None, json={}),
               call(live_server, "OPTIONS", "/v1/apps/generate",
                    headers={"Origin": "http://nowhere.test",
                             "Access-Control-Request-Method": "POST"}),
               generate(live_server, token, "a bakery")[0]]
    ids = [answer.headers["promptfloe-request-id"] for answer in answers]
    assert all(re.fullmatch(r"req_[0-9a-f]{24}", request_id) for request_id in ids), ids
    assert len(set(ids)) == len(ids)

    with PromptFloe(api_key=token, base_url=live_server.base_url) as client:
        with pytest.raises(NotFoundError) as caught:
            client.apps.get("app_missing")
    assert re.fullmatch(r"req_[0-9a-f]{24}", caught.value.request_id or "")
    assert (caught.value.request_id or "?") in repr(caught.value)
