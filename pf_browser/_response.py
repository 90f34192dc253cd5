"""What ``client.with_raw_response`` returns: the HTTP response of a call
that succeeded, and its parsed result on demand (as openai-python's)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Generic, TypeVar

__all__ = ["RawResponse"]

T = TypeVar("T")


class RawResponse(Generic[T]):
    """``status_code``, ``headers`` (names in lower case), ``request_id`` (the
    server's ``PromptFloe-Request-Id``: quote it when you report a problem)
    and :meth:`parse`, which returns what the plain call returns."""

    def __init__(self, status_code: int, headers: Mapping[str, str], content: bytes,
                 parse: Callable[[], T]) -> None:
        self.status_code = status_code
        self.headers = headers
        self.content = content
        self._parse = parse

    @property
    def request_id(self) -> str | None:
        return self.headers.get("promptfloe-request-id")

    def parse(self) -> T:
        return self._parse()

    def __repr__(self) -> str:
        return f"<RawResponse [{self.status_code}] request_id={self.request_id!r}>"
