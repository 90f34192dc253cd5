"""The API's resources — sessions, apps, usage — for both clients.

Each call is an :class:`Op`: method, path, body and how to read the answer,
built by a plain function. The sync and async resource classes only hand ops
to their client, so each endpoint is described once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date as Date
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ._frozen import Frozen, set_field
from ._http import quote, urlencode
from ._models import App, AppPage, AsyncAppPage, Deployment, Session, Usage
from ._response import RawResponse

if TYPE_CHECKING:
    from ._client import AsyncPromptFloe, PromptFloe
    from ._streaming import AsyncStream, Stream

__all__ = ["Apps", "AsyncApps", "AsyncSessions", "AsyncUsageResource", "AsyncWithRawResponse",
           "Op", "Sessions", "UsageResource", "WithRawResponse"]

T = TypeVar("T")


class Op(Frozen, Generic[T]):
    """One API call: what to send and how to read its answer."""

    __slots__ = __match_args__ = ("method", "path", "body", "parse")
    method: str
    path: str
    body: Any
    parse: Callable[[Any], T]

    def __init__(self, method: str, path: str, body: Any, parse: Callable[[Any], T]) -> None:
        set_field(self, "method", method)
        set_field(self, "path", path)
        set_field(self, "body", body)
        set_field(self, "parse", parse)


def path_segment(value: str, what: str = "id") -> str:
    """``value`` as one path segment, checked before any request is sent.

    Every character that means something in a URL is percent-encoded, so an id
    can never name another resource; ``"."`` and ``".."``, which no encoding
    keeps from being read as "this" or "the parent" path, are refused
    (``apps.get("..")`` would otherwise ask for ``GET /v1``).
    """
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a string, not {type(value).__name__}")
    if not value or value in (".", ".."):
        shown = "an empty string" if not value else repr(value)
        raise ValueError(f"{what} must be an id such as 'app_123', not {shown}: "
                         "it would change the request's path")
    return quote(value)



def _none(_: Any) -> None:
    return None


def _revoked(body: Any) -> int | None:
    count = body.get("revoked") if isinstance(body, dict) else None
    return count if isinstance(count, int) else None


def issue_session(end_user_id: str, scopes: Sequence[str] | None,
                  ttl_minutes: int | None) -> Op[Session]:
    body: dict[str, Any] = {"endUserId": end_user_id}
    if scopes is not None:
        if isinstance(scopes, str):
            raise TypeError("scopes is a list of scope names, such as ['build', 'read']")
        body["scopes"] = list(scopes)
    if ttl_minutes is not None:
        body["ttlMinutes"] = ttl_minutes
    return Op("POST", "/v1/sessions", body, Session.from_wire)


def revoke_session(session_id: str) -> Op[None]:
    return Op("DELETE", f"/v1/sessions/{path_segment(session_id, 'session_id')}", None, _none)


def revoke_end_user(end_user_id: str) -> Op[int | None]:
    return Op("POST", "/v1/sessions/revoke", {"endUserId": end_user_id}, _revoked)


def _apps_path(cursor: str | None, limit: int | None) -> str:
    query = {k: v for k, v in (("cursor", cursor), ("limit", limit)) if v is not None}
    return "/v1/apps" + (f"?{urlencode(query)}" if query else "")


def list_apps(cursor: str | None, limit: int | None) -> Op[AppPage]:
    return Op("GET", _apps_path(cursor, limit), None, AppPage.from_wire)


def list_apps_async(cursor: str | None, limit: int | None) -> Op[AsyncAppPage]:
    return Op("GET", _apps_path(cursor, limit), None, AsyncAppPage.from_wire)


def get_app(app_id: str) -> Op[App]:
    return Op("GET", f"/v1/apps/{path_segment(app_id, 'app_id')}", None, App.from_wire)


def deploy_app(app_id: str) -> Op[Deployment]:
    path = f"/v1/apps/{path_segment(app_id, 'app_id')}/deploy"
    return Op("POST", path, None, Deployment.from_wire)


def retrieve_usage(date: str | Date | None) -> Op[Usage]:
    path = "/v1/usage" if date is None else f"/v1/usage?{urlencode({'date': str(date)})}"
    return Op("GET", path, None, Usage.from_wire)


def generate_body(prompt: str) -> dict[str, str]:
    if not isinstance(prompt, str):
        raise TypeError("prompt must be a string")
    try:
        prompt.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"the prompt holds a lone surrogate at position {exc.start}, which "
                         "is not text; decode it with errors='replace' first") from None
    return {"prompt": prompt}


# -- sync ----------------------------------------------------------------------

class Sessions:
    """Session tokens for end users. Needs a secret key: call from your server."""

    def __init__(self, client: PromptFloe) -> None:
        self._client = client

    def issue(self, end_user_id: str, *, scopes: Sequence[str] | None = None,
              ttl_minutes: int | None = None) -> Session:
        """Mint a session token for one end user (default: all the key's scopes, 60 min)."""
        return self._client._call(issue_session(end_user_id, scopes, ttl_minutes))

    def revoke(self, session_id: str) -> None:
        """Revoke one session at once; its token then gets 401."""
        self._client._call(revoke_session(session_id))

    def revoke_end_user(self, end_user_id: str) -> int | None:
        """Revoke every live session of an end user; returns how many, if the API says."""
        return self._client._call(revoke_end_user(end_user_id))


class Apps:
    def __init__(self, client: PromptFloe) -> None:
        self._client = client

    def generate_stream(self, prompt: str) -> Stream:
        """Generate an app; iterate the result for ``run``, ``file`` and ``ready`` events."""
        return self._client._stream(generate_body(prompt))

    def list(self, *, cursor: str | None = None, limit: int | None = None) -> AppPage:
        """A page of apps, newest first; iterate it for every app of every page."""
        page = self._client._call(list_apps(cursor, limit))
        return AppPage(page.data, page.next_cursor,
                       lambda next_cursor: self.list(cursor=next_cursor, limit=limit))

    def get(self, app_id: str) -> App:
        return self._client._call(get_app(app_id))

    def deploy(self, app_id: str) -> Deployment:
        return self._client._call(deploy_app(app_id))


class UsageResource:
    def __init__(self, client: PromptFloe) -> None:
        self._client = client

    def retrieve(self, *, date: str | Date | None = None) -> Usage:
        """The workspace's usage on ``date`` (default: today, UTC), per end user."""
        return self._client._call(retrieve_usage(date))


# -- async ---------------------------------------------------------------------

class AsyncSessions:
    """Session tokens for end users. Needs a secret key: call from your server."""

    def __init__(self, client: AsyncPromptFloe) -> None:
        self._client = client

    async def issue(self, end_user_id: str, *, scopes: Sequence[str] | None = None,
                    ttl_minutes: int | None = None) -> Session:
        """Mint a session token for one end user (default: all the key's scopes, 60 min)."""
        return await self._client._call(issue_session(end_user_id, scopes, ttl_minutes))

    async def revoke(self, session_id: str) -> None:
        """Revoke one session at once; its token then gets 401."""
        await self._client._call(revoke_session(session_id))

    async def revoke_end_user(self, end_user_id: str) -> int | None:
        """Revoke every live session of an end user; returns how many, if the API says."""
        return await self._client._call(revoke_end_user(end_user_id))


class AsyncApps:
    def __init__(self, client: AsyncPromptFloe) -> None:
        self._client = client

    def generate_stream(self, prompt: str) -> AsyncStream:
        """Generate an app; ``async for`` over the result for ``run``, ``file``, ``ready``."""
        return self._client._stream(generate_body(prompt))

    async def list(self, *, cursor: str | None = None, limit: int | None = None
                   ) -> AsyncAppPage:
        """A page of apps, newest first; ``async for`` over it for every app of every page."""
        page = await self._client._call(list_apps_async(cursor, limit))

        async def fetch(next_cursor: str) -> AsyncAppPage:
            return await self.list(cursor=next_cursor, limit=limit)

        return AsyncAppPage(page.data, page.next_cursor, fetch)

    async def get(self, app_id: str) -> App:
        return await self._client._call(get_app(app_id))

    async def deploy(self, app_id: str) -> Deployment:
        return await self._client._call(deploy_app(app_id))


class AsyncUsageResource:
    def __init__(self, client: AsyncPromptFloe) -> None:
        self._client = client

    async def retrieve(self, *, date: str | Date | None = None) -> Usage:
        """The workspace's usage on ``date`` (default: today, UTC), per end user."""
        return await self._client._call(retrieve_usage(date))


# -- with_raw_response: the same calls, answering RawResponse --------------------

class RawSessions:
    def __init__(self, client: PromptFloe) -> None:
        self._client = client

    def issue(self, end_user_id: str, *, scopes: Sequence[str] | None = None,
              ttl_minutes: int | None = None) -> RawResponse[Session]:
        return self._client._call_raw(issue_session(end_user_id, scopes, ttl_minutes))

    def revoke(self, session_id: str) -> RawResponse[None]:
        return self._client._call_raw(revoke_session(session_id))

    def revoke_end_user(self, end_user_id: str) -> RawResponse[int | None]:
        return self._client._call_raw(revoke_end_user(end_user_id))


class RawApps:
    def __init__(self, client: PromptFloe) -> None:
        self._client = client

    def list(self, *, cursor: str | None = None, limit: int | None = None
             ) -> RawResponse[AppPage]:
        return self._client._call_raw(list_apps(cursor, limit))

    def get(self, app_id: str) -> RawResponse[App]:
        return self._client._call_raw(get_app(app_id))

    def deploy(self, app_id: str) -> RawResponse[Deployment]:
        return self._client._call_raw(deploy_app(app_id))


class RawUsage:
    def __init__(self, client: PromptFloe) -> None:
        self._client = client

    def retrieve(self, *, date: str | Date | None = None) -> RawResponse[Usage]:
        return self._client._call_raw(retrieve_usage(date))


class WithRawResponse:
    """``client.with_raw_response``: each call returns a :class:`RawResponse`."""

    def __init__(self, client: PromptFloe) -> None:
        self.sessions = RawSessions(client)
        self.apps = RawApps(client)
        self.usage = RawUsage(client)


class AsyncRawSessions:
    def __init__(self, client: AsyncPromptFloe) -> None:
        self._client = client

    async def issue(self, end_user_id: str, *, scopes: Sequence[str] | None = None,
                    ttl_minutes: int | None = None) -> RawResponse[Session]:
        return await self._client._call_raw(issue_session(end_user_id, scopes, ttl_minutes))

    async def revoke(self, session_id: str) -> RawResponse[None]:
        return await self._client._call_raw(revoke_session(session_id))

    async def revoke_end_user(self, end_user_id: str) -> RawResponse[int | None]:
        return await self._client._call_raw(revoke_end_user(end_user_id))


class AsyncRawApps:
    def __init__(self, client: AsyncPromptFloe) -> None:
        self._client = client

    async def list(self, *, cursor: str | None = None, limit: int | None = None
                   ) -> RawResponse[AsyncAppPage]:
        return await self._client._call_raw(list_apps_async(cursor, limit))

    async def get(self, app_id: str) -> RawResponse[App]:
        return await self._client._call_raw(get_app(app_id))

    async def deploy(self, app_id: str) -> RawResponse[Deployment]:
        return await self._client._call_raw(deploy_app(app_id))


class AsyncRawUsage:
    def __init__(self, client: AsyncPromptFloe) -> None:
        self._client = client

    async def retrieve(self, *, date: str | Date | None = None) -> RawResponse[Usage]:
        return await self._client._call_raw(retrieve_usage(date))


class AsyncWithRawResponse:
    """``client.with_raw_response`` of ``AsyncPromptFloe``."""

    def __init__(self, client: AsyncPromptFloe) -> None:
        self.sessions = AsyncRawSessions(client)
        self.apps = AsyncRawApps(client)
        self.usage = AsyncRawUsage(client)
