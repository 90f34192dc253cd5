"""The demo's own app server: the "app's server" of the PromptFloe product story.

It serves the self-hosted site, signs demo users in with a cookie, and mints
PromptFloe session tokens for the signed-in user with the workspace's secret
key, which never leaves this process. See :func:`create_app`.
"""

from .app import DEFAULT_USERS, create_app
from .users import DemoUser

__all__ = ["DEFAULT_USERS", "DemoUser", "create_app"]
