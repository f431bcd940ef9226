"""``ctx.accounts``: :class:`AccountService`, and the core-service hooks that create it.

Hashing runs on a small pool of the service's own (``hash_workers``): a flood
of logins costs at most ``hash_workers`` x 32 MiB and never takes the threads
that serve files and the database. A login for an unknown username is checked
against a dummy key with the same parameters, so it takes as long as a wrong
password and gets the same answer (``None``): response times do not tell
which usernames exist.

Password reset
    :meth:`AccountService.issue_reset_token` makes a core token of purpose
    :data:`~ngshare.accounts.RESET_PURPOSE`: hashed at rest, single use, valid for
    ``reset_token_expiry_seconds``; a newer one revokes older ones. It is not
    an API token (the identity layer accepts only purpose ``"api"``), and API
    tokens do not reset passwords. It is returned to the Python caller only, for
    the plugin to send by email or SMS. A successful reset revokes every token
    of the account, because resetting is how people recover from a stolen
    password and the thief's sessions must end with it.
"""

from __future__ import annotations

import asyncio
import hmac
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.orm import Session
from traitlets import Float, Integer
from traitlets.config import LoggingConfigurable

from ngshare.accounts.account import (
    ERR_ACCOUNT_EXISTS,
    ERR_PASSWORD_TOO_LONG,
    ERR_PASSWORD_TOO_SHORT,
    RESET_PURPOSE,
    Account,
    AccountExists,
    InvalidUsername,
    NewAccount,
    WeakPassword,
    normalize_username,
)
from ngshare.accounts.passwords import (
    _KEY_BYTES,
    _SALT_BYTES,
    ScryptParams,
    _normalize_password,
    _scrypt,
    check_password,
    hash_password,
    parse_password_hash,
)
from ngshare.accounts.store import (
    _exists,
    _get,
    _issue_reset,
    _load,
    _peek_reset,
    _reset,
    _set_hash,
    create_account,
)
from ngshare.models import utcnow
from ngshare.tokens.store import IssuedToken, revoke_user_tokens

if TYPE_CHECKING:
    from ngshare.context import ServerContext

T = TypeVar("T")


class AccountService(LoggingConfigurable):
    """``ctx.accounts``: sign-up, login, password change and reset for local accounts.

    Configurable as ``c.AccountService.<trait>``. Methods are coroutines;
    database work runs through ``ctx.db.run``, hashing on the service's own pool.
    """

    scrypt_n = Integer(
        2**15,
        help="""scrypt CPU/memory cost (a power of two; memory = 128 * r * n bytes).
        2**15 with r=8 is 32 MiB and ~70 ms a hash; OWASP's minimum is 2**17
        for dedicated login servers. Raising it re-hashes at each next login.""",
    ).tag(config=True)

    scrypt_r = Integer(8, help="scrypt block size.").tag(config=True)

    scrypt_p = Integer(1, help="scrypt parallelism.").tag(config=True)

    hash_workers = Integer(
        2, help="Threads that hash passwords: bounds the memory and CPU a login flood can take."
    ).tag(config=True)

    min_password_length = Integer(8, help="Shortest acceptable new password.").tag(config=True)

    max_password_length = Integer(
        1024, help="Longest acceptable password (refused before any hashing)."
    ).tag(config=True)

    reset_token_expiry_seconds = Float(
        3600.0, help="How long a password-reset token stays valid (seconds)."
    ).tag(config=True)

    def __init__(self, ctx: ServerContext, **kwargs: Any) -> None:
        super().__init__(parent=ctx.config, **kwargs)
        self.ctx = ctx
        self._pool: ThreadPoolExecutor | None = None
        # For unknown usernames: a key nobody's password derives, checked at full cost.
        self._dummy_salt = os.urandom(_SALT_BYTES)
        self._dummy_key = os.urandom(_KEY_BYTES)

    @property
    def params(self) -> ScryptParams:
        if self.scrypt_n < 2 or self.scrypt_n & (self.scrypt_n - 1):
            raise ValueError("scrypt_n must be a power of two")
        return ScryptParams(n=self.scrypt_n, r=self.scrypt_r, p=self.scrypt_p)

    async def _hashing(self, fn: Callable[..., T], *args: Any) -> T:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(
                max_workers=max(1, self.hash_workers), thread_name_prefix="ngshare-scrypt"
            )
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def _check_new_password(self, password: str) -> str:
        password = _normalize_password(password)
        if len(password) < self.min_password_length:
            raise WeakPassword(ERR_PASSWORD_TOO_SHORT.format(n=self.min_password_length))
        if len(password) > self.max_password_length:
            raise WeakPassword(ERR_PASSWORD_TOO_LONG.format(n=self.max_password_length))
        return password

    def _dummy_check(self, password: str) -> bool:
        key = _scrypt(password, self._dummy_salt, self.params)
        hmac.compare_digest(key, self._dummy_key)
        return False

    # -- accounts -------------------------------------------------------------

    async def prepare(self, username: str, password: str) -> NewAccount:
        """Check and hash a sign-up, without saving it (see :class:`NewAccount`).

        Save it with :func:`ngshare.accounts.create_account` inside the
        transaction that writes the plugin's own rows for the new person.

        :raises InvalidUsername: the username is not acceptable.
        :raises WeakPassword: the password breaks the length rules.
        :raises AccountExists: the (normalised) username is taken.
        """
        username = normalize_username(username)
        password = self._check_new_password(password)
        if await self.ctx.db.run(_exists, username):
            raise AccountExists(ERR_ACCOUNT_EXISTS)  # before paying for a hash
        password_hash = await self._hashing(hash_password, password, self.params)
        return NewAccount(username, password_hash)

    async def create(self, username: str, password: str) -> Account:
        """Create a local account (:meth:`prepare`, then save it on its own).

        :raises InvalidUsername: the username is not acceptable.
        :raises WeakPassword: the password breaks the length rules.
        :raises AccountExists: the (normalised) username is taken.
        """
        return await self.ctx.db.run(create_account, await self.prepare(username, password))

    async def get(self, username: str) -> Account | None:
        """The account called ``username`` (any case), or ``None``."""
        try:
            username = normalize_username(username)
        except InvalidUsername:
            return None
        return await self.ctx.db.run(_get, username)

    async def authenticate(self, username: str, password: str) -> Account | None:
        """The account if ``password`` is its password; ``None`` otherwise.

        Unknown usernames and wrong passwords get the same answer after the
        same work (a full scrypt), so neither the result nor the time tells
        them apart.
        """
        password = _normalize_password(password)
        if len(password) > self.max_password_length:
            return None  # refused before hashing, whoever the user is
        try:
            username = normalize_username(username)
        except InvalidUsername:
            await self._hashing(self._dummy_check, password)
            return None
        found = await self.ctx.db.run(_load, username)
        if found is None:
            await self._hashing(self._dummy_check, password)
            return None
        account, stored = found
        if not await self._hashing(check_password, password, stored):
            return None
        await self._upgrade_hash(account, password, stored)
        return account

    async def _upgrade_hash(self, account: Account, password: str, stored: str) -> None:
        """Re-hash with the configured parameters if the stored hash used others."""
        try:
            current, _, _ = parse_password_hash(stored)
        except (ValueError, KeyError):
            return
        if current == self.params:
            return
        new_hash = await self._hashing(hash_password, password, self.params)
        await self.ctx.db.run(_set_hash, account.id, new_hash, expected=stored)

    async def login(
        self,
        username: str,
        password: str,
        *,
        issuer: str,
        note: str | None = None,
        expires_in_seconds: float | None = None,
    ) -> IssuedToken | None:
        """:meth:`authenticate`, then a new API token for the account; ``None`` if refused."""
        account = await self.authenticate(username, password)
        if account is None:
            return None
        return await self.ctx.tokens.issue(
            account.user_name, issuer=issuer, note=note, expires_in_seconds=expires_in_seconds
        )

    async def change_password(self, username: str, old_password: str, new_password: str) -> bool:
        """Set a new password if ``old_password`` is right; whether it was changed.

        Outstanding reset tokens die with the old password; API tokens stay
        (revoke them with ``ctx.tokens.revoke_all`` if the plugin wants).

        :raises WeakPassword: the new password breaks the length rules.
        """
        new_password = self._check_new_password(new_password)
        account = await self.authenticate(username, old_password)
        if account is None:
            return False
        new_hash = await self._hashing(hash_password, new_password, self.params)

        def change(session: Session) -> None:
            _set_hash(session, account.id, new_hash)
            revoke_user_tokens(session, account.user_name, purpose=RESET_PURPOSE)

        await self.ctx.db.run(change)
        return True

    async def set_password(self, username: str, new_password: str) -> bool:
        """Set a password without the old one (admin tools); whether the account exists."""
        new_password = self._check_new_password(new_password)
        account = await self.get(username)
        if account is None:
            return False
        new_hash = await self._hashing(hash_password, new_password, self.params)

        def change(session: Session) -> None:
            _set_hash(session, account.id, new_hash)
            revoke_user_tokens(session, account.user_name, purpose=RESET_PURPOSE)

        await self.ctx.db.run(change)
        return True

    # -- password reset -------------------------------------------------------------

    async def issue_reset_token(
        self, username: str, *, issuer: str = "accounts"
    ) -> IssuedToken | None:
        """A single-use password-reset token for ``username``; ``None`` if there is no such account.

        Send ``.secret`` to the person by email or SMS, never in an HTTP
        response, and answer the request the same way whether or not this
        returned ``None``. Earlier reset tokens of the account stop working.
        """
        try:
            username = normalize_username(username)
        except InvalidUsername:
            return None
        expires_at = utcnow() + timedelta(seconds=self.reset_token_expiry_seconds)
        return await self.ctx.db.run(_issue_reset, username, issuer, expires_at)

    async def reset_password(
        self, secret: str, new_password: str, *, revoke_tokens: bool = True
    ) -> Account | None:
        """Spend a reset token and set the new password; ``None`` if the token is not valid.

        :arg revoke_tokens: also revoke all the account's API tokens (default).
        :raises WeakPassword: the new password breaks the length rules; the
            token is then left unspent, so the person can try again.
        """
        new_password = self._check_new_password(new_password)
        if not await self.ctx.db.run(_peek_reset, secret):
            return None  # checked before paying for a hash
        new_hash = await self._hashing(hash_password, new_password, self.params)
        return await self.ctx.db.run(_reset, secret, new_hash, revoke_tokens)


async def start(ctx: ServerContext) -> None:
    """Set ``ctx.accounts`` (after ``ngshare.tokens``: logins issue tokens)."""
    ctx.accounts = AccountService(ctx)


async def stop(ctx: ServerContext) -> None:
    """Let password hashes in progress finish and release the hashing threads."""
    if ctx.accounts is not None:
        await asyncio.get_running_loop().run_in_executor(None, ctx.accounts.close)
