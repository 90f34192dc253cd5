"""Every prompt within 8,000 characters fits the real server's body cap.

The client sends UTF-8 JSON, so a character costs at most 4 bytes (6 for the
control characters JSON must escape); 8,000 of the worst kind plus the JSON
around them stay under the server's default cap, and one character more is
``prompt_too_long``, not ``request_too_large``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from pf_browser import FileEvent, InvalidRequestError, PromptFloe, ReadyEvent, RunEvent
from pf_server.services import Services

WORST = {"4-byte emoji": "😀", "control character (6-byte escape)": "\x01",
         "quote (2-byte escape)": '"', "3-byte CJK": "漢"}


def test_the_servers_body_cap_holds_8000_of_the_widest_characters() -> None:
    cap = Services.__dataclass_fields__["max_body"].default
    assert isinstance(cap, int)
    widest = max(len(json.dumps({"prompt": c * 8000}, ensure_ascii=False,
                                separators=(",", ":")).encode()) for c in WORST.values())
    assert widest == 6 * 8000 + len('{"prompt":""}') <= cap


@pytest.mark.parametrize("char", list(WORST.values()), ids=list(WORST))
def test_a_prompt_of_8000_characters_is_accepted(live_server: Any, char: str) -> None:
    with PromptFloe(api_key=live_server.api_key, base_url=live_server.base_url) as client, \
            client.apps.generate_stream("a" + char * 7999) as stream:
        events = list(stream)
        assert isinstance(events[0], RunEvent)
        app = client.apps.get(events[0].app_id)
    assert isinstance(events[-1], ReadyEvent)
    assert any(isinstance(e, FileEvent) for e in events)
    assert app.prompt == "a" + char * 7999


@pytest.mark.parametrize("char", ["😀", "a"])
def test_8001_characters_are_prompt_too_long(live_server: Any, char: str) -> None:
    with PromptFloe(api_key=live_server.api_key, base_url=live_server.base_url) as client:
        with pytest.raises(InvalidRequestError) as info:
            list(client.apps.generate_stream(char * 8001))
    assert info.value.status_code == 413 and info.value.code == "prompt_too_long"
