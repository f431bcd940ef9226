"""Core-issued API tokens, so that no plugin invents its own authentication.

Plugins whose clients live outside JupyterHub (mobile and web apps) log people
in their own way, then ask the core for a token; from then on the identity
layer (:class:`ngshare.auth.TokenFirstIdentity`) recognises that token on every
route, core or plugin, in every mode (hub, dev, none)::

    issued = await ctx.tokens.issue(self.identity.name, issuer="vivere", note="iPhone")
    self.write_json({"token": issued.secret})  # shown once: only its hash is kept

    ctx.tokens.accept_header("X-MenloHacks-Authorization")  # in the plugin's startup

Modules: :mod:`~ngshare.tokens.store` (the session-level ``*_token`` functions
and the design notes), :mod:`~ngshare.tokens.tokenservice` (``ctx.tokens``),
:mod:`~ngshare.tokens.handlers` and :mod:`~ngshare.tokens.openapi` (the routes).
Every public name is importable from ``ngshare.tokens``; :data:`service` is the
core service listed in :data:`ngshare.app.CORE_SERVICES`.

Routes (core JSON envelope, any identity):

* ``GET {prefix}tokens``: the caller's active tokens, never their secrets;
* ``DELETE {prefix}tokens``: revoke all of the caller's tokens (log out everywhere);
* ``DELETE {prefix}tokens/<id>``: revoke one of them (404 if it is not theirs).
"""

from __future__ import annotations

from ngshare.plugin import Plugin
from ngshare.tokens.handlers import ERR_TOKEN_NOT_FOUND, TokenHandler, TokenListHandler
from ngshare.tokens.openapi import openapi_paths
from ngshare.tokens.store import (
    API_PURPOSE,
    ERR_BAD_LABEL,
    ERR_LOCAL_WITHOUT_ACCOUNT,
    PREFIX_LENGTH,
    TOKEN_MARKER,
    IssuedToken,
    TokenInfo,
    consume_token,
    delete_inactive_tokens,
    digest_of,
    is_core_token,
    issue_token,
    list_user_tokens,
    new_secret,
    revoke_token,
    revoke_user_tokens,
    rotate_token,
    verify_token,
)
from ngshare.tokens.tokenservice import TokenService, start, stop

__all__ = [
    "API_PURPOSE",
    "ERR_BAD_LABEL",
    "ERR_LOCAL_WITHOUT_ACCOUNT",
    "ERR_TOKEN_NOT_FOUND",
    "PREFIX_LENGTH",
    "TOKEN_MARKER",
    "IssuedToken",
    "TokenHandler",
    "TokenInfo",
    "TokenListHandler",
    "TokenService",
    "consume_token",
    "delete_inactive_tokens",
    "digest_of",
    "is_core_token",
    "issue_token",
    "list_user_tokens",
    "new_secret",
    "openapi_paths",
    "revoke_token",
    "revoke_user_tokens",
    "rotate_token",
    "service",
    "start",
    "stop",
    "verify_token",
]

service = Plugin(
    name="tokens",
    mount="",
    description="Core API tokens: issued by feature sets' logins, listed and revoked here.",
    handlers=[
        (r"tokens/?", TokenListHandler),
        (r"tokens/(?P<token_id>[0-9]{1,18})/?", TokenHandler),
    ],
    startup=start,
    shutdown=stop,
    openapi=openapi_paths(),
)
