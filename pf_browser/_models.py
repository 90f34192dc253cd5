"""Typed results of the API's calls: frozen value classes that are just data
(dataclasses to :mod:`dataclasses`; ``_frozen.py`` says why not ``@dataclass``).

Wire JSON is camelCase; these are snake_case. ``from_wire`` builds one from
the API's JSON and fails with ``KeyError``/``TypeError`` on a malformed body,
which the client turns into a clear error.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import datetime
from typing import Any

from ._frozen import Frozen, set_field

__all__ = [
    "App",
    "AppFile",
    "AppPage",
    "AsyncAppPage",
    "Deployment",
    "EndUserUsage",
    "Session",
    "Usage",
    "parse_datetime",
]


def parse_datetime(value: str) -> datetime:
    """RFC 3339 as the API writes it (``2026-11-28T19:30:00Z``), timezone-aware."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# -- resources ------------------------------------------------------------------

class Session(Frozen):
    """A session token minted for one end user. ``token`` is never in the repr."""

    __slots__ = __match_args__ = ("id", "token", "end_user_id", "scopes", "expires_at",
                                  "expires_in")
    _hidden = ("token",)
    id: str
    token: str
    end_user_id: str
    scopes: tuple[str, ...]
    expires_at: datetime
    expires_in: int

    def __init__(self, id: str, token: str, end_user_id: str, scopes: tuple[str, ...],
                 expires_at: datetime, expires_in: int) -> None:
        set_field(self, "id", id)
        set_field(self, "token", token)
        set_field(self, "end_user_id", end_user_id)
        set_field(self, "scopes", scopes)
        set_field(self, "expires_at", expires_at)
        set_field(self, "expires_in", expires_in)

    @classmethod
    def from_wire(cls, d: dict[str, Any]) -> Session:
        return cls(
            id=d["id"],
            token=d["token"],
            end_user_id=d["endUserId"],
            scopes=tuple(d["scopes"]),
            expires_at=parse_datetime(d["expiresAt"]),
            expires_in=int(d["expiresIn"]),
        )


    def _repr_html_(self) -> str:
        """How a notebook shows it (the HTML is built only when asked for)."""
        from ._html import session_html
        return session_html(self)

class AppFile(Frozen):
    """One file of a generated app (its content is fetched on its own)."""

    __slots__ = __match_args__ = ("path", "size")
    path: str
    size: int

    def __init__(self, path: str, size: int) -> None:
        set_field(self, "path", path)
        set_field(self, "size", size)

    @classmethod
    def from_wire(cls, d: dict[str, Any]) -> AppFile:
        return cls(path=d["path"], size=int(d["size"]))


class App(Frozen):
    """A generated app. ``status`` is ``generating``, ``ready`` or ``failed``."""

    __slots__ = __match_args__ = ("id", "end_user_id", "prompt", "status", "created_at",
                                  "preview_url", "deployed_url", "files")
    id: str
    end_user_id: str | None
    prompt: str
    status: str
    created_at: datetime
    preview_url: str | None
    deployed_url: str | None
    files: tuple[AppFile, ...]

    def __init__(self, id: str, end_user_id: str | None, prompt: str, status: str,
                 created_at: datetime, preview_url: str | None, deployed_url: str | None,
                 files: tuple[AppFile, ...]) -> None:
        set_field(self, "id", id)
        set_field(self, "end_user_id", end_user_id)
        set_field(self, "prompt", prompt)
        set_field(self, "status", status)
        set_field(self, "created_at", created_at)
        set_field(self, "preview_url", preview_url)
        set_field(self, "deployed_url", deployed_url)
        set_field(self, "files", files)

    @classmethod
    def from_wire(cls, d: dict[str, Any]) -> App:
        return cls(
            id=d["id"],
            end_user_id=d.get("endUserId"),
            prompt=d["prompt"],
            status=d["status"],
            created_at=parse_datetime(d["createdAt"]),
            preview_url=d.get("previewUrl"),
            deployed_url=d.get("deployedUrl"),
            files=tuple(AppFile.from_wire(f) for f in d.get("files") or ()),
        )


    def _repr_html_(self) -> str:
        """How a notebook shows it (the HTML is built only when asked for)."""
        from ._html import app_html
        return app_html(self)

class AppPage(Frozen):
    """One page of ``apps.list()``: ``data`` and the cursor of the next page.

    Iterating it yields every app, this page's and then each later page's,
    fetched as the loop gets there (``for app in client.apps.list(): ...``);
    :meth:`iter_pages` yields the pages themselves.
    """

    __slots__ = __match_args__ = ("data", "next_cursor", "_fetch")
    _hidden = _uncompared = ("_fetch",)
    data: tuple[App, ...]
    next_cursor: str | None
    _fetch: Callable[[str], AppPage] | None

    def __init__(self, data: tuple[App, ...], next_cursor: str | None,
                 _fetch: Callable[[str], AppPage] | None = None) -> None:
        set_field(self, "data", data)
        set_field(self, "next_cursor", next_cursor)
        set_field(self, "_fetch", _fetch)

    @classmethod
    def from_wire(cls, d: dict[str, Any]) -> AppPage:
        return cls(data=tuple(App.from_wire(a) for a in d["data"]),
                   next_cursor=d.get("nextCursor"))

    def has_next_page(self) -> bool:
        return self.next_cursor is not None

    def next_page(self) -> AppPage | None:
        """The next page (one request), or None after the last."""
        if self.next_cursor is None:
            return None
        if self._fetch is None:
            raise RuntimeError("this page was not fetched by a client: call apps.list()")
        return self._fetch(self.next_cursor)

    def iter_pages(self) -> Iterator[AppPage]:
        page: AppPage | None = self
        while page is not None:
            yield page
            page = page.next_page()

    def __iter__(self) -> Iterator[App]:
        for page in self.iter_pages():
            yield from page.data

    def _repr_html_(self) -> str:
        """How a notebook shows it (the HTML is built only when asked for)."""
        from ._html import app_page_html
        return app_page_html(self)


class AsyncAppPage(Frozen):
    """:class:`AppPage` for ``AsyncPromptFloe``: ``async for app in await
    client.apps.list()`` yields every app of every page."""

    __slots__ = __match_args__ = ("data", "next_cursor", "_fetch")
    _hidden = _uncompared = ("_fetch",)
    data: tuple[App, ...]
    next_cursor: str | None
    _fetch: Callable[[str], Awaitable[AsyncAppPage]] | None

    def __init__(self, data: tuple[App, ...], next_cursor: str | None,
                 _fetch: Callable[[str], Awaitable[AsyncAppPage]] | None = None) -> None:
        set_field(self, "data", data)
        set_field(self, "next_cursor", next_cursor)
        set_field(self, "_fetch", _fetch)

    @classmethod
    def from_wire(cls, d: dict[str, Any]) -> AsyncAppPage:
        return cls(data=tuple(App.from_wire(a) for a in d["data"]),
                   next_cursor=d.get("nextCursor"))

    def has_next_page(self) -> bool:
        return self.next_cursor is not None

    async def next_page(self) -> AsyncAppPage | None:
        """The next page (one request), or None after the last."""
        if self.next_cursor is None:
            return None
        if self._fetch is None:
            raise RuntimeError("this page was not fetched by a client: call apps.list()")
        return await self._fetch(self.next_cursor)

    async def iter_pages(self) -> AsyncIterator[AsyncAppPage]:
        page: AsyncAppPage | None = self
        while page is not None:
            yield page
            page = await page.next_page()

    async def __aiter__(self) -> AsyncIterator[App]:
        async for page in self.iter_pages():
            for app in page.data:
                yield app

    def _repr_html_(self) -> str:
        """How a notebook shows it (the HTML is built only when asked for)."""
        from ._html import app_page_html
        return app_page_html(self)


class Deployment(Frozen):
    """An app deployed at ``url``."""

    __slots__ = __match_args__ = ("app_id", "url", "deployed_at")
    app_id: str
    url: str
    deployed_at: datetime

    def __init__(self, app_id: str, url: str, deployed_at: datetime) -> None:
        set_field(self, "app_id", app_id)
        set_field(self, "url", url)
        set_field(self, "deployed_at", deployed_at)

    @classmethod
    def from_wire(cls, d: dict[str, Any]) -> Deployment:
        return cls(app_id=d["appId"], url=d["url"], deployed_at=parse_datetime(d["deployedAt"]))


    def _repr_html_(self) -> str:
        """How a notebook shows it (the HTML is built only when asked for)."""
        from ._html import deployment_html
        return deployment_html(self)

class EndUserUsage(Frozen):
    """One end user's runs and calls in a day."""

    __slots__ = __match_args__ = ("end_user_id", "runs", "calls")
    end_user_id: str
    runs: int
    calls: int

    def __init__(self, end_user_id: str, runs: int, calls: int) -> None:
        set_field(self, "end_user_id", end_user_id)
        set_field(self, "runs", runs)
        set_field(self, "calls", calls)


class Usage(Frozen):
    """A day's quota, what is used of it, and by which end users."""

    __slots__ = __match_args__ = ("date", "quota", "used", "by_end_user")
    date: str
    quota: int
    used: int
    by_end_user: tuple[EndUserUsage, ...]

    def __init__(self, date: str, quota: int, used: int,
                 by_end_user: tuple[EndUserUsage, ...]) -> None:
        set_field(self, "date", date)
        set_field(self, "quota", quota)
        set_field(self, "used", used)
        set_field(self, "by_end_user", by_end_user)

    @classmethod
    def from_wire(cls, d: dict[str, Any]) -> Usage:
        return cls(
            date=d["date"],
            quota=int(d["quota"]),
            used=int(d["used"]),
            by_end_user=tuple(
                EndUserUsage(end_user_id=u["endUserId"], runs=int(u["runs"]), calls=int(u["calls"]))
                for u in d["byEndUser"]
            ),
        )

    def _repr_html_(self) -> str:
        """How a notebook shows it (the HTML is built only when asked for)."""
        from ._html import usage_html
        return usage_html(self)
