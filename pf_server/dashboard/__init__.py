"""The usage dashboard, served by the local server at ``/dashboard``.

HTML pages and form posts on the API's own origin — no JSON endpoints of its
own, no script, no CDN. One module per concern: :mod:`.pages` (the routes),
:mod:`.sessions` (sign-in sessions in a cookie), :mod:`.forms` (reading posts,
refusing cross-site ones), :mod:`.overview` and :mod:`.queries` (what it
shows), :mod:`.charts` (SVG), :mod:`.render` (templates and headers).
"""

from __future__ import annotations

from .pages import routes

__all__ = ["routes"]
