"""The dashboard's pages and form posts.

``GET /dashboard`` shows the sign-in form, or, signed in, the workspace's
usage. ``POST /dashboard/sign-in`` takes a secret key (a session token is
refused) and starts a dashboard session (:mod:`.sessions`) in a cookie that is
``HttpOnly``, ``SameSite=Strict``, limited to ``/dashboard`` and never holds
the key. ``POST /dashboard/revoke`` ends an end user's sessions with the very
call ``POST /v1/sessions/revoke`` makes; ``POST /dashboard/sign-out`` ends the
dashboard session. Every post checks its origin and its form token first.
Bad input answers a page that says what went wrong, with its status, and
never a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ..credentials import SESSION_PREFIX, hashes_match
from ..services import Services, services
from ..store import KeyRecord
from ..usage import parse_day
from . import sessions
from .charts import METRICS
from .forms import PageError, check_fetch_metadata, check_origin, read_form, text_field
from .overview import overview
from .render import SECURITY_HEADERS, page, stylesheet
from .sessions import COOKIE, PATH, SIGN_IN_COOKIE, TTL, DashboardSession

__all__ = ["routes"]

log = logging.getLogger("pf_server")

MAX_END_USER_ID = 256   # as POST /v1/sessions allows
_MAX_KEY = 512
Endpoint = Callable[[Request], Awaitable[Response]]


# -- cookies and redirects ---------------------------------------------------------------

def _secure(request: Request, svc: Services) -> bool:
    """``Secure`` wherever the dashboard is served over HTTPS (not on plain loopback HTTP)."""
    return request.url.scheme == "https" or (svc.public_url or "").startswith("https:")


def _set_cookie(response: Response, request: Request, name: str, value: str,
                max_age: int | None) -> None:
    response.set_cookie(name, value, max_age=max_age, path=PATH, httponly=True,
                        samesite="strict", secure=_secure(request, services(request)))


def _forget(response: Response, request: Request, name: str) -> None:
    response.delete_cookie(name, path=PATH, httponly=True, samesite="strict",
                           secure=_secure(request, services(request)))


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers=SECURITY_HEADERS)


def _current(request: Request) -> DashboardSession | None:
    svc = services(request)
    return sessions.find(svc.store, request.cookies.get(COOKIE), svc.clock.now())


def _check_form_token(session: DashboardSession, form: dict[str, str]) -> None:
    if not hashes_match(session.form_token, form.get("csrf", "")):
        raise PageError(403, "This form is from an older page or another site, so nothing "
                        "was done. Reload the dashboard and try again.")


# -- sign-in -----------------------------------------------------------------------------

def _sign_in_page(request: Request, *, status: int = 200, error: str | None = None,
                  notice: str | None = None) -> Response:
    token = request.cookies.get(SIGN_IN_COOKIE)
    fresh = not sessions.plausible(token)
    if fresh:
        token = sessions.new_sign_in_token()
    assert token is not None
    response = page("sign_in.html", status, form_token=sessions.form_token(token),
                    error=error, notice=notice, ttl_minutes=TTL // 60)
    if fresh:
        _set_cookie(response, request, SIGN_IN_COOKIE, token, None)
    if COOKIE in request.cookies:  # an ended session's cookie: nothing to keep
        _forget(response, request, COOKIE)
    return response


def _key(svc: Services, sent: str) -> KeyRecord:
    secret = sent.strip()  # a key pasted from a file may end in a newline
    if not secret:
        raise PageError(400, "Paste a secret key of your workspace to sign in.")
    if secret.startswith(SESSION_PREFIX):
        raise PageError(403, "That is a session token, which belongs to an end user's "
                        "browser. Sign in with your workspace's secret key (pf_test_…).")
    if len(secret) > _MAX_KEY or not (secret.isascii() and secret.isprintable()):
        raise PageError(400, "That is not a PromptFloe secret key; keys start with pf_test_ "
                        "or pf_live_.")
    key = svc.store.key_by_secret(secret)
    if key is None:
        raise PageError(401, "This server knows no such key. Check it, or create one with "
                        "`promptfloe-server keys create`.")
    if key.revoked_at is not None:
        raise PageError(401, "That key was revoked; sign in with another one.")
    return key


async def sign_in(request: Request) -> Response:
    svc = services(request)
    try:
        check_origin(request)
        form = await read_form(request)
        token = request.cookies.get(SIGN_IN_COOKIE)
        if token is None or not sessions.plausible(token) or not sessions.form_token_matches(
                token, form.get("csrf", "")):
            raise PageError(403, "This sign-in form is from an older page or another site. "
                            "Sign in again here.")
        key = _key(svc, form.get("key", ""))
    except PageError as e:
        return _sign_in_page(request, status=e.status, error=e.message)
    now = svc.clock.now()
    previous = _current(request)
    if previous is not None:
        sessions.end(svc.store, previous.id, now)
    _, cookie_token = sessions.start(svc.store, key, now)
    response = _redirect(PATH)
    _set_cookie(response, request, COOKIE, cookie_token, TTL)
    _forget(response, request, SIGN_IN_COOKIE)
    return response


async def sign_out(request: Request) -> Response:
    svc = services(request)
    session = _current(request)
    if session is not None:
        check_origin(request)
        _check_form_token(session, await read_form(request))
        sessions.end(svc.store, session.id, svc.clock.now())
    response = _redirect(f"{PATH}?signed_out=1")
    _forget(response, request, COOKIE)
    return response


# -- the dashboard -----------------------------------------------------------------------

async def show(request: Request) -> Response:
    svc = services(request)
    session = _current(request)
    ws = None if session is None else svc.store.workspace(session.workspace_id)
    if session is None or ws is None:
        notice = None
        if request.query_params.get("signed_out") == "1":
            notice = "You are signed out."
        elif COOKIE in request.cookies:
            notice = "Your dashboard session ended. Sign in again to go on."
        return _sign_in_page(request, notice=notice)
    day, runs_of, metric, errors = _choices(request)
    return page("overview.html", 400 if errors else 200,
                o=overview(svc.store, ws, svc.clock.now(), day, runs_of, metric),
                session=session, errors=errors,
                notice=sessions.take_notice(svc.store, session.id))


def _choices(request: Request) -> tuple[str | None, str | None, str, list[str]]:
    """The day, the end user whose runs to list, and what the charts count, from the
    query; what was wrong in it falls back to the default, with a sentence."""
    query, errors = request.query_params, []
    day = query.get("date") or None
    if day is not None and parse_day(day) is None:
        errors.append("The date must be a day as YYYY-MM-DD, such as 2026-11-29; "
                      "showing today instead.")
        day = None
    runs_of = query.get("user") or None
    if runs_of is not None and len(runs_of) > MAX_END_USER_ID:
        errors.append(f"An end user's id is at most {MAX_END_USER_ID} characters; "
                      "showing every end user's runs.")
        runs_of = None
    metric = query.get("chart") or "runs"
    if metric not in METRICS:
        errors.append("The charts show 'runs' or 'calls'; showing runs.")
        metric = "runs"
    return day, runs_of, metric, errors


async def revoke(request: Request) -> Response:
    svc = services(request)
    session = _current(request)
    if session is None:
        return _sign_in_page(request, status=401, error="Your dashboard session ended, so "
                             "nothing was revoked. Sign in and try again.")
    check_origin(request)
    form = await read_form(request)
    _check_form_token(session, form)
    end_user = text_field(form, "endUserId", "The end user's id", max_len=MAX_END_USER_ID)
    # The same revocation as POST /v1/sessions/revoke (routes/sessions.py).
    count = svc.store.revoke_end_user(session.workspace_id, end_user, svc.clock.now())
    if count:
        notice = (f"Revoked {count} live session{'s' if count != 1 else ''} of {end_user}: "
                  "their tokens get 401 from now on.")
    else:
        notice = f"{end_user} had no live session; nothing was revoked."
    sessions.set_notice(svc.store, session.id, notice)
    day = parse_day(form.get("date", ""))
    return _redirect(f"{PATH}?date={day}" if day else PATH)


async def css(request: Request) -> Response:
    return Response(stylesheet(), media_type="text/css; charset=utf-8",
                    headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"})


async def not_found(request: Request) -> Response:
    if request.url.path == f"{PATH}/":
        return _redirect(PATH)
    raise PageError(404, "There is no such page in the dashboard.")


# -- routing: every method reaches the dashboard's own answers -----------------------------

_ALL = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def _route(path: str, handler: Endpoint, method: str | None, *, document: bool = True
           ) -> Route:
    async def endpoint(request: Request) -> Response:
        allowed = {method, "HEAD"} if method == "GET" else {method}
        if method is not None and request.method not in allowed:
            if method == "POST" and request.method in ("GET", "HEAD"):
                return _redirect(PATH)  # a reload or a typed URL of a form's target
            return page("error.html", 405, message=f"{request.method} is not used here.")
        try:
            if document:
                check_fetch_metadata(request)
            return await handler(request)
        except PageError as e:
            return page("error.html", e.status, message=e.message)
        except Exception:
            log.exception("dashboard failed on %s %s (request %s)", request.method, path,
                          request.scope.get("state", {}).get("request_id", "-"))
            return page("error.html", 500, message="The dashboard failed on this request; "
                        "try again. The server's log says what went wrong.")

    return Route(path, endpoint, methods=_ALL)


routes = [
    _route(PATH, show, "GET"),
    _route(f"{PATH}/sign-in", sign_in, "POST"),
    _route(f"{PATH}/sign-out", sign_out, "POST"),
    _route(f"{PATH}/revoke", revoke, "POST"),
    _route(f"{PATH}/dashboard.css", css, "GET", document=False),
    _route(PATH + "/{rest:path}", not_found, None),
]
