"""Local accounts: a username and a password held by this server, for people without a hub login.

Plugins whose users are not JupyterHub users (Vivere's attendees, Ekatra's
learners) sign people up and log them in through ``ctx.accounts``
(:class:`AccountService`) and hand out core API tokens (:mod:`ngshare.tokens`),
instead of each keeping its own password table::

    account = await ctx.accounts.create("ada", password)       # AccountExists if taken

    # or, with the plugin's own rows in the same transaction (all or nothing):
    new = await ctx.accounts.prepare("ada", password)          # checked and hashed
    await ctx.db.run(lambda session: save_profile(session, create_account(session, new)))

    issued = await ctx.accounts.login("ada", password, issuer="vivere")
    if issued is None:
        raise ApiError(400, ERR_BAD_LOGIN)  # same answer for unknown user and wrong password
    self.write_json({"token": issued.secret})

    reset = await ctx.accounts.issue_reset_token("ada", issuer="ekatra")
    if reset is not None:
        await send_email(..., reset.secret)  # never in an HTTP response
    self.write_json({"message": "check your email"})  # the same whether or not ada exists

Modules: :mod:`~ngshare.accounts.account` (:class:`Account`, the errors, the
username and namespace rules), :mod:`~ngshare.accounts.passwords` (scrypt),
:mod:`~ngshare.accounts.store` (session-level functions) and
:mod:`~ngshare.accounts.accountservice` (``ctx.accounts``, password reset).
The tables are in :mod:`ngshare.accounts_models`. Every public name is
importable from ``ngshare.accounts``; :data:`service` is the core service
listed in :data:`ngshare.app.CORE_SERVICES`.
"""

from __future__ import annotations

from ngshare.accounts.account import (
    ERR_ACCOUNT_EXISTS,
    ERR_BAD_USERNAME,
    ERR_PASSWORD_TOO_LONG,
    ERR_PASSWORD_TOO_SHORT,
    MAX_ACCOUNT_USERNAME_LENGTH,
    RESET_PURPOSE,
    Account,
    AccountError,
    AccountExists,
    InvalidUsername,
    NewAccount,
    WeakPassword,
    local_user_name,
    normalize_username,
)
from ngshare.accounts.accountservice import AccountService, start, stop
from ngshare.accounts.passwords import (
    ScryptParams,
    check_password,
    hash_password,
    parse_password_hash,
)
from ngshare.accounts.store import create_account
from ngshare.plugin import Plugin

__all__ = [
    "ERR_ACCOUNT_EXISTS",
    "ERR_BAD_USERNAME",
    "ERR_PASSWORD_TOO_LONG",
    "ERR_PASSWORD_TOO_SHORT",
    "MAX_ACCOUNT_USERNAME_LENGTH",
    "RESET_PURPOSE",
    "Account",
    "AccountError",
    "AccountExists",
    "AccountService",
    "InvalidUsername",
    "NewAccount",
    "ScryptParams",
    "WeakPassword",
    "check_password",
    "create_account",
    "hash_password",
    "local_user_name",
    "normalize_username",
    "parse_password_hash",
    "service",
    "start",
    "stop",
]

#: No routes: each plugin exposes its own sign-up and login endpoints, in its own wire format.
service = Plugin(
    name="accounts",
    mount="",
    description="Local accounts (username and password) for clients outside the hub.",
    startup=start,
    shutdown=stop,
)
