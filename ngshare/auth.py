"""Who is calling: identity providers, picked by configuration at start-up.

* :class:`DevIdentity` (``vngshare``) trusts a ``user`` argument in the query
  string or form body, exactly like ngshare's development mode.
* :class:`NoIdentity` identifies nobody: every authenticated call gets a JSON
  401 (``ngshare`` started outside JupyterHub with no other source).
* :class:`ngshare.hub.HubIdentity` asks JupyterHub (``ngshare`` as a hub service).

A provider returns an :class:`Identity` or ``None``; it never raises for an
unknown caller. Admin status comes from the configured admin list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from traitlets import Set, Unicode
from traitlets.config import LoggingConfigurable

if TYPE_CHECKING:
    from ngshare.web import APIHandler

#: Usernames are path segments in the exchange API; keep them sane.
MAX_USERNAME_LENGTH = 255


@dataclass(frozen=True)
class Identity:
    """The caller of one request."""

    name: str
    is_admin: bool = False


class IdentityProvider(LoggingConfigurable):
    """Base class: resolve the caller of a request."""

    admin_users = Set(
        Unicode(),
        help="Usernames with admin rights (create and delete courses, manage instructors).",
    ).tag(config=True)

    def make_identity(self, name: str) -> Identity:
        return Identity(name=name, is_admin=name in self.admin_users)

    async def identify(self, handler: APIHandler) -> Identity | None:
        raise NotImplementedError


class NoIdentity(IdentityProvider):
    """Identifies nobody (a server with no identity source configured)."""

    async def identify(self, handler: APIHandler) -> Identity | None:
        return None


class DevIdentity(IdentityProvider):
    """Development mode: the caller is whoever the ``user`` argument names."""

    async def identify(self, handler: APIHandler) -> Identity | None:
        argument = getattr(handler, "argument", None)  # WebSocket handlers have none
        name = argument("user") if argument else handler.get_query_argument("user", None)
        if not name or len(name) > MAX_USERNAME_LENGTH:
            return None
        return self.make_identity(name)
