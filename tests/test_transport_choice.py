"""The sync client's choice of transport under Pyodide, without a browser.

``choose_route`` is the whole rule (``pf_browser/_transports/choice.py``); the
browser tests make each case happen for real in Chromium. Here every
combination of conditions is checked, and the words of the refusal.
"""

from __future__ import annotations

import itertools

import pytest

from pf_browser import PromptFloeError
from pf_browser._transports.choice import (
    BUFFERED,
    JSPI,
    WORKER,
    Conditions,
    cannot_stream_message,
    choose_route,
)


def conditions(**changes: bool) -> Conditions:
    base = {"can_run_sync": False, "engine_has_jspi": True, "in_worker": False,
            "cross_origin_isolated": False, "helper_ready": False}
    return Conditions(**(base | changes))


ALL = [Conditions(*flags) for flags in itertools.product([False, True], repeat=5)]


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("c", ALL, ids=repr)
def test_jspi_first_then_the_worker_path_then_a_stream_is_refused(
        c: Conditions, stream: bool) -> None:
    if c.can_run_sync:
        assert choose_route(c, stream=stream) == JSPI
    elif c.helper_ready:
        assert choose_route(c, stream=stream) == WORKER
    elif stream:
        with pytest.raises(PromptFloeError):
            choose_route(c, stream=stream)
    else:
        assert choose_route(c, stream=stream) == BUFFERED


def test_jspi_wins_even_where_the_worker_path_is_ready() -> None:
    # JSPI reads the body without copying it through a helper worker.
    ready = conditions(can_run_sync=True, in_worker=True, cross_origin_isolated=True,
                       helper_ready=True)
    assert choose_route(ready, stream=True) == JSPI


def test_a_sync_handler_in_an_isolated_worker_takes_the_worker_path() -> None:
    handler = conditions(in_worker=True, cross_origin_isolated=True, helper_ready=True)
    assert choose_route(handler, stream=True) == WORKER


def test_a_call_that_is_not_a_stream_is_never_refused() -> None:
    for c in ALL:
        assert choose_route(c, stream=False) in {JSPI, WORKER, BUFFERED}


def test_a_stream_is_never_buffered() -> None:
    for c in ALL:
        try:
            assert choose_route(c, stream=True) != BUFFERED
        except PromptFloeError:
            pass


@pytest.mark.parametrize(("c", "says"), [
    (conditions(), ["not entered through an async door", "main thread"]),
    (conditions(engine_has_jspi=False), ["no JavaScript Promise Integration", "main thread"]),
    (conditions(in_worker=True), ["not cross-origin isolated",
                                  "Cross-Origin-Embedder-Policy: require-corp"]),
    (conditions(in_worker=True, cross_origin_isolated=True),
     ["has not started yet", "await transport.ready()"]),
])
def test_the_refusal_says_why_and_what_to_do(c: Conditions, says: list[str]) -> None:
    with pytest.raises(PromptFloeError) as refused:
        choose_route(c, stream=True)
    message = str(refused.value)
    assert message == cannot_stream_message(c)
    for words in says:
        assert words in message
    for advice in ("AsyncPromptFloe", "async def", "cross-origin isolated"):
        assert advice in message
    assert "not started" in message  # nothing happened that needs undoing


class RefusingTransport:
    """A sync transport that cannot stream from here, as PyodideSyncTransport
    outside JSPI and the worker path; it records what it was asked to send."""

    def __init__(self) -> None:
        self.sent: list[object] = []

    def check_stream(self) -> None:
        choose_route(conditions(), stream=True)

    def send(self, request: object) -> object:
        self.sent.append(request)
        raise AssertionError("nothing may be sent for a stream that cannot stream")

    def close(self) -> None:
        pass


@pytest.mark.parametrize("use", ["with", "for"])
def test_the_client_refuses_a_stream_before_it_fetches_a_token(use: str) -> None:
    from pf_browser import PromptFloe

    refreshed: list[int] = []

    def refresh() -> str:
        refreshed.append(1)
        return "pf_sess_x"

    transport = RefusingTransport()
    client = PromptFloe(refresh_fn=refresh, transport=transport)  # type: ignore[arg-type]
    with pytest.raises(PromptFloeError, match="cannot stream events here"):
        if use == "with":
            with client.apps.generate_stream("a bakery"):
                pass
        else:
            for _ in client.apps.generate_stream("a bakery"):
                pass
    assert refreshed == [] and transport.sent == []
