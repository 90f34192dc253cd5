"""The server's body fields read blank as the OpenAPI document's `\\S` pattern does."""

from __future__ import annotations

import pytest

from pf_server.bodies import string_field
from pf_server.errors import ApiError


@pytest.mark.parametrize("value", ["\x85", "\x1c", "a"])
def test_what_the_schema_allows_is_not_blank(value: str) -> None:
    # U+0085 and U+001C are whitespace to Python's str.strip(), not to ECMAScript's \s.
    assert string_field({"prompt": value}, "prompt", max_len=10) == value


@pytest.mark.parametrize("value", ["", " ", "\t\n", "\u00a0\u3000\ufeff"])
def test_blank_is_refused(value: str) -> None:
    with pytest.raises(ApiError):
        string_field({"prompt": value}, "prompt", max_len=10)
