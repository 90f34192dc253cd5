"""The few bits of HTTP syntax the client writes and reads, without the stdlib's weight.

``urllib.parse`` and ``email.utils`` cost about 100 ms to import in Pyodide
(``urllib.parse`` pulls in ``ipaddress``), which is most of what
``import pf_browser`` used to take there. The client needs only:

- :func:`quote`, an id as one path segment (``urllib.parse.quote(s, safe="")``);
- :func:`urlencode`, a query string (``urllib.parse.urlencode``, spaces as ``+``);
- :func:`parse_http_date`, the ``Date`` and ``Retry-After`` headers.

Servers send HTTP dates as IMF-fixdate (RFC 9110, 5.6.7), parsed here; the
two obsolete forms a recipient must still accept go to ``email.utils``, which
is imported only then.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime

__all__ = ["parse_http_date", "quote", "urlencode"]

# RFC 3986 "unreserved": never percent-encoded.
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")
_ESCAPE = [chr(b) if b in _UNRESERVED else f"%{b:02X}" for b in range(256)]
_ESCAPE_PLUS = [*_ESCAPE[:32], "+", *_ESCAPE[33:]]


def quote(value: str) -> str:
    """Percent-encode every byte of ``value`` (UTF-8) but the unreserved ones."""
    return "".join([_ESCAPE[b] for b in value.encode("utf-8")])


def _quote_plus(value: str) -> str:
    return "".join([_ESCAPE_PLUS[b] for b in value.encode("utf-8")])


def urlencode(query: Mapping[str, object]) -> str:
    """``k=v&…`` with each key and ``str(value)`` form-encoded (spaces as ``+``)."""
    return "&".join(f"{_quote_plus(str(k))}={_quote_plus(str(v))}" for k, v in query.items())


_MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}
_IMF_FIXDATE = re.compile(
    r"\s*(?:[A-Za-z]{3},\s*)?(\d{1,2}) ([A-Za-z]{3}) (\d{4}) (\d\d):(\d\d):(\d\d) GMT\s*\Z")


def parse_http_date(value: str) -> datetime:
    """An HTTP date as an aware UTC datetime; ``ValueError`` if it is not one."""
    if not isinstance(value, str):
        raise TypeError(f"expected a str, got {type(value).__name__}")
    found = _IMF_FIXDATE.match(value)
    month = _MONTHS.get(found.group(2).title()) if found else None
    if found is None or month is None:
        from email.utils import parsedate_to_datetime  # the obsolete forms only

        parsed = parsedate_to_datetime(value)
        # asctime has no zone, and HTTP dates are always in GMT.
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    day, _, year, hour, minute, second = found.groups()
    return datetime(int(year), month, int(day), int(hour), int(minute), int(second),
                    tzinfo=UTC)
