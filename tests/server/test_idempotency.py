"""POST /v1/apps/generate with an Idempotency-Key: one run per key, no second charge."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from helpers import bearer, call, events, session

from pf_browser import FileEvent, PromptFloe, RunEvent
from pf_server.testing import LiveServer


def gen(server: Any, credential: str, key: str | None, prompt: str = "A bakery page",
        ) -> tuple[httpx.Response, list[tuple[str | None, str, dict[str, Any]]]]:
    headers = bearer(credential)
    if key is not None:
        headers["Idempotency-Key"] = key
    with httpx.stream("POST", server.base_url + "/v1/apps/generate", json={"prompt": prompt},
                      headers=headers, timeout=30) as answer:
        body = answer.read()
    return answer, (events(body) if answer.status_code == 200 else [])


def used(server: Any) -> int:
    return int(call(server, "GET", "/v1/usage", server.api_key).json()["used"])


def runs_in_db(server: Any) -> int:
    return int(server.store._one("SELECT COUNT(*) FROM runs")[0])


def test_the_same_key_answers_with_the_same_run_and_spends_no_more_quota(
        fresh_server: Any) -> None:
    first, evs = gen(fresh_server, fresh_server.api_key, "order-1")
    again, replayed = gen(fresh_server, fresh_server.api_key, "order-1")
    assert first.status_code == again.status_code == 200
    assert again.headers["promptfloe-run-id"] == first.headers["promptfloe-run-id"]
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert replayed == evs  # the whole stream again, from the first event
    assert used(fresh_server) == 1 and runs_in_db(fresh_server) == 1


def test_the_same_key_with_another_body_is_409(fresh_server: Any) -> None:
    gen(fresh_server, fresh_server.api_key, "order-2")
    answer, _ = gen(fresh_server, fresh_server.api_key, "order-2", "A different prompt")
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "idempotency_key_reused"
    assert used(fresh_server) == 1


def test_without_a_key_every_call_is_a_new_run(fresh_server: Any) -> None:
    one, two = gen(fresh_server, fresh_server.api_key, None), gen(fresh_server,
                                                                   fresh_server.api_key, None)
    assert one[0].headers["promptfloe-run-id"] != two[0].headers["promptfloe-run-id"]
    assert used(fresh_server) == 2


@pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9", "tab\there", "line\x7f"])
def test_a_key_that_is_not_1_to_255_printable_ascii_is_400(fresh_server: Any,
                                                            key: str) -> None:
    headers = [(b"Authorization", f"Bearer {fresh_server.api_key}".encode()),
               (b"Idempotency-Key", key.encode("latin-1"))]
    answer = httpx.post(fresh_server.base_url + "/v1/apps/generate", json={"prompt": "a"},
                        headers=headers)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_request"
    assert used(fresh_server) == 0


def test_the_longest_key_and_every_printable_character_are_taken(fresh_server: Any) -> None:
    for key in ("k" * 255, "".join(chr(c) for c in range(0x21, 0x7f)) + " x"):
        assert gen(fresh_server, fresh_server.api_key, key)[0].status_code == 200


def test_keys_belong_to_their_credential_or_end_user(fresh_server: Any) -> None:
    other_key = fresh_server.create_key()
    a = gen(fresh_server, fresh_server.api_key, "shared")[0].headers["promptfloe-run-id"]
    b = gen(fresh_server, other_key, "shared")[0].headers["promptfloe-run-id"]
    ann1, ann2 = session(fresh_server, "ann")["token"], session(fresh_server, "ann")["token"]
    bob = session(fresh_server, "bob")["token"]
    c = gen(fresh_server, ann1, "shared")[0].headers["promptfloe-run-id"]
    # A token refreshed between two tries of one call finds its run.
    assert gen(fresh_server, ann2, "shared")[0].headers["promptfloe-run-id"] == c
    d = gen(fresh_server, bob, "shared")[0].headers["promptfloe-run-id"]
    assert len({a, b, c, d}) == 4
    assert used(fresh_server) == 4


def test_a_key_is_kept_for_24_hours(fresh_server: Any) -> None:
    first = gen(fresh_server, fresh_server.api_key, "daily")[0].headers["promptfloe-run-id"]
    fresh_server.clock.advance(24 * 3600 - 60)
    assert gen(fresh_server, fresh_server.api_key, "daily")[0].headers[
        "promptfloe-run-id"] == first
    fresh_server.clock.advance(120)
    later = gen(fresh_server, fresh_server.api_key, "daily")[0].headers["promptfloe-run-id"]
    assert later != first


def test_concurrent_calls_with_one_key_make_one_run(fresh_server: Any) -> None:
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: gen(fresh_server, fresh_server.api_key, "burst"),
                                range(16)))
    assert {a.headers["promptfloe-run-id"] for a, _ in answers} == {
        answers[0][0].headers["promptfloe-run-id"]}
    assert all(evs == answers[0][1] for _, evs in answers)
    assert used(fresh_server) == 1 and runs_in_db(fresh_server) == 1


def test_a_refused_call_keeps_no_key(fresh_server: Any) -> None:
    fresh_server.set_quota(0)
    assert gen(fresh_server, fresh_server.api_key, "later")[0].status_code == 429
    fresh_server.set_quota(10)
    answer, evs = gen(fresh_server, fresh_server.api_key, "later")
    assert answer.status_code == 200 and evs[-1][1] == "ready"


def test_a_replay_of_a_live_run_goes_on_live_with_every_event_once() -> None:
    with LiveServer(pace=0.3) as server:
        headers = {**bearer(server.api_key), "Idempotency-Key": "live"}
        with httpx.stream("POST", server.base_url + "/v1/apps/generate",
                          json={"prompt": "A bakery"}, headers=headers, timeout=30) as first:
            next(first.iter_bytes())  # the run started; this client goes away
        _, evs = gen(server, server.api_key, "live", "A bakery")
        assert [e[0] for e in evs] == [str(i) for i in range(1, len(evs) + 1)]
        assert evs[0][1] == "run" and evs[-1][1] == "ready"
        assert used(server) == 1


# -- the SDK over a connection that drops after the server accepted the call ------

class CuttingProxy:
    """A TCP proxy to ``port`` that closes its first ``cut`` connections as soon as the
    server starts to answer: the server has the request, the client gets nothing."""

    def __init__(self, port: int, cut: int = 1) -> None:
        self.port, self.cut, self.connections = port, cut, 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.base_url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            upstream = socket.create_connection(("127.0.0.1", self.port))
            cutting = self.connections <= self.cut
            threading.Thread(target=self._pump, args=(client, upstream, False),
                             daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, cutting),
                             daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket, cut_on_first_byte: bool) -> None:
        try:
            while data := src.recv(65536):
                if cut_on_first_byte:
                    break  # the answer began: drop it and the connection
                dst.sendall(data)
        except OSError:
            pass
        for sock in (src, dst):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def close(self) -> None:
        self._listener.close()


@pytest.fixture
def paced_server() -> Iterator[Any]:
    with LiveServer(pace=0.05) as server:
        yield server


def test_a_connection_cut_after_the_server_accepted_is_retried_into_the_same_run(
        paced_server: Any) -> None:
    port = int(paced_server.base_url.rsplit(":", 1)[1])
    proxy = CuttingProxy(port, cut=1)
    try:
        with PromptFloe(api_key=paced_server.api_key, base_url=proxy.base_url,
                        max_retries=2, sleep=lambda seconds: None) as client, \
                client.apps.generate_stream("A to-do list for a choir") as stream:
            got = list(stream)
    finally:
        proxy.close()
    assert proxy.connections == 2  # the cut try, then the retry
    assert runs_in_db(paced_server) == 1 and used(paced_server) == 1
    types = [e.type for e in got]
    assert types[0] == "run" and types[-1] == "ready" and set(types[1:-1]) == {"file"}
    assert isinstance(got[0], RunEvent)
    paths = [e.path for e in got if isinstance(e, FileEvent)]
    assert len(paths) == len(set(paths)) >= 3  # every event once
    app = call(paced_server, "GET", f"/v1/apps/{got[0].app_id}", paced_server.api_key).json()
    assert [f["path"] for f in app["files"]] == paths
