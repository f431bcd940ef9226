"""The web pages' shared foundation: layout, page handler base, static files, navigation.

Server-rendered Tornado templates with a little plain JavaScript; every asset
is served by ngshare itself (no CDN, no build step). The core's pages and
plugins' pages (``Plugin(pages=..., templates=..., static=..., nav=...)``)
all extend ``templates/base.html``::

    class HelloPage(PageHandler):
        title = "Hello"

        @page
        async def get(self) -> None:
            self.render_page("hello.html", greeting="Hi")
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ngshare.ui.handler import ERR_ADMINS_ONLY, ERR_XSRF, PageHandler, page
from ngshare.ui.nav import CORE_NAV, NavEntry, nav_links
from ngshare.ui.static import StaticFolders, static_folders
from ngshare.ui.static import routes as static_routes

if TYPE_CHECKING:
    from ngshare.context import ServerContext


def page_routes(ctx: ServerContext) -> list[tuple]:
    """The core's pages (checked like every route: each method marked)."""
    from ngshare.ui.admin_console import routes as admin_routes

    return [*admin_routes(ctx)]


def asset_routes(ctx: ServerContext) -> list[tuple]:
    """Static files of the core and of each plugin that has a ``static`` folder.

    Registers the folders on the context (:class:`StaticFolders`) for the pages' URLs.
    """
    folders = static_folders(ctx.plugins)
    ctx.set_state(folders)
    return static_routes(ctx.config.prefix, folders)


__all__ = [
    "CORE_NAV",
    "ERR_ADMINS_ONLY",
    "ERR_XSRF",
    "NavEntry",
    "PageHandler",
    "StaticFolders",
    "asset_routes",
    "nav_links",
    "page",
    "page_routes",
]
