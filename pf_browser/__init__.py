"""pf_browser: PromptFloe from Python in a web page and on the server."""

from ._exceptions import *  # noqa: F403
from ._models import *  # noqa: F403

__version__ = "0.1.0"
