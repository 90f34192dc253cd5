"""Which requests the demo app server answers, and where it sends people back.

The demo server holds the workspace's secret key and mints session tokens
for whoever is signed in, so three things are checked:

- **Host.** Only requests addressed to the demo's own origin are answered. By
  default that is any loopback name (``127.0.0.1``, ``localhost``, ``[::1]``)
  with the request's port; with ``public_origin`` it is that origin only; with
  ``trust_host_header`` (behind a proxy that sets Host) any Host. A page on
  another site whose name was made to resolve to 127.0.0.1 (DNS rebinding)
  sends its own name as Host, and is refused.
- **Cross-site requests.** Sign-in and sign-out change who is signed in, so
  they must come from the demo's own pages: ``Sec-Fetch-Site: same-origin``,
  else an ``Origin`` (or, failing that, a ``Referer``) of the demo's own
  origin. A request with none of these is refused too, as are sandboxed
  frames (``Origin: null``), such as a generated app in the preview.
- **Redirects.** After a sign-in or sign-out the browser goes back to the page
  the form was on: a path of the demo's own, given as a path (never built
  from Host), and never one a browser would read as another host
  (``//evil.example/x``).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from starlette.requests import Request

__all__ = ["LOOPBACK_HOSTS", "OriginPolicy", "safe_local_path"]

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def _origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of an absolute http(s) URL, lower-cased; else None."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    default = 80 if parts.scheme == "http" else 443
    return f"{parts.scheme}://{host}" + ("" if port in (None, default) else f":{port}")


class OriginPolicy:
    """The demo's own origin, and whether a request comes from it."""

    def __init__(self, public_origin: str | None = None, trust_host_header: bool = False
                 ) -> None:
        self.public_origin = None
        if public_origin is not None:
            self.public_origin = _origin_of(public_origin)
            if self.public_origin is None:
                raise ValueError(f"public_origin must be an http(s) origin such as "
                                 f"'https://demo.example', not {public_origin!r}")
        self.trust_host_header = trust_host_header

    def own_origin(self, request: Request) -> str | None:
        """The origin this request was addressed to, if it is one of ours."""
        host = request.headers.get("host", "")
        if self.public_origin is not None and not self.trust_host_header:
            # The public origin's scheme: TLS may end in a proxy in front of us.
            scheme = self.public_origin.split(":", 1)[0]
            addressed = _origin_of(f"{scheme}://{host}") if host else None
            return self.public_origin if addressed == self.public_origin else None
        addressed = _origin_of(f"{request.url.scheme}://{host}") if host else None
        if addressed is None:
            return None
        if self.trust_host_header:
            return addressed
        hostname = urlsplit(addressed).hostname or ""
        return addressed if hostname in LOOPBACK_HOSTS else None

    def host_problem(self, request: Request) -> str | None:
        """Why this request's Host is not ours, or None."""
        if self.own_origin(request) is not None:
            return None
        if self.public_origin is not None:
            return (f"This server answers as {self.public_origin} only; the request was "
                    "addressed to another host.")
        return ("This demo server answers on loopback names (127.0.0.1, localhost) only; "
                "start it with --public-origin to serve it under another name.")

    def cross_site_problem(self, request: Request) -> str | None:
        """Why this request may not change who is signed in, or None if it may."""
        own = self.own_origin(request)
        fetch_site = request.headers.get("sec-fetch-site")
        if fetch_site is not None and fetch_site != "same-origin":
            return f"the browser says it came from another site (Sec-Fetch-Site: {fetch_site})"
        origin = request.headers.get("origin")
        if origin is not None:
            if own is not None and _origin_of(origin) == own:
                return None
            return "it came from another origin"
        if fetch_site == "same-origin":
            return None
        referer = request.headers.get("referer")
        if referer:
            if own is not None and _origin_of(referer) == own:
                return None
            return "it came from another origin"
        return "it does not say which page sent it (no Origin, Sec-Fetch-Site or Referer)"


def safe_local_path(referer: str | None, own_origin: str | None,
                    is_page: Callable[[str], bool] = lambda path: True) -> str:
    """The path of ``referer`` if it is a page of ``own_origin``, else ``/``.

    The result is always a path that a browser resolves on the demo's own
    origin: it starts with one ``/`` and holds no backslash (which browsers
    read as ``/``) or control character, so ``//evil.example/x`` and
    ``/\\evil.example`` never come out.
    """
    if not referer or own_origin is None or _origin_of(referer) != own_origin:
        return "/"
    path = urlsplit(referer).path or "/"
    if (not path.startswith("/") or path.startswith("//") or "\\" in path
            or any(ord(c) < 0x21 or ord(c) == 0x7F for c in path) or not is_page(path)):
        return "/"
    return path
