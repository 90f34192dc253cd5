"""``/preview/{appId}/…`` and ``/sites/{appId}/…``: the generated files, for an iframe.

Not behind ``Authorization``: an iframe cannot send a bearer header, so the
app id (128 random bits) is the capability. ``/sites/`` serves only deployed
apps. The folder path serves ``index.html``; content types come from the file
name; ``nosniff`` keeps the browser to them. CORP comes from cors.py.
"""

from __future__ import annotations

import posixpath

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ..errors import not_found
from ..services import services

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8",
    ".json": "application/json", ".md": "text/markdown; charset=utf-8",
    ".txt": "text/plain; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png",
    ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif", ".webp": "image/webp",
    ".ico": "image/x-icon", ".wasm": "application/wasm", ".webmanifest":
    "application/manifest+json",
}


def _content_type(path: str) -> str:
    return CONTENT_TYPES.get(posixpath.splitext(path)[1].lower(), "application/octet-stream")


async def app_root(request: Request) -> Response:
    # Relative links (styles.css, app.js) resolve against the folder, so add its slash.
    return RedirectResponse(f"{request.url.path}/", status_code=308)


async def app_file(request: Request) -> Response:
    svc = services(request)
    app_id: str = request.path_params["app_id"]
    path: str = request.path_params["path"] or "index.html"
    if path.endswith("/"):
        path += "index.html"
    app = svc.store.app(app_id)
    deployed_only = request.url.path.startswith("/sites/")
    if app is None or (deployed_only and app.deployed_url is None):
        raise not_found("app")
    content = svc.store.file_content(app_id, path)
    if content is None:
        raise not_found("file")
    return Response(content, media_type=_content_type(path), headers={
        "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


routes = [
    Route("/preview/{app_id}", app_root, methods=["GET"]),
    Route("/preview/{app_id}/{path:path}", app_file, methods=["GET"]),
    Route("/sites/{app_id}", app_root, methods=["GET"]),
    Route("/sites/{app_id}/{path:path}", app_file, methods=["GET"]),
]
