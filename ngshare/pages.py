"""Browser pages of the core. Browsers are identified by the hub's OAuth cookie
and sent to the hub's login page when they have none.

The landing page's errors are JSON, like every API route's (a 401 where
there is no hub to send the browser to, a 405). Pages in the shared layout
(:mod:`ngshare.ui`) build on :class:`BrowserHandler` and answer theirs with
HTML pages instead (decision 62).
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from tornado import web

from ngshare import __version__
from ngshare.web import ApiError, APIHandler

if TYPE_CHECKING:
    from ngshare.plugin import Plugin

#: The admin views the landing page links to (admins only): path under the prefix, title.
ADMIN_VIEWS = [
    ("ui/admin", "Admin console"),
    ("plugins", "Loaded plugins (JSON)"),
    ("jobs", "Scheduled jobs and their last runs (JSON)"),
    ("metrics", "Prometheus metrics"),
]


class BrowserHandler(APIHandler):
    """Base for HTML pages: identity from cookies; anonymous visitors go to log in."""

    async def require_browser_identity(self) -> bool:
        """Set ``self.identity`` or answer with a login redirect (then return False).

        Without a hub to log in at, the answer is the JSON 401 of every API route.
        """
        await self.load_body()
        self.identity = await self.ctx.identity.identify(self)
        if self.identity is not None:
            return True
        login_url = self.ctx.identity.login_url(self)
        if login_url is None:
            raise ApiError(401, self.unauthenticated_message)
        self.redirect(login_url)
        return False


def _link(href: str, text: str) -> str:
    return f'<li><a href="{html.escape(href)}">{html.escape(text)}</a></li>'


def _plugin_item(prefix: str, plugin: Plugin) -> str:
    """A plugin's mount, and its operations on the docs page (Swagger UI's tag link)."""
    name = html.escape(f"{plugin.name} {plugin.version}".strip())
    return (
        f'<li><a href="{html.escape(prefix + plugin.mount)}">{name}</a>'
        f" {html.escape(plugin.description)}"
        f' (<a href="{html.escape(prefix + "docs#/" + plugin.name)}">API</a>)</li>'
    )


class HomeHandler(BrowserHandler):
    """``{prefix}``: who you are, and links to the API docs, the admin views and each plugin."""

    async def get(self) -> None:
        if not await self.require_browser_identity():
            return
        me = self.identity
        assert me is not None
        prefix = self.ctx.config.prefix
        links = [_link(prefix + "docs", "API documentation (Swagger UI)")]
        links.append(_link(prefix + "openapi.json", "OpenAPI document"))
        plugins = [_plugin_item(prefix, p) for p in self.ctx.plugins if p.mount]
        pages = [
            _link(prefix + (p.mount or "") + entry.path, entry.title)
            for p in self.ctx.plugins
            for entry in p.nav
            if entry.visible_to(me)
        ]
        admin = [_link(prefix + path, title) for path, title in ADMIN_VIEWS] if me.is_admin else []
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.finish(
            "<!doctype html><html><head><meta charset='utf-8'><title>ngshare</title></head><body>"
            f"<h1>ngshare {html.escape(__version__)}</h1>"
            f"<p>Signed in as <b id='user'>{html.escape(me.name)}</b>"
            f"{' (admin)' if me.is_admin else ''}.</p>"
            f"<p>API: <code>{html.escape(prefix)}</code></p>"
            f"<h2>Documentation</h2><ul id='docs'>{''.join(links)}</ul>"
            + (f"<h2>Pages</h2><ul id='pages'>{''.join(pages)}</ul>" if pages else "")
            + (f"<h2>Plugins</h2><ul id='plugins'>{''.join(plugins)}</ul>" if plugins else "")
            + (f"<h2>Administration</h2><ul id='admin'>{''.join(admin)}</ul>" if admin else "")
            + "</body></html>"
        )

    get.ngshare_access = "authenticated"  # type: ignore[attr-defined]


__all__ = ["ADMIN_VIEWS", "BrowserHandler", "HomeHandler", "web"]
