"""pf_browser._http against the stdlib functions it stands in for."""

from __future__ import annotations

import random
import subprocess
import sys
import urllib.parse
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

import pytest

from pf_browser._http import parse_http_date, quote, urlencode

SAMPLES = ["", "app_123", "a b", "a/b?c=d&e#f", "100%", "+~-._", "é ✓ 🚀", "\x00\n\x7f",
           "run_9z/../x"]


def random_text(rng: random.Random) -> str:
    alphabet = [chr(c) for c in range(0, 0x250)] + ["🚀", "✓", "\ud7ff"]
    return "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 12)))


def test_quote_matches_urllib_with_nothing_safe() -> None:
    rng = random.Random(13)
    for text in SAMPLES + [random_text(rng) for _ in range(2000)]:
        assert quote(text) == urllib.parse.quote(text, safe=""), text


def test_urlencode_matches_urllib() -> None:
    rng = random.Random(31)
    queries: list[dict[str, object]] = [{}, {"limit": 20}, {"cursor": "a b/c+d", "limit": 5},
                                        {"date": "2026-01-02"}]
    queries += [{random_text(rng): random_text(rng) for _ in range(3)} for _ in range(500)]
    for query in queries:
        assert urlencode(query) == urllib.parse.urlencode(query), query


@pytest.mark.parametrize("value", [
    "Sun, 06 Nov 1994 08:49:37 GMT",        # IMF-fixdate
    "Sunday, 06-Nov-94 08:49:37 GMT",       # obsolete RFC 850
    "Sun Nov  6 08:49:37 1994",             # obsolete asctime
    "Thu, 01 Jan 1970 00:00:00 GMT",
    "Fri, 31 Dec 9999 23:59:59 GMT",
    " Mon, 29 Feb 2028 12:00:00 GMT ",
])
def test_parse_http_date_matches_email_utils(value: str) -> None:
    ours = parse_http_date(value)
    theirs = parsedate_to_datetime(value)
    # email.utils leaves the zoneless asctime form naive; an HTTP date is GMT.
    assert ours == (theirs if theirs.tzinfo else theirs.replace(tzinfo=UTC))
    assert ours.utcoffset() is not None


def test_parse_http_date_round_trips_random_dates() -> None:
    rng = random.Random(7)
    for _ in range(500):
        when = datetime.fromtimestamp(rng.randrange(0, 2**33), tz=UTC)
        assert parse_http_date(format_datetime(when, usegmt=True)) == when


@pytest.mark.parametrize("value", ["", "soon", "Sun, 31 Feb 2026 08:49:37 GMT",
                                   "Sun, 06 Nov 1994 25:49:37 GMT"])
def test_parse_http_date_rejects_what_is_not_a_date(value: str) -> None:
    with pytest.raises(ValueError):
        parse_http_date(value)


def test_the_client_and_an_http_date_need_neither_urllib_parse_nor_email() -> None:
    # They cost about 100 ms to import in Pyodide: the browser path avoids them.
    # -S -I: no site, so nothing but pf_browser imports anything.
    code = ("import sys\nsys.path.insert(0, sys.argv[1])\n"
            "from pf_browser import AsyncPromptFloe, PromptFloe\n"
            "from pf_browser._http import parse_http_date\n"
            "parse_http_date('Sun, 06 Nov 1994 08:49:37 GMT')\n"
            "heavy = {'urllib.parse', 'email.utils', 'ipaddress'} & set(sys.modules)\n"
            "print(sorted(heavy))")
    done = subprocess.run([sys.executable, "-S", "-I", "-c", code,
                           str(Path(__file__).resolve().parents[1])],
                          capture_output=True, text=True, check=False)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr
