"""Identity from JupyterHub: API tokens and OAuth cookies, asked of the hub asynchronously.

``ngshare`` run as a hub service uses :class:`HubIdentity`. A request carrying
``Authorization: token X`` (or ``Bearer X``) is identified by asking the hub's
``GET /hub/api/user`` who owns ``X``; the answer is cached per process
(``cache_max_age_seconds``; failures only ``failed_cache_seconds``) and
concurrent lookups of one token share a single hub request, made through
:mod:`ngshare.hub_lookup` (``fast_token_lookups``) or else JupyterHub's
``HubAuth``. Browsers are
identified by the hub's OAuth cookie (JupyterHub's own :class:`HubOAuth` does
the OAuth dance; the callback is ``{prefix}oauth_callback``).

By default any token the hub can identify is accepted: the tokens of users'
notebook servers (what nbgrader clients send) carry no ``access:services``
scope. ``require_access_scope = True`` demands it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import ssl
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from jupyterhub.services.auth import HubOAuth, HubOAuthCallbackHandler
from jupyterhub.utils import make_ssl_context
from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.httputil import url_concat
from traitlets import Bool, Float, Set, Unicode, default

from ngshare.auth import Identity, IdentityProvider
from ngshare.hub_lookup import HubTokenLookup, LookupUnavailable
from ngshare.singleflight import SingleFlight
from ngshare.web import ApiError

if TYPE_CHECKING:
    from ngshare.web import APIHandler

ERR_HUB_UNAVAILABLE = "Cannot reach JupyterHub to identify the caller"
ERR_SCOPE_MISSING = "Permission denied (token lacks access to this service)"
#: How long a question to the hub's REST API may take.
HUB_REQUEST_TIMEOUT_SECONDS = 30.0


def use_pycurl_if_installed() -> bool:
    """Ask the hub over kept-alive connections when pycurl is installed (JupyterHub 4 and 5).

    JupyterHub 4 and 5's ``HubAuth`` asks the hub through Tornado's
    ``AsyncHTTPClient``, whose default client opens a connection per request;
    every student's first request needs a lookup, so a deadline starts with a
    burst of them. With pycurl, the server's extra CPU for the 300 lookups
    of the benchmark's fetch phase fell from 0.06 s to 0.00-0.01 s on one
    machine (docs/benchmarks.md). JupyterHub 6 asks through an
    aiohttp session of its own (kept alive too), and this plays no part
    there: the server makes no other HTTP requests. Token lookups at an
    http:// hub go through :mod:`ngshare.hub_lookup` in any case
    (``HubIdentity.fast_token_lookups``); this serves what is left to
    ``HubAuth`` with JupyterHub 4 and 5. It is process-wide, so the
    server's entry point calls it, not the identity provider. Like every
    curl client, it honours ``http_proxy``/``no_proxy``.
    """
    try:
        import pycurl  # noqa: F401 - only whether it is installed
    except ImportError:
        return False
    from tornado.httpclient import AsyncHTTPClient

    AsyncHTTPClient.configure("tornado.curl_httpclient.CurlAsyncHTTPClient")
    return True


class _ExpiringCache:
    """A tiny TTL cache: key -> (expires_at, value)."""

    def __init__(self) -> None:
        self._data: dict[str, tuple[float, Any]] = {}

    def get(self, key: str) -> tuple[bool, Any]:
        item = self._data.get(key)
        if item is None:
            return False, None
        if item[0] < time.monotonic():
            del self._data[key]
            return False, None
        return True, item[1]

    def put(self, key: str, value: Any, ttl: float) -> None:
        if ttl > 0:
            if len(self._data) > 100_000:
                self.purge()
            self._data[key] = (time.monotonic() + ttl, value)

    def purge(self) -> None:
        now = time.monotonic()
        self._data = {k: v for k, v in self._data.items() if v[0] >= now}


class HubIdentity(IdentityProvider):
    """Identify callers through the JupyterHub this server is a service of."""

    cache_max_age_seconds = Float(
        300.0, help="How long a token's owner, once known, is trusted without asking the hub."
    ).tag(config=True)

    failed_cache_seconds = Float(
        10.0, help="How long an unknown token is refused without asking the hub again."
    ).tag(config=True)

    require_access_scope = Bool(
        False,
        help="""Accept only tokens that carry `access:services` (or
        `access:services!service=<name>`). Off by default: the tokens nbgrader
        clients send (their notebook server's) do not carry it unless
        c.Spawner.server_token_scopes grants it.""",
    ).tag(config=True)

    allow_hub_admins = Bool(
        False, help="Hub admins are ngshare admins too (the service needs the read:users scope)."
    ).tag(config=True)

    admin_groups = Set(
        Unicode(),
        help="Members of these hub groups are ngshare admins (the service needs read:groups).",
    ).tag(config=True)

    service_name = Unicode(help="This service's name in the hub.").tag(config=True)

    fast_token_lookups = Bool(
        True,
        help="""Ask the hub who owns a token through ngshare's own small client
        (:mod:`ngshare.hub_lookup`: kept-alive connections, answers parsed by
        httptools) rather than HubAuth's: the same request and the same
        outcomes for about half the CPU per lookup. Only for an http:// hub
        API that no http_proxy setting covers; whatever it cannot handle
        goes through HubAuth.""",
    ).tag(config=True)

    @default("service_name")
    def _default_service_name(self) -> str:
        return os.environ.get("JUPYTERHUB_SERVICE_NAME", "ngshare")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # JupyterHub's own client: reads JUPYTERHUB_API_URL, _API_TOKEN, _CLIENT_ID, ...
        self.hub_auth = HubOAuth(parent=self, cache_max_age=0)
        self._cache = _ExpiringCache()
        self._lookups: SingleFlight[dict | None] = SingleFlight()
        self._fast: HubTokenLookup | None = None
        self._fast_loop: asyncio.AbstractEventLoop | None = None
        self._serves_hub: bool | None = None

    # -- tokens -------------------------------------------------------------

    @staticmethod
    def token_from(handler: web.RequestHandler) -> str | None:
        header = handler.request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() in ("token", "bearer") and value.strip():
            return value.strip()
        return None

    async def identify(self, handler: APIHandler) -> Identity | None:
        token = self.token_from(handler)
        if token is not None:
            model = await self.user_for_token(token)
            if model is not None:
                handler._token_authenticated = True  # no xsrf check for token auth
        else:
            model = await self._user_for_cookie(handler)
        if model is None or model.get("kind", "user") != "user":
            return None
        self._check_scope(model)
        return await self._identity_for(model)

    def needs_body(self, handler: web.RequestHandler) -> bool:
        """A browser's write with a cookie this hub signed may carry its xsrf token
        in the form body (``_xsrf``); everything else is known from the headers."""
        if self.token_from(handler) is not None:
            return False
        headers = handler.request.headers
        if headers.get("X-Xsrftoken") or headers.get("X-Csrftoken"):
            return False
        if handler.get_query_argument("_xsrf", None):
            return False
        name = self.hub_auth.cookie_name
        if not handler.application.settings.get("cookie_secret"):
            return name in handler.request.cookies
        # a signed cookie cannot be forged: a made-up one does not earn a read body
        return bool(handler.get_secure_cookie(name))

    async def user_for_token(self, token: str) -> dict | None:
        """The hub's user model for ``token`` (cached; one hub request per token at a time)."""
        key = hashlib.sha256(token.encode()).hexdigest()
        hit, model = self._cache.get(key)
        if hit:
            return model
        return await self._lookups.run(key, lambda: self._ask_and_cache(key, token))

    async def _ask_and_cache(self, key: str, token: str) -> dict | None:
        model = await self._ask_hub(token)
        ttl = self.cache_max_age_seconds if model else self.failed_cache_seconds
        self._cache.put(key, model, ttl)
        return model

    async def _ask_hub(self, token: str) -> dict | None:
        fast = self._fast_lookup()
        if fast is not None:
            try:
                return await fast.user_for_token(token)
            except LookupUnavailable as e:
                self.log.debug("fast hub lookup unavailable (%s); asking through HubAuth", e)
        try:
            return await self.hub_auth.user_for_token(token, use_cache=False, sync=False)
        except web.HTTPError as e:
            self.log.error("hub lookup failed: %s", e.log_message or e)
            raise ApiError(503, ERR_HUB_UNAVAILABLE) from None

    def _fast_lookup(self) -> HubTokenLookup | None:
        """The fast client for this event loop, if enabled and it serves this hub."""
        if self._serves_hub is None:  # the environment's proxies are read once
            self._serves_hub = HubTokenLookup.serves(self.hub_auth.api_url)
        if not (self.fast_token_lookups and self._serves_hub):
            return None
        loop = asyncio.get_running_loop()
        if self._fast is None or self._fast_loop is not loop:  # connections belong to one loop
            self._fast, self._fast_loop = HubTokenLookup(self.hub_auth.api_url), loop
        return self._fast

    async def _user_for_cookie(self, handler: APIHandler) -> dict | None:
        if self.hub_auth.cookie_name not in handler.request.cookies:
            return None
        try:
            return await self.hub_auth.get_user(handler, sync=False)
        except web.HTTPError as e:
            self.log.error("hub lookup failed: %s", e.log_message or e)
            raise ApiError(503, ERR_HUB_UNAVAILABLE) from None

    def _check_scope(self, model: dict) -> None:
        if not self.require_access_scope:
            return
        wanted = {"access:services", f"access:services!service={self.service_name}"}
        if not wanted & set(model.get("scopes", [])):
            raise ApiError(403, ERR_SCOPE_MISSING)

    async def _identity_for(self, model: dict) -> Identity:
        name = model["name"]
        is_admin = name in self.admin_users
        if not is_admin and (self.allow_hub_admins or self.admin_groups):
            full = model
            if ("admin" not in model) or ("groups" not in model and self.admin_groups):
                full = await self._hub_user(name) or model
            is_admin = (self.allow_hub_admins and bool(full.get("admin"))) or bool(
                self.admin_groups & set(full.get("groups") or [])
            )
        return Identity(name=name, is_admin=is_admin)

    async def _hub_user(self, name: str) -> dict | None:
        """The full user model, asked with the service's own token (cached)."""
        key = "user:" + name
        hit, model = self._cache.get(key)
        if hit:
            return model
        request = HTTPRequest(
            f"{self.hub_auth.api_url}/users/{quote(name, safe='')}",
            headers={"Authorization": f"token {self.hub_auth.api_token}"},
            request_timeout=HUB_REQUEST_TIMEOUT_SECONDS,
            ssl_options=self._ssl_context(),
        )
        try:
            model = json.loads((await AsyncHTTPClient().fetch(request)).body)
        except (HTTPClientError, OSError, ValueError) as e:  # 403, 404, hub down, not JSON
            self.log.warning("hub user %r not read: %s", name, e)
            model = None
        self._cache.put(key, model, self.cache_max_age_seconds)
        return model

    def _ssl_context(self) -> ssl.SSLContext | None:
        """The client side of the hub's internal TLS, when it is configured."""
        if not self.hub_auth.certfile:
            return None
        return make_ssl_context(
            self.hub_auth.keyfile, self.hub_auth.certfile, cafile=self.hub_auth.client_ca
        )

    # -- browsers -----------------------------------------------------------

    def check_xsrf(self, handler: APIHandler) -> None:
        """Cookie-authenticated writes must carry the hub's xsrf token."""
        if getattr(handler, "_token_authenticated", False):
            return
        self.hub_auth.check_xsrf_cookie(handler)

    def login_url(self, handler: web.RequestHandler) -> str:
        """The hub's OAuth URL that comes back to this request's page."""
        params = {}
        code_verifier = None
        if getattr(self.hub_auth, "pkce_enabled", False):
            code_verifier, challenge, method = self.hub_auth.generate_pkce_code_challenge()
            params.update(code_challenge=challenge, code_challenge_method=method)
        params["state"] = self.hub_auth.set_state_cookie(
            handler, next_url=handler.request.uri, code_verifier=code_verifier
        )
        return url_concat(self.hub_auth.login_url, params)


class OAuthCallbackHandler(HubOAuthCallbackHandler):
    """``{prefix}oauth_callback``: JupyterHub's handler, bound to our HubOAuth instance.

    (The stock handler would use ``HubOAuth.instance()``, a different object
    that does not hold the OAuth states this server created.)
    """

    def initialize(self, hub_auth: HubOAuth) -> None:
        self.hub_auth = hub_auth

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Refusals (a state that does not match, a bad code) in JSON, like every API answer."""
        exc = kwargs.get("exc_info", (None, None, None))[1]
        reason = getattr(exc, "log_message", None) if status_code < 500 else None
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(json.dumps({"success": False, "message": reason or self._reason}))
