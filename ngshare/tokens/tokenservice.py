"""``ctx.tokens``: :class:`TokenService`, and the core-service hooks that create it.

Plugins call it to issue, check, rotate and revoke core tokens; the identity
layer (:class:`ngshare.auth.CoreTokenIdentity`) calls :meth:`TokenService.secret_in`
and :meth:`TokenService.verify` on every request.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from traitlets import Float
from traitlets.config import LoggingConfigurable

from ngshare.models import utcnow
from ngshare.tokens.store import (
    API_PURPOSE,
    IssuedToken,
    TokenInfo,
    _expiry,
    consume_token,
    delete_inactive_tokens,
    is_core_token,
    issue_token,
    list_user_tokens,
    revoke_token,
    revoke_user_tokens,
    rotate_token,
    verify_token,
)

if TYPE_CHECKING:
    from tornado.httputil import HTTPServerRequest

    from ngshare.context import ServerContext

_SCHEMES = ("bearer", "token")


class TokenService(LoggingConfigurable):
    """``ctx.tokens``: issue, check, rotate and revoke core tokens.

    Configurable as ``c.TokenService.<trait>``. Every method that touches the
    database is a coroutine that runs on ``ctx.db``'s worker threads.
    """

    default_expiry_seconds = Float(
        30 * 86400.0,
        help="""Lifetime of an API token when the issuer does not say (seconds;
        0 = never expires). Plugins pass their own for short sessions.""",
    ).tag(config=True)

    last_used_resolution_seconds = Float(
        60.0,
        help="""A token's last-used time is written at most this often (seconds):
        precise enough to spot stale tokens, without a write per request.""",
    ).tag(config=True)

    def __init__(self, ctx: ServerContext, **kwargs: Any) -> None:
        super().__init__(parent=ctx.config, **kwargs)
        self.ctx = ctx
        self._headers: list[str] = ["Authorization"]

    # -- requests -------------------------------------------------------------

    def accept_header(self, name: str) -> None:
        """Also look for core tokens in header ``name`` (e.g. ``X-MenloHacks-Authorization``).

        Its value may be the bare token or ``Bearer <token>`` / ``token <token>``.
        Header names are case-insensitive; registering one twice is harmless.
        """
        if name.lower() not in (h.lower() for h in self._headers):
            self._headers.append(name)

    @property
    def accepted_headers(self) -> tuple[str, ...]:
        return tuple(self._headers)

    def secret_in(self, request: HTTPServerRequest) -> str | None:
        """The first core token the request carries, or ``None`` (no lookup)."""
        for header in self._headers:
            for value in request.headers.get_list(header):
                scheme, _, rest = value.strip().partition(" ")
                candidate = rest.strip() if scheme.lower() in _SCHEMES else value.strip()
                if is_core_token(candidate):
                    return candidate
        return None

    # -- tokens -------------------------------------------------------------

    async def issue(
        self,
        user: str,
        *,
        issuer: str,
        purpose: str = API_PURPOSE,
        note: str | None = None,
        expires_in_seconds: float | None = None,
    ) -> IssuedToken:
        """A new token for core user ``user`` (e.g. ``identity.name``).

        :arg issuer: the plugin issuing it (its name), shown in the owner's list.
        :arg purpose: :data:`API_PURPOSE` to identify callers; anything else for
            secrets only your code checks (:meth:`verify`/:meth:`consume`).
        :arg note: free text for the owner ("iPhone", "CLI").
        :arg expires_in_seconds: lifetime; default ``default_expiry_seconds``; 0 = never.
        :returns: the secret (hand it over once, never store it) and its info.
        """
        seconds = self.default_expiry_seconds if expires_in_seconds is None else expires_in_seconds
        if seconds < 0:
            raise ValueError("expires_in_seconds must be >= 0")
        return await self.ctx.db.run(
            issue_token,
            user,
            issuer=issuer,
            purpose=purpose,
            note=note,
            expires_at=_expiry(utcnow(), seconds),
        )

    async def verify(self, secret: str, *, purpose: str = API_PURPOSE) -> TokenInfo | None:
        """The active token ``secret`` is, for this purpose; ``None`` otherwise. Reusable."""
        if not is_core_token(secret):
            return None
        return await self.ctx.db.run(
            verify_token,
            secret,
            purpose=purpose,
            touch_after_seconds=self.last_used_resolution_seconds,
        )

    async def consume(self, secret: str, *, purpose: str) -> TokenInfo | None:
        """Spend a single-use token of this purpose: its info once, then ``None``."""
        if not is_core_token(secret):
            return None
        return await self.ctx.db.run(consume_token, secret, purpose=purpose)

    async def rotate(
        self,
        secret: str,
        *,
        purpose: str = API_PURPOSE,
        expires_in_seconds: float | None = None,
    ) -> IssuedToken | None:
        """Swap an active token for a new one atomically; ``None`` if it is not active.

        Of concurrent rotations of one token exactly one succeeds. The lifetime
        is the old token's unless ``expires_in_seconds`` is given (0 = never).
        """
        if not is_core_token(secret):
            return None
        return await self.ctx.db.run(
            rotate_token, secret, purpose=purpose, expires_in_seconds=expires_in_seconds
        )

    async def revoke(self, token_id: int, *, user: str | None = None) -> bool:
        """Revoke token ``token_id``; with ``user``, only if it is theirs. Whether it was active."""
        return await self.ctx.db.run(revoke_token, token_id, user_name=user)

    async def revoke_secret(self, secret: str, *, purpose: str = API_PURPOSE) -> bool:
        """Revoke the token ``secret`` is (a client logging out with it)."""
        if not is_core_token(secret):
            return False
        return await self.ctx.db.run(consume_token, secret, purpose=purpose) is not None

    async def revoke_all(
        self, user: str, *, purpose: str | None = None, except_id: int | None = None
    ) -> int:
        """Revoke ``user``'s active tokens (of one purpose; but ``except_id``); how many."""
        return await self.ctx.db.run(revoke_user_tokens, user, purpose=purpose, except_id=except_id)

    async def list_tokens(self, user: str, *, include_inactive: bool = False) -> list[TokenInfo]:
        """``user``'s tokens, newest first, without secrets (active only, unless asked)."""
        return await self.ctx.db.run(list_user_tokens, user, include_inactive=include_inactive)

    async def delete_inactive(self, older_than_seconds: float = 30 * 86400.0) -> int:
        """Delete tokens revoked or expired more than ``older_than_seconds`` ago."""
        cutoff = utcnow() - timedelta(seconds=older_than_seconds)
        return await self.ctx.db.run(delete_inactive_tokens, cutoff)


async def start(ctx: ServerContext) -> None:
    """Set ``ctx.tokens``."""
    ctx.tokens = TokenService(ctx)


async def stop(ctx: ServerContext) -> None:
    """Nothing to release: the service holds no connections of its own."""
