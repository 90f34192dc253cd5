"""Previews and deployed sites: the generated files, each app on an origin of its own.

Generated code is untrusted. Served from the API's origin it could read any
other preview it knows the id of, share ``localStorage`` with every other
generated app, and receive cookies of the embedding app's site (all of
127.0.0.1 is one site). So each app gets its own origin, which is neither the
API's origin nor the same site as any embedding app: by default
``http://app-<hex>.localhost:<port>/`` for its preview and
``http://site-<hex>.localhost:<port>/`` once deployed (``<hex>`` is the app
id's random part; ``<port>`` the port the server listens on — never taken
from the request's ``Host``). Browsers resolve every ``*.localhost`` name to
loopback (RFC 6761 §6.3), so this needs no DNS set-up. A real deployment sets
``--preview-origin https://{app}.previews.example.com`` and points that
wildcard name at the server.

:class:`PreviewMiddleware` sits in front of the whole API: a request whose
``Host`` is a preview origin gets a file of that one app and nothing else
(no API route, no CORS, no cookies read or set); any other request goes on
to the API, which serves no generated file.

The answers carry headers for user content: ``nosniff``; a CSP that lets
the app load and call only its own origin and frame nothing (so it cannot
call or frame the API, even with its own rights); and
``Cross-Origin-Resource-Policy: cross-origin`` with
``Cross-Origin-Embedder-Policy: require-corp``, which a cross-origin-isolated
embedder (COEP ``require-corp``) needs before it shows the iframe.
"""

from __future__ import annotations

import posixpath
import re
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from .errors import ApiError, error_response
from .store import Store

__all__ = ["DEFAULT_PREVIEW_ORIGIN", "PreviewMiddleware", "PreviewOrigins"]

DEFAULT_PREVIEW_ORIGIN = "http://{app}.localhost:{port}"

# The kinds of origin an app has, and the host label prefix of each.
PREVIEW, SITE = "app", "site"
_APP_PREFIX = "app_"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8",
    ".json": "application/json", ".md": "text/markdown; charset=utf-8",
    ".txt": "text/plain; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png",
    ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif", ".webp": "image/webp",
    ".ico": "image/x-icon", ".wasm": "application/wasm", ".webmanifest":
    "application/manifest+json",
}

# 'self' is the app's own origin: it may load and call only itself, and frame nothing.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "
    "media-src 'self' data: blob:; connect-src 'self'; frame-src 'none'; worker-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'")

SECURITY_HEADERS = (
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"cross-origin-resource-policy", b"cross-origin"),
    (b"cross-origin-embedder-policy", b"require-corp"),
    (b"referrer-policy", b"no-referrer"),
)


class PreviewOrigins:
    """The preview origin template: ``scheme://…{app}…[:{port}]``.

    ``{app}`` becomes one DNS label per app and kind (``app-<hex>`` or
    ``site-<hex>``); ``{port}``, if present, the port the server listens on.
    """

    def __init__(self, template: str = DEFAULT_PREVIEW_ORIGIN) -> None:
        problem = _template_problem(template)
        if problem:
            raise ValueError(f"--preview-origin {template!r} {problem}")
        self.template = template.rstrip("/")
        host = re.escape(_host_of(self.template).lower())
        self._host = re.compile(host.replace(re.escape("{app}"), r"(app|site)-([0-9a-f]{32})"))

    def __repr__(self) -> str:
        return f"PreviewOrigins({self.template!r})"

    def url(self, kind: str, app_id: str, port: int | None) -> str:
        """The absolute URL of an app's preview (``kind="app"``) or site, with its slash."""
        assert kind in (PREVIEW, SITE) and app_id.startswith(_APP_PREFIX)
        origin = self.template.replace("{app}", f"{kind}-{app_id[len(_APP_PREFIX):]}")
        if "{port}" in origin:
            origin = (origin.replace(":{port}", "") if port is None
                      else origin.replace("{port}", str(port)))
        return origin + "/"

    def match(self, host: str) -> tuple[str, str] | None:
        """``(kind, app_id)`` when ``host`` (a Host header) is one of an app's origins."""
        name = host.lower()
        if name.startswith("["):
            return None  # an IPv6 literal is never a preview origin
        found = self._host.fullmatch(name.rsplit(":", 1)[0])
        if found is None:
            return None
        return str(found.group(1)), _APP_PREFIX + str(found.group(2))


def _host_of(template: str) -> str:
    """The host part of an origin template: ``{app}.localhost`` of ``http://{app}.localhost:{port}``."""
    netloc = template.split("://", 1)[-1].split("/", 1)[0]
    return netloc.rsplit(":", 1)[0] if ":" in netloc else netloc


def _template_problem(template: str) -> str | None:
    parts = urlsplit(template.replace("{app}", "x").replace("{port}", "1"))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an http:// or https:// origin"
    if parts.path not in ("", "/") or parts.query or parts.fragment or "@" in parts.netloc:
        return "must be an origin only: scheme, host and port"
    if "{app}" not in _host_of(template):
        return "must put {app} in the host name (one origin per app)"
    if re.sub(r"\{app\}|\{port\}", "", template).count("{"):
        return "may hold only the placeholders {app} and {port}"
    try:
        parts.port  # noqa: B018 (a malformed port raises here)
    except ValueError:
        return "has a malformed port"
    return None


class PreviewMiddleware:
    """Answers requests for a preview origin with the app's files; passes the rest on."""

    def __init__(self, app: ASGIApp, origins: PreviewOrigins, store: Store) -> None:
        self.app = app
        self.origins = origins
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            found = self.origins.match(Headers(scope=scope).get("host", ""))
            if found is not None:
                await self._serve(scope, send, *found)
                return
        await self.app(scope, receive, send)

    async def _serve(self, scope: Scope, send: Send, kind: str, app_id: str) -> None:
        method = scope["method"]
        if method not in ("GET", "HEAD"):
            await self._error(scope, send, ApiError(
                405, "method_not_allowed", f"{method} is not allowed here; use GET.",
                headers={"Allow": "GET, HEAD"}))
            return
        path: str = scope["path"].lstrip("/")
        if path == "" or path.endswith("/"):
            path += "index.html"
        app = self.store.app(app_id)
        if app is None or (kind == SITE and app.deployed_url is None):
            await self._error(scope, send, ApiError(404, "not_found", "No such app."))
            return
        content = self.store.file_content(app_id, path)
        if content is None:
            await self._error(scope, send, ApiError(404, "not_found", "No such file."))
            return
        headers = [(b"content-type", _content_type(path).encode()),
                   (b"content-length", str(len(content)).encode()), *SECURITY_HEADERS]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body",
                    "body": b"" if method == "HEAD" else content})

    @staticmethod
    async def _error(scope: Scope, send: Send, error: ApiError) -> None:
        response = error_response(error)
        for name, value in SECURITY_HEADERS:
            response.headers[name.decode()] = value.decode()

        async def nothing() -> dict[str, str]:
            return {"type": "http.disconnect"}

        await response(scope, nothing, send)


def _content_type(path: str) -> str:
    return CONTENT_TYPES.get(posixpath.splitext(path)[1].lower(), "application/octet-stream")
