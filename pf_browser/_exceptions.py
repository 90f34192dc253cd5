"""One exception tree for everything pf_browser raises.

Every message says what happened and what to do. None of them contains a key
or a token: messages are built from the server's error body and our own
words, never from request headers.
"""

from __future__ import annotations

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "ConflictError",
    "InvalidRequestError",
    "NotFoundError",
    "PermissionDeniedError",
    "PromptFloeError",
    "QuotaExceededError",
    "RateLimitError",
    "RefreshError",
    "ServerError",
    "StreamError",
]


class PromptFloeError(Exception):
    """Base class of every error pf_browser raises."""


class APIConnectionError(PromptFloeError):
    """The server could not be reached, or the connection dropped.

    ``request_sent`` is False when the request certainly never left (a URL
    scheme other than http or https, a host name that does not resolve):
    retrying cannot help, so the client does not.
    """

    def __init__(self, message: str = "Could not reach the PromptFloe API; "
                 "check the network and base_url, then try again.", *,
                 request_sent: bool = True) -> None:
        super().__init__(message)
        self.request_sent = request_sent


class APITimeoutError(APIConnectionError):
    """A request (or the wait for the next chunk of a stream) timed out."""

    def __init__(self, message: str = "The PromptFloe API did not answer in time; "
                 "try again, or raise the client's timeout.") -> None:
        super().__init__(message)


class APIStatusError(PromptFloeError):
    """The API answered with an error status (4xx or 5xx)."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        code: str | None = None,
        request_id: str | None = None,
        body: object = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.code = code
        self.request_id = request_id
        self.body = body

    def __repr__(self) -> str:
        request_id = f", request_id={self.request_id!r}" if self.request_id else ""
        return (f"{type(self).__name__}(status_code={self.status_code}, "
                f"code={self.code!r}, message={self.message!r}{request_id})")


class InvalidRequestError(APIStatusError):
    """400 or 413: the request itself is wrong; fix it, retrying won't help."""


class AuthenticationError(APIStatusError):
    """401: the key or token is invalid, expired or revoked."""


class PermissionDeniedError(APIStatusError):
    """403: the credential is valid but may not do this (scope, owner)."""


class NotFoundError(APIStatusError):
    """404."""


class ConflictError(APIStatusError):
    """409."""


class RateLimitError(APIStatusError):
    """429 ``rate_limited``: too many requests; wait ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None,
                 **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class QuotaExceededError(RateLimitError):
    """429 ``quota_exceeded``: the workspace's daily quota is spent."""

    def __init__(self, message: str, *, quota: int | None = None, used: int | None = None,
                 resets_at: str | None = None, retry_after: float | None = None,
                 **kwargs: object) -> None:
        super().__init__(message, retry_after=retry_after, **kwargs)
        self.quota = quota
        self.used = used
        self.resets_at = resets_at


class ServerError(APIStatusError):
    """5xx: the server failed; retrying later may help."""


class StreamError(PromptFloeError):
    """The generation stream sent an ``error`` event, or broke its protocol."""

    def __init__(self, message: str, *, code: str | None = None,
                 run_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.run_id = run_id


class RefreshError(PromptFloeError):
    """``refresh_fn`` (or the app's session endpoint) failed or gave no token.

    The cause is attached as ``__cause__``. For a short cool-down after a
    failure, later callers get this same error without a new call.
    """
