"""Typed results of the API's calls: frozen dataclasses that are just data.

Wire JSON is camelCase; these are snake_case. ``from_wire`` builds one from
the API's JSON and fails with ``KeyError``/``TypeError`` on a malformed body,
which the client turns into a clear error.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

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

@dataclass(frozen=True, slots=True)
class Session:
    """A session token minted for one end user. ``token`` is never in the repr."""

    id: str
    token: str = field(repr=False)
    end_user_id: str
    scopes: tuple[str, ...]
    expires_at: datetime
    expires_in: int

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

@dataclass(frozen=True, slots=True)
class AppFile:
    path: str
    size: int

    @classmethod
    def from_wire(cls, d: dict[str, Any]) -> AppFile:
        return cls(path=d["path"], size=int(d["size"]))


@dataclass(frozen=True, slots=True)
class App:
    """A generated app. ``status`` is ``generating``, ``ready`` or ``failed``."""

    id: str
    end_user_id: str | None
    prompt: str
    status: str
    created_at: datetime
    preview_url: str | None
    deployed_url: str | None
    files: tuple[AppFile, ...]

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

@dataclass(frozen=True, slots=True)
class AppPage:
    """One page of ``apps.list()``: ``data`` and the cursor of the next page.

    Iterating it yields every app, this page's and then each later page's,
    fetched as the loop gets there (``for app in client.apps.list(): ...``);
    :meth:`iter_pages` yields the pages themselves.
    """

    data: tuple[App, ...]
    next_cursor: str | None
    _fetch: Callable[[str], AppPage] | None = field(default=None, repr=False, compare=False)

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


@dataclass(frozen=True, slots=True)
class AsyncAppPage:
    """:class:`AppPage` for ``AsyncPromptFloe``: ``async for app in await
    client.apps.list()`` yields every app of every page."""

    data: tuple[App, ...]
    next_cursor: str | None
    _fetch: Callable[[str], Awaitable[AsyncAppPage]] | None = field(
        default=None, repr=False, compare=False)

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


@dataclass(frozen=True, slots=True)
class Deployment:
    app_id: str
    url: str
    deployed_at: datetime

    @classmethod
    def from_wire(cls, d: dict[str, Any]) -> Deployment:
        return cls(app_id=d["appId"], url=d["url"], deployed_at=parse_datetime(d["deployedAt"]))


    def _repr_html_(self) -> str:
        """How a notebook shows it (the HTML is built only when asked for)."""
        from ._html import deployment_html
        return deployment_html(self)

@dataclass(frozen=True, slots=True)
class EndUserUsage:
    end_user_id: str
    runs: int
    calls: int


@dataclass(frozen=True, slots=True)
class Usage:
    date: str
    quota: int
    used: int
    by_end_user: tuple[EndUserUsage, ...]

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
