"""pf_browser: PromptFloe from Python in a web page and on the server.

On your server, mint a session for the signed-in user with your secret key::

    session = PromptFloe(api_key=SECRET).sessions.issue("user_123", scopes=["build"])

In the page, let the client fetch (and renew) session tokens itself::

    client = AsyncPromptFloe(session_url="/api/promptfloe/session", base_url=API)
    async with client.apps.generate_stream("a landing page for a bakery") as stream:
        async for event in stream:
            ...  # RunEvent, FileEvent, ReadyEvent, UnknownEvent
"""

from ._auth import RefreshResult, SessionGrant
from ._client import AsyncPromptFloe, PromptFloe
from ._events import Event, FileEvent, ReadyEvent, RunEvent, UnknownEvent
from ._exceptions import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    PromptFloeError,
    QuotaExceededError,
    RateLimitError,
    RefreshError,
    ServerError,
    StreamError,
)
from ._models import (
    App,
    AppFile,
    AppPage,
    AsyncAppPage,
    Deployment,
    EndUserUsage,
    Session,
    Usage,
)
from ._response import RawResponse
from ._streaming import AsyncStream, Stream

__version__ = "0.1.0"

__all__ = [
    "APIConnectionError", "APIStatusError", "APITimeoutError", "App", "AppFile", "AppPage",
    "AsyncAppPage", "AsyncPromptFloe", "AsyncStream", "AuthenticationError", "ConflictError",
    "Deployment", "EndUserUsage", "Event", "FileEvent", "InvalidRequestError", "NotFoundError",
    "PermissionDeniedError", "PromptFloe", "PromptFloeError", "QuotaExceededError",
    "RateLimitError", "RawResponse", "ReadyEvent", "RefreshError", "RefreshResult",
    "RunEvent", "ServerError", "Session", "SessionGrant", "Stream", "StreamError",
    "UnknownEvent", "Usage",
]
