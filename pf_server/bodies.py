"""Reading request bodies and query values strictly, with the contract's errors.

Wrong types are refused, not coerced: ``"ttlMinutes": "30"`` is a 400, and so
is ``true`` where a number belongs (``bool`` is an ``int`` in Python). A field
left out takes its default; a field sent as ``null`` is a wrong type.
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.requests import Request

from .errors import ApiError, bad_request

__all__ = ["is_digits", "optional_int", "read_json", "string_field", "string_list_field"]


def is_digits(text: str) -> bool:
    """ASCII digits only: ``str.isdigit`` also takes "²", which ``int`` refuses."""
    return text.isascii() and text.isdigit()


async def read_json(request: Request, limit: int) -> dict[str, Any]:
    """The body as a JSON object; 413 past ``limit`` bytes, 400 if it is not one."""
    declared = request.headers.get("content-length")
    if declared is not None and is_digits(declared) and int(declared) > limit:
        raise _too_large(limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _too_large(limit)
    if not body.strip():
        raise bad_request("The request needs a JSON object body.")
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        raise bad_request("The body is not valid JSON.") from None
    if not isinstance(value, dict):
        raise bad_request("The body must be a JSON object.")
    try:  # JSON may escape lone surrogates ("\ud800"), which are not text (RFC 8259, 8.2)
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise bad_request("The body holds a lone surrogate escape; send valid Unicode.") from None
    except RecursionError:
        raise bad_request("The body is nested too deeply.") from None
    return value


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "request_too_large", f"The body is over {limit} bytes.")


# A character that is not whitespace as the OpenAPI document's pattern `\S`
# means it (ECMAScript's \s). Python's str.strip() also strips characters
# ECMAScript keeps (U+0085, U+001C..U+001F), which the schema allows.
_NOT_BLANK = re.compile(
    "[^\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]")


def string_field(body: dict[str, Any], name: str, *, max_len: int,
                 required: bool = True) -> str | None:
    if name not in body:
        if required:
            raise bad_request(f"'{name}' is required.")
        return None
    value = body[name]
    if not isinstance(value, str):
        raise bad_request(f"'{name}' must be a string.")
    if not _NOT_BLANK.search(value):
        raise bad_request(f"'{name}' must not be empty.")
    if len(value) > max_len:
        raise bad_request(f"'{name}' is at most {max_len} characters.")
    return value


def string_list_field(body: dict[str, Any], name: str) -> list[str] | None:
    """A non-empty list of strings, or None when left out."""
    if name not in body:
        return None
    value = body[name]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad_request(f"'{name}' must be a list of strings.")
    if not value:
        raise bad_request(f"'{name}' must not be empty; leave it out for the default.")
    return value


def optional_int(body: dict[str, Any], name: str, *, low: int, high: int) -> int | None:
    if name not in body:
        return None
    value = body[name]
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # JSON Schema: 30.0 is the integer 30
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_request(f"'{name}' must be an integer from {low} to {high}.")
    if not low <= value <= high:
        raise bad_request(f"'{name}' must be from {low} to {high}; got {value}.")
    return value
