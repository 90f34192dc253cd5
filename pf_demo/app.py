"""The demo app server, assembled: pages, demo sign-in, the session endpoint.

Routes:

- ``GET /config.json``: the API origin and who is signed in, for the page.
- ``POST /signin`` (form field ``user``) and ``POST /signout``: set or clear
  the signed cookie, then go back to the page they came from; only from the
  demo's own pages (see :mod:`pf_demo.guard`).
- ``POST /api/promptfloe/session``: see :mod:`pf_demo.sessions`.
- ``GET /worker.html``: the worker page, cross-origin isolated.
- everything else: the built site/. Under ``/_v/`` the names change with the
  content (build.py), and so do JupyterLite's scripts' (see
  :func:`cached_for_good`), so those are cached for good (``immutable``);
  pages and configs are revalidated on each visit (``no-cache``), so a new
  build's pages, which name new files, are seen at once.
"""

from __future__ import annotations

import logging
import mimetypes
import os
import re
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import parse_qs

import httpx
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from pf_browser import AsyncPromptFloe

from .guard import OriginPolicy, safe_local_path
from .sessions import SessionMinter, error_body
from .users import COOKIE, CookieSigner, DemoUser

log = logging.getLogger("pf_demo")

# Pyodide's module scripts must be served as JavaScript, and
# WebAssembly.instantiateStreaming insists on application/wasm.
mimetypes.add_type("text/javascript", ".mjs")
mimetypes.add_type("application/wasm", ".wasm")

DEFAULT_USERS: tuple[DemoUser, ...] = (
    DemoUser("ada", "Ada (builder)", ("build", "read", "deploy")),
    DemoUser("rey", "Rey (read-only)", ("read",)),
)

# HTML, "cross-origin isolated": what SharedArrayBuffer needs, which the sync
# client's streaming transport (pyodide-http in a worker) relies on. Only the
# worker page pays this price (docs/browser.md, "The sync client in a worker").
ISOLATION_HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
}


IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"

# JupyterLite's scripts named by their content: its build's chunks
# (``build/<name>.<7 hex>.js``, rspack's ``[contenthash:7]``) and each
# extension's (``extensions/<package>/static/<name>.<16 or 20 hex>.js``,
# webpack's ``[contenthash]``). A notebook visit loads about 250 of them;
# revalidated, each would be a round trip on every visit. Their entry points
# (``build/<app>/bundle.js``, ``config-utils.js``, ``jupyter-lite.json``)
# keep their names and are revalidated: they name the others.
LITE_CONTENT_NAMED = re.compile(
    r"lite/(?:build/[\w.-]+\.[0-9a-f]{7}|extensions/[\w@./-]+/static/[\w.-]+\.[0-9a-f]{16}(?:[0-9a-f]{4})?)\.js")


def cached_for_good(path: str) -> bool:
    """Whether the site's file at ``path`` (relative to the site, with ``/``)
    is named by its content, and so can be cached for good."""
    return path.startswith("_v/") or LITE_CONTENT_NAMED.fullmatch(path) is not None


class SiteFiles(StaticFiles):
    """The built site: content-named files (``/_v/…`` and JupyterLite's
    scripts, :func:`cached_for_good`) cached for good, everything else
    revalidated.

    The memory snapshots and file archives under ``/_v/`` (``*.bin.gz``) are
    stored gzipped: to a browser that accepts gzip they go out as they are,
    with ``Content-Encoding: gzip``, so the browser unzips them as they
    arrive, off the page's threads (the boot module unzips them itself when
    a server sends them without): about 0.95x the worker page's cold load,
    A/B against the boot module unzipping them (README, "How the pages
    start fast").
    """

    def file_response(self, full_path: str | os.PathLike[str], stat_result: os.stat_result,
                      scope: Scope, status_code: int = 200) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        path = self.get_path(scope)
        cached = cached_for_good(path.replace(os.sep, "/"))
        response.headers["Cache-Control"] = IMMUTABLE if cached else REVALIDATE
        if cached and path.endswith(".bin.gz"):
            response.headers["Vary"] = "Accept-Encoding"
            if accepts_gzip(Headers(scope=scope).get("accept-encoding")):
                response.headers["Content-Encoding"] = "gzip"
                response.headers["Content-Type"] = "application/octet-stream"
        return response


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether a request's Accept-Encoding allows gzip (not refused with q=0)."""
    for coding in (accept_encoding or "").split(","):
        token, _, params = coding.strip().partition(";")
        if token.strip().lower() in ("gzip", "*"):
            quality = params.strip().removeprefix("q=").strip() or "1"
            try:
                return float(quality) > 0
            except ValueError:
                return False
    return False


def create_app(
    *,
    api_base_url: str,
    api_key: str,
    site_dir: str | Path,
    users: Sequence[DemoUser] = DEFAULT_USERS,
    ttl_minutes: int = 30,
    cookie_secret: bytes | None = None,
    public_origin: str | None = None,
    trust_host_header: bool = False,
) -> Starlette:
    """Build the demo app server.

    ``api_key`` is the workspace's secret key: it is used here to mint
    sessions and is never sent to a browser. ``app.state.minter.count`` is the
    number of sessions minted so far.

    ``public_origin`` (say ``"https://demo.example"``) is the only origin the
    server answers as; without it, it answers on loopback names only.
    ``trust_host_header`` takes the request's Host as its origin, whatever it
    is (behind a proxy that sets it). See :mod:`pf_demo.guard`.
    """
    site = Path(site_dir)
    policy = OriginPolicy(public_origin, trust_host_header)
    by_id: Mapping[str, DemoUser] = {u.id: u for u in users}
    signer = CookieSigner(cookie_secret or secrets.token_bytes(32))
    client = AsyncPromptFloe(api_key=api_key, base_url=api_base_url)
    minter = SessionMinter(client, ttl_minutes, api_base_url)

    async def config(request: Request) -> JSONResponse:
        user: DemoUser | None = request.state.user
        return JSONResponse({
            "apiBaseUrl": api_base_url,
            "user": user_json(user) if user else None,
            "users": [user_json(u) for u in users],
        }, headers={"Cache-Control": "no-store"})

    def refuse_cross_site(request: Request) -> Response | None:
        problem = policy.cross_site_problem(request)
        if problem is None:
            return None
        log.warning("refused %s %s: %s", request.method, request.url.path, problem)
        return JSONResponse(error_body(
            "permission_error", "cross_site_request",
            f"Refused: {problem}. Sign in and out from the demo's own page."),
            status_code=403)

    def back(request: Request) -> RedirectResponse:
        """303 to the page the form was on, as a path of our own; else to ``/``."""
        path = safe_local_path(request.headers.get("referer"), policy.own_origin(request))
        return RedirectResponse(path, status_code=303)

    async def signin(request: Request) -> Response:
        if (refused := refuse_cross_site(request)) is not None:
            return refused
        # A urlencoded form, parsed here: Starlette's request.form() would
        # need python-multipart for one field.
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        user_id = (form.get("user") or [""])[-1]
        if user_id not in by_id:
            return JSONResponse({"error": {"type": "invalid_request_error",
                                           "code": "unknown_user",
                                           "message": "No such demo user."}}, status_code=400)
        response = back(request)
        response.set_cookie(COOKIE, signer.sign(user_id), httponly=True, samesite="lax",
                            path="/")
        return response

    async def signout(request: Request) -> Response:
        if (refused := refuse_cross_site(request)) is not None:
            return refused
        user: DemoUser | None = request.state.user
        if user is not None:
            # Signing out ends the user's live sessions too (docs/api.md,
            # "POST /v1/sessions/revoke"), not only this browser's cookie.
            await revoke_end_user(api_base_url, api_key, user.id)
        response = back(request)
        response.delete_cookie(COOKIE, path="/")
        return response

    async def worker_page(request: Request) -> Response:
        return FileResponse(site / "worker.html",
                            headers={**ISOLATION_HEADERS, "Cache-Control": REVALIDATE})

    async def who(request: Request, call_next: Callable[[Request], Awaitable[Response]]
                  ) -> Response:
        problem = policy.host_problem(request)
        if problem is not None:
            return JSONResponse(error_body("invalid_request_error", "unknown_host", problem),
                                status_code=421)
        user_id = signer.verify(request.cookies.get(COOKIE))
        request.state.user = by_id.get(user_id) if user_id else None
        return await call_next(request)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await client.aclose()  # the connections to the API

    app = Starlette(
        lifespan=lifespan,
        routes=[
            Route("/config.json", config),
            Route("/signin", signin, methods=["POST"]),
            Route("/signout", signout, methods=["POST"]),
            Route("/api/promptfloe/session", minter.handle, methods=["POST"]),
            Route("/worker.html", worker_page),
            Mount("/", SiteFiles(directory=site, html=True)),
        ],
        middleware=[Middleware(BaseHTTPMiddleware, dispatch=who)],
    )
    app.state.minter = minter
    return app


def user_json(user: DemoUser) -> dict[str, object]:
    return {"id": user.id, "name": user.name, "scopes": list(user.scopes)}


async def revoke_end_user(api_base_url: str, api_key: str, end_user_id: str) -> None:
    """POST /v1/sessions/revoke; best effort, sign-out must not fail on it."""
    try:
        async with httpx.AsyncClient(base_url=api_base_url, timeout=5) as http:
            answer = await http.post("/v1/sessions/revoke", json={"endUserId": end_user_id},
                                     headers={"Authorization": f"Bearer {api_key}"})
    except httpx.HTTPError as exc:
        log.warning("sign-out: could not revoke the sessions of %s: PromptFloe at %s "
                    "can't be reached (%s: %s)", end_user_id, api_base_url,
                    type(exc).__name__, exc)
        return
    if answer.status_code >= 300:
        log.warning("sign-out: revoking the sessions of %s: PromptFloe answered %d "
                    "(request id %s)", end_user_id, answer.status_code,
                    answer.headers.get("promptfloe-request-id"))
