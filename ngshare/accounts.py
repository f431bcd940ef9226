"""Local accounts: a username and a password held by this server, for people without a hub login.

Plugins whose users are not JupyterHub users (Vivere's attendees, Ekatra's
learners) sign people up and log them in through ``ctx.accounts``
(:class:`AccountService`) and hand out core API tokens (:mod:`ngshare.tokens`),
instead of each keeping its own password table::

    account = await ctx.accounts.create("ada", password)       # AccountExists if taken
    issued = await ctx.accounts.login("ada", password, issuer="vivere")
    if issued is None:
        raise ApiError(400, ERR_BAD_LOGIN)  # same answer for unknown user and wrong password
    self.write_json({"token": issued.secret})

    reset = await ctx.accounts.issue_reset_token("ada", issuer="ekatra")
    if reset is not None:
        await send_email(..., reset.secret)  # never in an HTTP response
    self.write_json({"message": "check your email"})  # the same whether or not ada exists

Namespace rule (decision)
    A local account ``ada`` is the core user ``local:ada``
    (:data:`ngshare.auth.LOCAL_ACCOUNT_PREFIX`): that is its ``users.name``, its
    ``Identity.name`` (with ``origin == "local"``) and the name plugins store. The
    identity layer refuses any hub or dev identity whose name starts with
    ``local:``, and :func:`ngshare.tokens.issue_token` refuses such names unless
    an account owns them, so the two namespaces never meet: course roles, plugin
    data and admin rights of the hub user ``ada`` never reach the local account
    ``ada``, nor the other way round. Admins list a local account as
    ``local:ada`` explicitly.

    Rejected alternatives: an ``origin`` column on ``users`` would need every
    plugin to key people by (origin, name), and one name-only lookup anywhere
    would merge the two people silently; refusing account names the hub
    already uses cannot work, because a hub user may be seen for the first time
    after the account exists.

Usernames are lower-cased and limited to ``a-z 0-9 . _ @ + -`` (email
addresses fit), so "Ada" and "ada" are one account and no name can smuggle the
prefix's ``:`` or a path separator into URLs.

Passwords
    hashed with scrypt (memory-hard, in the standard library): N = 2**15,
    r = 8, p = 1 (32 MiB per hash), a 16-byte random salt and a 32-byte key,
    stored as ``scrypt$ln=15,r=8,p=1$<salt>$<key>`` so that raising the cost
    later (``c.AccountService.scrypt_n``) re-hashes each password at its next
    login. Passwords are NFKC-normalised first, so the same password typed on
    different keyboards matches. Hashing runs on a small pool of its own
    (``hash_workers``): a flood of logins costs at most ``hash_workers`` x 32 MiB
    and never takes the threads that serve files and the database.

    A login for an unknown username is checked against a dummy key with the
    same parameters, so it takes as long as a wrong password and gets the same
    answer (``None``): response times do not tell which usernames exist.

Password reset
    :meth:`AccountService.issue_reset_token` makes a core token of purpose
    :data:`RESET_PURPOSE`: hashed at rest, single use, valid for
    ``reset_token_expiry_seconds``; a newer one revokes older ones. It is not
    an API token (the identity layer accepts only purpose ``"api"``), and API
    tokens do not reset passwords. It is returned to the Python caller only, for
    the plugin to send by email or SMS. A successful reset revokes every token
    of the account, because resetting is how people recover from a stolen
    password and the thief's sessions must end with it.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import re
import unicodedata
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from traitlets import Float, Integer
from traitlets.config import LoggingConfigurable

from ngshare.accounts_models import AccountSecret, LocalAccount
from ngshare.auth import LOCAL_ACCOUNT_PREFIX, MAX_USERNAME_LENGTH
from ngshare.models import User, get_or_create_user, utcnow
from ngshare.plugin import Plugin
from ngshare.tokens import (
    IssuedToken,
    consume_token,
    issue_token,
    revoke_user_tokens,
    verify_token,
)

if TYPE_CHECKING:
    from ngshare.context import ServerContext

T = TypeVar("T")

#: Purpose of password-reset tokens; the identity layer never accepts it.
RESET_PURPOSE = "password-reset"

MAX_ACCOUNT_USERNAME_LENGTH = MAX_USERNAME_LENGTH - len(LOCAL_ACCOUNT_PREFIX)
_USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._@+-]*$")
_SALT_BYTES = 16
_KEY_BYTES = 32

ERR_ACCOUNT_EXISTS = "An account with this username already exists"
ERR_BAD_USERNAME = (
    f"Usernames are 1-{MAX_ACCOUNT_USERNAME_LENGTH} characters of a-z 0-9 . _ @ + - "
    "and start with a letter or digit"
)
ERR_PASSWORD_TOO_SHORT = "Password must be at least {n} characters"
ERR_PASSWORD_TOO_LONG = "Password must be at most {n} characters"


class AccountError(ValueError):
    """A request about accounts cannot be met; the message is fit for the client."""


class AccountExists(AccountError):
    """The username is taken."""


class InvalidUsername(AccountError):
    """The username is not acceptable."""


class WeakPassword(AccountError):
    """The new password does not meet the length rules."""


@dataclass(frozen=True)
class Account:
    """A local account as plugins see it (never the password hash).

    :arg username: as normalised at sign-up ("ada").
    :arg user_name: its core user's name ("local:ada"): ``Identity.name``.
    :arg user_id: its core user's ``users.pk``, for plugins' foreign keys.
    """

    id: int
    username: str
    user_name: str
    user_id: int
    created_at: datetime
    password_changed_at: datetime


def local_user_name(username: str) -> str:
    """The core user name of local account ``username``."""
    return LOCAL_ACCOUNT_PREFIX + username


def normalize_username(username: str) -> str:
    """Strip and lower-case; :class:`InvalidUsername` if what is left is not allowed."""
    name = username.strip().lower()
    if not (0 < len(name) <= MAX_ACCOUNT_USERNAME_LENGTH) or not _USERNAME_RE.match(name):
        raise InvalidUsername(ERR_BAD_USERNAME)
    return name


# -- password hashes -------------------------------------------------------------


@dataclass(frozen=True)
class ScryptParams:
    """scrypt's cost parameters; ``n`` is a power of two."""

    n: int
    r: int
    p: int

    def encode(self) -> str:
        return f"ln={self.n.bit_length() - 1},r={self.r},p={self.p}"

    @classmethod
    def decode(cls, text: str) -> ScryptParams:
        fields = dict(item.split("=", 1) for item in text.split(","))
        return cls(n=1 << int(fields["ln"]), r=int(fields["r"]), p=int(fields["p"]))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def _scrypt(password: str, salt: bytes, params: ScryptParams) -> bytes:
    # OpenSSL needs 128*r*(n+2) bytes for V plus 128*r*p for B; allow a little more
    maxmem = 128 * params.r * (params.n + 2 + params.p) + (1 << 20)
    return hashlib.scrypt(
        password.encode(),
        salt=salt,
        n=params.n,
        r=params.r,
        p=params.p,
        maxmem=maxmem,
        dklen=_KEY_BYTES,
    )


def hash_password(password: str, params: ScryptParams) -> str:
    """A new salted scrypt hash of ``password``, parameters included (CPU and memory heavy)."""
    salt = os.urandom(_SALT_BYTES)
    key = _scrypt(password, salt, params)
    return f"scrypt${params.encode()}${_b64(salt)}${_b64(key)}"


def parse_password_hash(stored: str) -> tuple[ScryptParams, bytes, bytes]:
    """``(params, salt, key)`` of a stored hash; ``ValueError`` if it is not one."""
    scheme, params, salt, key = stored.split("$")
    if scheme != "scrypt":
        raise ValueError(f"unknown password hash scheme {scheme!r}")
    return ScryptParams.decode(params), _unb64(salt), _unb64(key)


def check_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches the stored hash (constant-time comparison)."""
    try:
        params, salt, key = parse_password_hash(stored)
    except (ValueError, KeyError):
        return False
    return hmac.compare_digest(_scrypt(password, salt, params), key)


def _normalize_password(password: str) -> str:
    return unicodedata.normalize("NFKC", password)


# -- session-level functions ---------------------------------------------------------


def _to_account(account: LocalAccount, user: User, secret: AccountSecret) -> Account:
    return Account(
        id=account.pk,
        username=account.username,
        user_name=user.name,
        user_id=user.pk,
        created_at=account.created_at,
        password_changed_at=secret.changed_at,
    )


def _find(session: Session, username: str) -> tuple[LocalAccount, User, AccountSecret] | None:
    found = session.execute(
        select(LocalAccount, User, AccountSecret)
        .join(User, User.pk == LocalAccount.user_pk)
        .join(AccountSecret, AccountSecret.account_pk == LocalAccount.pk)
        .where(LocalAccount.username == username)
    ).first()
    return None if found is None else (found[0], found[1], found[2])


def _load(session: Session, username: str) -> tuple[Account, str] | None:
    found = _find(session, username)
    return None if found is None else (_to_account(*found), found[2].password_hash)


def _get(session: Session, username: str) -> Account | None:
    found = _find(session, username)
    return None if found is None else _to_account(*found)


def _exists(session: Session, username: str) -> bool:
    return (
        session.scalar(select(LocalAccount.pk).where(LocalAccount.username == username)) is not None
    )


def _create(session: Session, username: str, password_hash: str) -> Account:
    if _exists(session, username):
        raise AccountExists(ERR_ACCOUNT_EXISTS)
    user = get_or_create_user(session, local_user_name(username))
    now = utcnow()
    account = LocalAccount(user_pk=user.pk, username=username, created_at=now)
    session.add(account)
    session.flush()
    secret = AccountSecret(account_pk=account.pk, password_hash=password_hash, changed_at=now)
    session.add(secret)
    session.flush()
    return _to_account(account, user, secret)


def _set_hash(
    session: Session, account_id: int, password_hash: str, *, expected: str | None = None
) -> bool:
    """Store a new hash; with ``expected``, only if the stored one is still it (no lost update)."""
    secret = session.get(AccountSecret, account_id, with_for_update=True)
    if secret is None or (expected is not None and secret.password_hash != expected):
        return False
    secret.password_hash = password_hash
    secret.changed_at = utcnow()
    return True


def _issue_reset(
    session: Session, username: str, issuer: str, expires_at: datetime
) -> IssuedToken | None:
    found = _find(session, username)
    if found is None:
        return None
    user_name = found[1].name
    revoke_user_tokens(session, user_name, purpose=RESET_PURPOSE)
    return issue_token(
        session, user_name, issuer=issuer, purpose=RESET_PURPOSE, expires_at=expires_at
    )


def _account_of_user(
    session: Session, user_id: int
) -> tuple[LocalAccount, User, AccountSecret] | None:
    found = session.execute(
        select(LocalAccount, User, AccountSecret)
        .join(User, User.pk == LocalAccount.user_pk)
        .join(AccountSecret, AccountSecret.account_pk == LocalAccount.pk)
        .where(User.pk == user_id)
    ).first()
    return None if found is None else (found[0], found[1], found[2])


def _peek_reset(session: Session, secret: str) -> bool:
    info = verify_token(session, secret, purpose=RESET_PURPOSE)
    return info is not None and _account_of_user(session, info.user_id) is not None


def _reset(
    session: Session, secret: str, password_hash: str, revoke_tokens: bool
) -> Account | None:
    info = consume_token(session, secret, purpose=RESET_PURPOSE)
    if info is None:
        return None
    found = _account_of_user(session, info.user_id)
    if found is None:
        return None
    account, user, stored = found
    _set_hash(session, account.pk, password_hash)
    revoke_user_tokens(session, user.name, purpose=None if revoke_tokens else RESET_PURPOSE)
    return _to_account(account, user, stored)


# -- the service -----------------------------------------------------------------------


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

    async def create(self, username: str, password: str) -> Account:
        """Create a local account.

        :raises InvalidUsername: the username is not acceptable.
        :raises WeakPassword: the password breaks the length rules.
        :raises AccountExists: the (normalised) username is taken.
        """
        username = normalize_username(username)
        password = self._check_new_password(password)
        if await self.ctx.db.run(_exists, username):
            raise AccountExists(ERR_ACCOUNT_EXISTS)  # before paying for a hash
        password_hash = await self._hashing(hash_password, password, self.params)
        try:
            return await self.ctx.db.run(_create, username, password_hash)
        except IntegrityError:  # created concurrently
            raise AccountExists(ERR_ACCOUNT_EXISTS) from None

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


# -- core service hooks -------------------------------------------------------------


async def start(ctx: ServerContext) -> None:
    """Set ``ctx.accounts`` (after ``ngshare.tokens``: logins issue tokens)."""
    ctx.accounts = AccountService(ctx)


async def stop(ctx: ServerContext) -> None:
    """Let password hashes in progress finish and release the hashing threads."""
    if ctx.accounts is not None:
        await asyncio.get_running_loop().run_in_executor(None, ctx.accounts.close)


#: No routes: each plugin exposes its own sign-up and login endpoints, in its own wire format.
service = Plugin(
    name="accounts",
    mount="",
    description="Local accounts (username and password) for clients outside the hub.",
    startup=start,
    shutdown=stop,
)
