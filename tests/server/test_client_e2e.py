"""The pf_browser CPython client against the real server, over loopback sockets."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from pf_browser import (
    AsyncPromptFloe,
    AuthenticationError,
    FileEvent,
    PromptFloe,
    QuotaExceededError,
    ReadyEvent,
    RunEvent,
)
from pf_server.testing import LiveServer


@pytest.fixture(scope="module")
def paced() -> Iterator[Any]:
    with LiveServer(pace=0.1) as server:
        yield server


def test_a_session_generates_every_file_then_ready_and_the_preview_serves_it(
        live_server: Any) -> None:
    with PromptFloe(api_key=live_server.api_key, base_url=live_server.base_url) as backend:
        minted = backend.sessions.issue("user_e2e", scopes=["build", "read"], ttl_minutes=10)
    assert minted.scopes == ("build", "read") and minted.expires_in == 600
    with PromptFloe(api_key=minted.token, base_url=live_server.base_url) as client, \
            client.apps.generate_stream("A landing page for a cheese shop") as stream:
        got = list(stream)
        assert isinstance(got[0], RunEvent) and isinstance(got[-1], ReadyEvent)
        app = client.apps.get(got[0].app_id)
    files = [e for e in got[1:-1] if isinstance(e, FileEvent)]
    assert len(files) == len(got) - 2
    assert [(f.path, f.size) for f in files] == [(f.path, f.size) for f in app.files]
    assert app.status == "ready" and app.end_user_id == "user_e2e"
    page = live_server.fetch_preview(got[-1].preview_url)
    assert page.status_code == 200 and "cheese shop" in page.text.lower()


def test_after_a_revoke_the_next_call_refreshes_once_and_carries_on(fresh_server: Any) -> None:
    backend = PromptFloe(api_key=fresh_server.api_key, base_url=fresh_server.base_url)
    minted: list[Any] = []

    def refresh() -> str:
        minted.append(backend.sessions.issue("user_refresh"))
        return str(minted[-1].token)

    first = backend.sessions.issue("user_refresh")
    with PromptFloe(api_key=first.token, base_url=fresh_server.base_url,
                    refresh_fn=refresh) as client:
        assert client.apps.list().data == ()
        backend.sessions.revoke(first.id)
        raw = httpx.get(fresh_server.base_url + "/v1/apps",
                        headers={"Authorization": f"Bearer {first.token}"})
        assert raw.status_code == 401 and raw.json()["error"]["code"] == "token_revoked"
        with client.apps.generate_stream("a bakery") as stream:
            assert [e.type for e in stream][-1] == "ready"
        assert len(minted) == 1  # exactly one refresh
        assert len(client.apps.list().data) == 1
        assert len(minted) == 1
    backend.close()


def test_a_refresh_fn_that_returns_a_revoked_token_ends_in_authentication_error(
        fresh_server: Any) -> None:
    with PromptFloe(api_key=fresh_server.api_key, base_url=fresh_server.base_url) as backend:
        dead = backend.sessions.issue("user_dead")
        backend.sessions.revoke(dead.id)
        calls = []

        def refresh() -> str:
            calls.append(1)
            return dead.token

        with PromptFloe(api_key=dead.token, base_url=fresh_server.base_url,
                        refresh_fn=refresh) as client, pytest.raises(AuthenticationError) as err:
            client.apps.list()
    assert err.value.code == "token_revoked" and calls == [1]  # one refresh, no loop
    assert dead.token not in str(err.value) and dead.token not in repr(err.value)


def test_a_stream_dropped_mid_run_resumes_with_no_event_lost_or_repeated(paced: Any) -> None:
    with PromptFloe(api_key=paced.api_key, base_url=paced.base_url) as backend:
        token = backend.sessions.issue("user_drop").token
    got: list[Any] = []
    with PromptFloe(api_key=token, base_url=paced.base_url) as client:
        with client.apps.generate_stream("A notes board for a book club") as stream:
            for event in stream:
                got.append(event)
                if len(got) == 2:  # run, then the first file: cut every open stream
                    assert paced.drop_streams() == 1
        app = client.apps.get(got[0].app_id)
    assert [e.type for e in got] == ["run"] + ["file"] * len(app.files) + ["ready"]
    assert [e.path for e in got[1:-1]] == [f.path for f in app.files]
    with PromptFloe(api_key=paced.api_key, base_url=paced.base_url) as backend:
        usage = backend.usage.retrieve()
    mine = next(u for u in usage.by_end_user if u.end_user_id == "user_drop")
    assert mine.runs == 1 and mine.calls >= 3  # generate, the resume, get


async def test_the_async_client_generates_and_usage_counts_per_end_user() -> None:
    with LiveServer(quota=3) as server:
        async with AsyncPromptFloe(api_key=server.api_key, base_url=server.base_url) as backend:
            ada = await backend.sessions.issue("ada")
            bob = await backend.sessions.issue("bob")
            for token, n in ((ada.token, 2), (bob.token, 1)):
                async with AsyncPromptFloe(api_key=token, base_url=server.base_url) as client:
                    for _ in range(n):
                        async with client.apps.generate_stream("a bakery") as stream:
                            assert [e.type async for e in stream][-1] == "ready"
            usage = await backend.usage.retrieve()
            assert (usage.quota, usage.used) == (3, 3)
            assert [(u.end_user_id, u.runs, u.calls) for u in usage.by_end_user] == [
                ("ada", 2, 2), ("bob", 1, 1)]
            with pytest.raises(QuotaExceededError) as over:
                async with backend.apps.generate_stream("one too many") as stream:
                    async for _ in stream:
                        pass
            assert (over.value.quota, over.value.used) == (3, 3)
            assert over.value.resets_at is not None and over.value.retry_after
