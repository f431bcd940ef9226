"""Who is calling: identity providers, picked by configuration at start-up.

* :class:`DevIdentity` (``vngshare``) trusts a ``user`` argument in the query
  string or form body, like ngshare's development mode (the query string's
  wins: it names the caller before the body is read).
* :class:`NoIdentity` identifies nobody: every authenticated call gets a JSON
  401 (``ngshare`` started outside JupyterHub with no other source).
* :class:`ngshare.hub.HubIdentity` asks JupyterHub (``ngshare`` as a hub service).
* :class:`CoreTokenIdentity` accepts API tokens issued by the core
  (:mod:`ngshare.tokens`), for clients that do not live inside the hub.

The server's ``ctx.identity`` is always a :class:`TokenFirstIdentity`: a
core-issued token identifies its user first, whatever the mode, and the
configured provider (dev, hub or none) handles every other request.
Providers that serve browsers (the hub's) override the base class's
:meth:`~IdentityProvider.check_xsrf`, :meth:`~IdentityProvider.login_url` and
:attr:`~IdentityProvider.hub_auth`; the wrapper passes those three on, by
name, and the provider's own settings stay on ``ctx.identity.fallback``.

A provider returns an :class:`Identity` or ``None``; it never raises for an
unknown caller. Admin status comes from the configured admin list.

Callers are identified before the body of their request is read, so that an
anonymous upload is refused at once rather than received and spooled first
(:meth:`ngshare.web.APIHandler.prepare`). A provider that can identify a
request only from its body says so in :meth:`~IdentityProvider.needs_body`
(dev mode's ``user`` in a form body; a browser's xsrf token in a form body);
those requests are identified after the body, as every request once was.

Names beginning with :data:`LOCAL_ACCOUNT_PREFIX` belong to local accounts
(:mod:`ngshare.accounts`): only a core token can carry them, and an identity of
that shape from the configured provider is refused, so a hub or dev user can
never act as a local account, nor a local account as a hub user.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from traitlets import Set, Unicode
from traitlets.config import LoggingConfigurable

from ngshare.startup_log import NO_IDENTITY_REASON

if TYPE_CHECKING:
    from tornado.web import RequestHandler

    from ngshare.web import APIHandler

#: Usernames are path segments in the exchange API; keep them sane.
MAX_USERNAME_LENGTH = 255

#: Core user names of local accounts start with this; no other provider may produce one.
LOCAL_ACCOUNT_PREFIX = "local:"

#: ``Identity.origin`` values.
ORIGIN_EXTERNAL = "external"
ORIGIN_HUB = "hub"
ORIGIN_DEV = "dev"
ORIGIN_LOCAL = "local"


def is_local_name(name: str) -> bool:
    """Whether ``name`` is in the local-account namespace."""
    return name.startswith(LOCAL_ACCOUNT_PREFIX)


@dataclass(frozen=True)
class Identity:
    """The caller of one request.

    :arg name: the core user name (``users.name``): a hub or dev user name, or
        ``local:<username>`` for a local account.
    :arg is_admin: from the configured admin list (and hub admins/groups if enabled).
    :arg origin: the namespace ``name`` comes from: ``"hub"``, ``"dev"``,
        ``"local"`` or ``"external"`` (a provider that did not say).
    :arg token_id: the core API token that identified the caller, if one did
        (so a logout endpoint can revoke exactly that token).
    """

    name: str
    is_admin: bool = False
    origin: str = ORIGIN_EXTERNAL
    token_id: int | None = None


class IdentityProvider(LoggingConfigurable):
    """Base class: resolve the caller of a request."""

    admin_users = Set(
        Unicode(),
        help="Usernames with admin rights (create and delete courses, manage instructors).",
    ).tag(config=True)

    #: JupyterHub's ``HubOAuth`` where the hub identifies callers (for the OAuth callback).
    hub_auth: Any = None

    def make_identity(self, name: str) -> Identity:
        return Identity(name=name, is_admin=name in self.admin_users)

    async def identify(self, handler: APIHandler) -> Identity | None:
        raise NotImplementedError

    def needs_body(self, handler: RequestHandler) -> bool:
        """Whether :meth:`identify` may need the request's form body to know the caller.

        When it does not, the caller is identified before any byte of the body
        is read, and an anonymous upload is refused without being received.
        """
        return False

    def check_xsrf(self, handler: APIHandler) -> None:
        """Refuse a cookie-authenticated write without an xsrf token (no cookies here: nothing)."""

    def login_url(self, handler: RequestHandler) -> str | None:
        """Where a browser that is not signed in goes to sign in (None: nowhere)."""
        return None


class NoIdentity(IdentityProvider):
    """Identifies nobody (a server with no identity source configured).

    The first refusal is logged with the reason (start-up says it too), so an
    operator who only looks once requests fail still finds out why.
    """

    _reason_logged = False

    async def identify(self, handler: APIHandler) -> Identity | None:
        if not self._reason_logged:
            self.log.warning("%s", NO_IDENTITY_REASON)
            self._reason_logged = True
        return None


class DevIdentity(IdentityProvider):
    """Development mode: the caller is whoever the ``user`` argument names.

    ``user`` in the query string wins over one in the form body, so that the
    caller is known before the body is read; ngshare's clients send it in one
    place only (the query string of GETs, the body of POSTs).
    """

    def needs_body(self, handler: RequestHandler) -> bool:
        """Only a request whose query string names nobody may name its user in the body."""
        return not handler.get_query_argument("user", None)

    async def identify(self, handler: APIHandler) -> Identity | None:
        name = handler.get_query_argument("user", None)
        argument = getattr(handler, "argument", None)  # WebSocket handlers have none
        if not name and argument is not None and handler.body_loaded:
            name = argument("user")
        if not name or len(name) > MAX_USERNAME_LENGTH or not _is_utf8(name):
            return None
        return self.make_identity(name)


def _is_utf8(text: str) -> bool:
    """False for body bytes that were not UTF-8 (kept as lone surrogates): no one's name."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@dataclass(frozen=True)
class TokenLookup:
    """What :meth:`CoreTokenIdentity.lookup` found.

    ``presented`` is true when the request carried a core token at all, valid
    or not: a caller who sends one means to be that token's user, so an
    invalid one is refused rather than silently replaced by another identity.
    """

    presented: bool
    identity: Identity | None = None


class CoreTokenIdentity(IdentityProvider):
    """Identify callers by a core-issued API token, and by nothing else.

    The token comes from ``Authorization: Bearer X`` / ``token X`` or from a
    header a plugin registered with ``ctx.tokens.accept_header(name)``; the
    token service is reached through the handler's context, so this provider
    needs no wiring and simply identifies nobody before the service starts.
    """

    async def identify(self, handler: APIHandler) -> Identity | None:
        return (await self.lookup(handler)).identity

    async def lookup(
        self,
        handler: RequestHandler,
        admin_users: Collection[str] | None = None,
        external_origin: str = ORIGIN_EXTERNAL,
    ) -> TokenLookup:
        """Find the core token in the request and its user.

        :arg admin_users: the admin list to use (default: this provider's own).
        :arg external_origin: ``origin`` for users outside the local namespace.
        """
        tokens = getattr(getattr(handler, "ctx", None), "tokens", None)
        if tokens is None:
            return TokenLookup(presented=False)
        secret = tokens.secret_in(handler.request)
        if secret is None:
            return TokenLookup(presented=False)
        info = await tokens.verify(secret)
        if info is None:
            return TokenLookup(presented=True)
        handler._token_authenticated = True  # type: ignore[attr-defined]  # no xsrf check
        admins = self.admin_users if admin_users is None else admin_users
        origin = ORIGIN_LOCAL if is_local_name(info.user) else external_origin
        identity = Identity(
            name=info.user, is_admin=info.user in admins, origin=origin, token_id=info.id
        )
        return TokenLookup(presented=True, identity=identity)


class TokenFirstIdentity:
    """Core tokens first, then the configured provider (``fallback``).

    Admin status for token users is read from the provider's ``admin_users``
    at each request, so there is one admin list.

    :arg fallback: the provider picked by configuration.
    :arg origin: ``Identity.origin`` for the provider's users ("hub", "dev", ...).
    """

    def __init__(self, fallback: IdentityProvider, origin: str = ORIGIN_EXTERNAL) -> None:
        self.fallback = fallback
        self.core = CoreTokenIdentity(parent=fallback)
        self.origin = origin if origin in (ORIGIN_HUB, ORIGIN_DEV) else ORIGIN_EXTERNAL

    def __repr__(self) -> str:
        return f"TokenFirstIdentity({self.fallback!r})"

    @property
    def admin_users(self) -> set[str]:
        """The configured provider's admin list (settable at run time)."""
        return self.fallback.admin_users

    @admin_users.setter
    def admin_users(self, names: set[str]) -> None:
        self.fallback.admin_users = names

    @property
    def hub_auth(self) -> Any:
        return self.fallback.hub_auth

    def check_xsrf(self, handler: APIHandler) -> None:
        self.fallback.check_xsrf(handler)

    def login_url(self, handler: RequestHandler) -> str | None:
        return self.fallback.login_url(handler)

    def needs_body(self, handler: RequestHandler) -> bool:
        """A core token in the headers says it all; otherwise the provider decides."""
        tokens = getattr(getattr(handler, "ctx", None), "tokens", None)
        if tokens is not None and tokens.secret_in(handler.request) is not None:
            return False
        return self.fallback.needs_body(handler)

    async def identify(self, handler: APIHandler) -> Identity | None:
        found = await self.core.lookup(
            handler, admin_users=self.fallback.admin_users, external_origin=self.origin
        )
        if found.presented:
            return found.identity
        identity = await self.fallback.identify(handler)
        if identity is None:
            return None
        if is_local_name(identity.name):
            self.fallback.log.warning(
                "refused %s user %r: names starting with %r belong to local accounts",
                self.origin,
                identity.name,
                LOCAL_ACCOUNT_PREFIX,
            )
            return None
        return dataclasses.replace(identity, origin=self.origin)
