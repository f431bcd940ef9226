"""Browser pages of the core. Browsers are identified by the hub's OAuth cookie
and sent to the hub's login page when they have none."""

from __future__ import annotations

import html
from typing import Any

from tornado import web

from ngshare import __version__
from ngshare.web import APIHandler


class BrowserHandler(APIHandler):
    """Base for HTML pages: identity from cookies; anonymous visitors go to log in."""

    async def require_browser_identity(self) -> bool:
        """Set ``self.identity`` or answer with a login redirect (then return False)."""
        await self.load_body()
        self.identity = await self.ctx.identity.identify(self)
        if self.identity is not None:
            return True
        login_url = self.ctx.identity.login_url(self)
        if login_url is not None:
            self.redirect(login_url)
        else:
            self.set_status(401)
            self.set_header("Content-Type", "text/html; charset=UTF-8")
            self.finish("<h1>401: not signed in</h1>")
        return False

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """HTML for a browser's GET; JSON (as every API answer) for anything else."""
        if self.request.method not in ("GET", "HEAD"):
            super().write_error(status_code, **kwargs)
            return
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.finish(f"<h1>{status_code}</h1>")


class HomeHandler(BrowserHandler):
    """``{prefix}``: who you are to this server (a check that sign-in works)."""

    async def get(self) -> None:
        if not await self.require_browser_identity():
            return
        me = self.identity
        assert me is not None
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.finish(
            "<!doctype html><title>ngshare</title>"
            f"<h1>ngshare {html.escape(__version__)}</h1>"
            f"<p>Signed in as <b id='user'>{html.escape(me.name)}</b>"
            f"{' (admin)' if me.is_admin else ''}.</p>"
            f"<p>API: <code>{html.escape(self.ctx.config.prefix)}</code></p>"
        )

    get.ngshare_access = "authenticated"  # type: ignore[attr-defined]


__all__ = ["BrowserHandler", "HomeHandler", "web"]
