"""The base of every HTML page: shared layout, browser identity, XSRF, HTML errors.

Pages (the core's and plugins', see ``Plugin(pages=...)``) subclass
:class:`PageHandler` and mark each method with :func:`page`. Unlike API
routes, a page's refusals and errors are small HTML pages (401, 403, 404,
500 alike), never a stack trace; everything else under the prefix stays JSON.

Every write (POST, PUT, DELETE) from a page needs the XSRF token that
``{% raw xsrf_form_html() %}`` puts in forms and ``ngshare.js`` sends with
``fetch``: behind JupyterHub it is checked by the hub's own check, the one
every cookie-authenticated write passes; under ``vngshare``, where callers
are named by ``?user=`` and no hub cookie exists, by Tornado's
double-submit cookie check.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlencode

from tornado import web

from ngshare import __version__
from ngshare.pages import BrowserHandler
from ngshare.ui.nav import nav_links
from ngshare.ui.static import CORE_OWNER, StaticFolders
from ngshare.ui.templates import loader_for
from ngshare.web import ApiError, allowed_methods

if TYPE_CHECKING:
    from ngshare.context import ServerContext

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])

ERR_XSRF = "This form has expired or did not come from this server: reload the page and try again."
ERR_ADMINS_ONLY = "This page is for administrators only."
ERR_SIGN_IN = "Sign in first (under vngshare: add ?user=NAME to the address)."
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
#: Tornado's own XSRF token and check, kept before JupyterHub's client replaces them on
#: ``RequestHandler`` (it does at its first cookie lookup, for the whole process).
_TORNADO_XSRF_TOKEN = web.RequestHandler.__dict__["xsrf_token"]
_TORNADO_CHECK_XSRF = web.RequestHandler.__dict__["check_xsrf_cookie"]


def page(method: F) -> F:
    """Mark a page method: the caller must be signed in (hub login otherwise).

    Admin-only pages (``admins_only = True``) answer others with a 403 page;
    writes must carry the XSRF token (403 page without it).
    """

    @functools.wraps(method)
    async def wrapper(self: PageHandler, *args: Any, **kwargs: Any) -> Any:
        if self.request.method in SAFE_METHODS:
            if not await self.require_browser_identity():
                return None
        else:
            await self.identify_writer()
        assert self.identity is not None
        if self.admins_only and not self.identity.is_admin:
            raise ApiError(403, ERR_ADMINS_ONLY)
        return await method(self, *args, **kwargs)

    wrapper.ngshare_access = "authenticated"  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


class PageHandler(BrowserHandler):
    """An HTML page in the shared layout.

    URLSpec kwargs: ``ctx``, and ``templates`` (folders searched before the
    core's, given by :meth:`ngshare.plugin.Plugin.routes` for a plugin's pages).
    """

    unauthenticated_message = ERR_SIGN_IN
    #: The page ``<title>`` and heading unless the template sets its own.
    title = "ngshare"

    def initialize(
        self, ctx: ServerContext, templates: list[str] | None = None, **kwargs: Any
    ) -> None:
        super().initialize(ctx, **kwargs)
        self.template_folders = list(templates or [])

    # -- rendering ------------------------------------------------------------

    def page_url(self, path: str, **query: str) -> str:
        """``{prefix}path``, keeping the dev identity (``?user=``) of this request."""
        args = dict(query)
        if self.identity is not None and self.identity.origin == "dev":
            args.setdefault("user", self.identity.name)
        url = self.ctx.config.prefix + path.lstrip("/")
        return url + ("?" + urlencode(args) if args else "")

    def static_url(self, path: str, include_host: bool | None = None, **kwargs: Any) -> str:
        """A versioned URL of ``path`` in the core's static folder or ``owner/path``."""
        owner, _, rest = path.partition("/")
        folders = self.ctx.state(StaticFolders)
        if owner not in folders.folders or not rest:
            owner, rest = CORE_OWNER, path
        return folders.url(self.ctx.config.prefix, owner, rest)

    def page_namespace(self) -> dict[str, Any]:
        """What every template sees (besides Tornado's own namespace)."""
        links = nav_links(self.ctx, self.identity)
        return {
            "identity": self.identity,
            "nav": [(title, self._keep_user(href)) for title, href in links],
            "prefix": self.ctx.config.prefix,
            "version": __version__,
            "server_name": "ngshare",
            "page_title": self.title,
            "url": self.page_url,
            "static_url": self.static_url,
            "dev_user": self.identity.name
            if self.identity is not None and self.identity.origin == "dev"
            else "",
        }

    def _keep_user(self, href: str) -> str:
        if self.identity is not None and self.identity.origin == "dev":
            return href + "?" + urlencode({"user": self.identity.name})
        return href

    def render_page(self, template_name: str, status: int = 200, **kwargs: Any) -> None:
        """Render ``template_name`` (plugin folders first, then the core's) and finish."""
        namespace = self.get_template_namespace()
        namespace.update(self.page_namespace())
        namespace.update(kwargs)
        body = loader_for(self.template_folders).load(template_name).generate(**namespace)
        self.set_status(status)
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("X-Frame-Options", "DENY")
        self.set_header("Cache-Control", "no-store")
        self.finish(body)

    # -- XSRF -----------------------------------------------------------------

    @property
    def xsrf_token(self) -> bytes:
        """Behind JupyterHub the hub's token (what its check expects); else Tornado's."""
        if self.ctx.identity.hub_auth is not None:
            return web.RequestHandler.xsrf_token.fget(self)  # type: ignore[attr-defined]
        return _TORNADO_XSRF_TOKEN.fget(self)

    async def identify_writer(self) -> None:
        """Identify the sender of a form (no login redirect for a POST) and check its token.

        JupyterHub's cookie check drops the cookie of a write whose token does
        not match, so a signed-in browser without a valid token looks anonymous
        here: a hub cookie present means a 403 (the form), none a 401.
        """
        await self.load_body()
        self.identity = await self.ctx.identity.identify(self)
        if self.identity is None:
            hub_auth = self.ctx.identity.hub_auth
            if hub_auth is not None and hub_auth.cookie_name in self.request.cookies:
                raise ApiError(403, ERR_XSRF)
            raise ApiError(401, self.unauthenticated_message)
        self.check_xsrf_cookie()

    def check_xsrf_cookie(self) -> None:
        """The hub's check behind JupyterHub; Tornado's double-submit cookie otherwise.

        Calls identified by an API token (not a cookie) need no token.
        """
        if getattr(self, "_token_authenticated", False):
            return
        try:
            if self.ctx.identity.hub_auth is not None:
                self.ctx.identity.check_xsrf(self)
            else:
                _TORNADO_CHECK_XSRF(self)
        except web.HTTPError as e:
            if isinstance(e, ApiError):
                raise
            raise ApiError(403, ERR_XSRF) from None

    # -- errors ---------------------------------------------------------------

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """A plain HTML page with the status and a message; never a trace."""
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, ApiError):
            message = exc.message
        elif status_code == 404:
            message = "There is no such page."
        elif status_code < 500 and isinstance(exc, web.HTTPError) and exc.reason:
            message = exc.reason
        else:
            message = "Something went wrong on the server; it has been logged."
        try:
            phrase = HTTPStatus(status_code).phrase
        except ValueError:
            phrase = "Error"
        if status_code == 405:
            self.set_header("Allow", ", ".join(allowed_methods(type(self))))
        self.clear_header("Content-Disposition")
        try:
            namespace = self.get_template_namespace()
            namespace.update(self.page_namespace())
            namespace.update(status=status_code, phrase=phrase, message=message)
            namespace["page_title"] = f"{status_code} {phrase}"
            body = loader_for([]).load("error.html").generate(**namespace)
        except Exception:  # noqa: BLE001 - the error page itself must never fail
            self.log_exception(*kwargs.get("exc_info", (None, None, None)))
            body = f"<!doctype html><title>{status_code}</title><h1>{status_code} {phrase}</h1>"
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(body)
