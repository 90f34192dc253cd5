"""``/openapi.json`` (the contract, from pf_server/openapi.json) and ``/healthz``."""

from __future__ import annotations

from importlib.resources import files

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

OPENAPI = files("pf_server").joinpath("openapi.json").read_bytes()


async def openapi(request: Request) -> Response:
    return Response(OPENAPI, media_type="application/json")


async def healthz(request: Request) -> Response:
    return JSONResponse({"ok": True})


routes = [
    Route("/openapi.json", openapi, methods=["GET"]),
    Route("/healthz", healthz, methods=["GET"]),
]
