"""What plugins see of a local account: :class:`Account`, the errors, and the username rules.

Used by :mod:`ngshare.accounts.store` and :class:`ngshare.accounts.AccountService`.

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
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from ngshare.auth import LOCAL_ACCOUNT_PREFIX, MAX_USERNAME_LENGTH

#: Purpose of password-reset tokens; the identity layer never accepts it.
RESET_PURPOSE = "password-reset"

MAX_ACCOUNT_USERNAME_LENGTH = MAX_USERNAME_LENGTH - len(LOCAL_ACCOUNT_PREFIX)
_USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._@+-]*$")

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


@dataclass(frozen=True)
class NewAccount:
    """A sign-up checked and hashed by :meth:`AccountService.prepare`, not yet saved.

    The slow part (scrypt) is done outside any transaction; saving it with
    :func:`ngshare.accounts.create_account` is a few inserts, so a plugin can
    save it together with its own rows in one ``ctx.db.run``: a failure after
    the account leaves no account behind. ``repr`` leaves the hash out.
    """

    username: str
    password_hash: str = field(repr=False)


def local_user_name(username: str) -> str:
    """The core user name of local account ``username``."""
    return LOCAL_ACCOUNT_PREFIX + username


def normalize_username(username: str) -> str:
    """Strip and lower-case; :class:`InvalidUsername` if what is left is not allowed."""
    name = username.strip().lower()
    if not (0 < len(name) <= MAX_ACCOUNT_USERNAME_LENGTH) or not _USERNAME_RE.match(name):
        raise InvalidUsername(ERR_BAD_USERNAME)
    return name
