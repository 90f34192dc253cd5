"""Reading the dashboard's form posts strictly, and refusing cross-site ones.

A form arrives as ``application/x-www-form-urlencoded`` (what an HTML form
sends by default), at most :data:`MAX_FORM` bytes, valid UTF-8, each field
once. Anything else is a :class:`PageError` with words a person can act on,
never a 500. :func:`check_origin` refuses a post whose ``Origin`` names
another origin (OWASP, "Verifying origin with standard headers"); the form
token (:mod:`.sessions`) is checked as well, since a request need not carry
``Origin``; :func:`check_fetch_metadata` keeps scripts out of the pages.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from starlette.requests import Request

from ..services import services

__all__ = ["MAX_FORM", "PageError", "check_fetch_metadata", "check_origin", "read_form",
           "text_field"]

MAX_FORM = 16 * 1024
_MAX_FIELDS = 20


class PageError(Exception):
    """Answer with the dashboard's error page: ``status`` and a sentence."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def read_form(request: Request) -> dict[str, str]:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/x-www-form-urlencoded":
        raise PageError(415, "Send this form from the dashboard's page (as "
                        "application/x-www-form-urlencoded).")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM:
            raise PageError(413, f"The form is over {MAX_FORM // 1024} KB; nothing was done.")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, encoding="utf-8",
                          errors="strict", max_num_fields=_MAX_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise PageError(400, "The form could not be read (not UTF-8, or too many fields); "
                        "nothing was done.") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            raise PageError(400, f"The form sent '{name}' twice; nothing was done.")
        form[name] = value
    return form


def text_field(form: dict[str, str], name: str, label: str, *, max_len: int) -> str:
    """A field that must not be blank, kept as sent (the API's rule for ids)."""
    value = form.get(name, "")
    if not value.strip():
        raise PageError(400, f"{label} is missing.")
    if len(value) > max_len:
        raise PageError(400, f"{label} is at most {max_len} characters.")
    return value


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def check_origin(request: Request) -> None:
    """Refuse a post that says it comes from another origin (or from an opaque one)."""
    sent = request.headers.get("origin")
    if sent is None:
        return
    ours = {_origin(str(request.base_url))}
    public = services(request).public_url
    if public:
        ours.add(_origin(public))
    if sent.lower() not in ours:
        raise PageError(403, "This form was sent from another site, so it was refused. "
                        "Use the dashboard's own page.")


def check_fetch_metadata(request: Request) -> None:
    """Pages open only as the browser's own navigations; forms post only from this origin.

    A resource isolation policy on Fetch Metadata (W3C "Fetch Metadata Request
    Headers"; web.dev, "Protect your resources from web attacks with Fetch
    Metadata"): a script's ``fetch()`` — even from this origin, such as a
    generated app opened from its preview link — is refused, so it can neither
    read a page's form token nor send a form. A request without these headers
    (not from a browser that sends them) still needs the form token.
    """
    dest = request.headers.get("sec-fetch-dest")
    if dest is None:
        return
    site = request.headers.get("sec-fetch-site", "")
    if dest != "document" or (request.method == "POST" and site != "same-origin"):
        raise PageError(403, "The dashboard opens only as a page of its own, and its forms "
                        "are sent only from it; this request was refused.")
