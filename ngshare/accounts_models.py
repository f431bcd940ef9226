"""Core tables for credentials the server issues itself: API tokens and local accounts.

They live on the core MetaData (:class:`ngshare.models.CoreBase`) because every
plugin relies on them and no plugin owns them; their alembic branch is
``accounts`` (``alembic/versions/acc000000001_accounts_tokens.py``).
:mod:`ngshare.tokens` and :mod:`ngshare.accounts` are the only code that should
write them; plugins go through ``ctx.tokens`` and ``ctx.accounts``. This module
stays outside both packages because both import it: inside ``ngshare.accounts``
it would run that package's ``__init__`` (and so ``ngshare.tokens.store``) while
``ngshare.tokens.store`` is still being imported.

Nothing here holds a usable secret: tokens are kept as sha256 digests and
passwords as scrypt hashes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ngshare.db import intpk
from ngshare.models import CoreBase, User, utcnow


class ApiToken(CoreBase):
    """A secret issued by the core to one user, for one purpose.

    ``purpose`` ``"api"`` tokens identify callers on every route; any other
    purpose (``"password-reset"``, a plugin's refresh tokens) is only ever
    checked by the code that asked for that purpose. ``revoked_at`` is also how
    single-use tokens are spent, and how rotation retires the old token.
    """

    __tablename__ = "api_tokens"

    pk: Mapped[intpk]
    user_pk: Mapped[int] = mapped_column(ForeignKey(User.pk, ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(64))
    #: Which feature set issued it ("vivere", "accounts", ...), for the owner's token list.
    issuer: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(String(255))
    #: The first characters of the secret: shows the owner which token is which.
    prefix: Mapped[str] = mapped_column(String(16))
    #: sha256 of the whole secret, hex; the only way to find a token.
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class LocalAccount(CoreBase):
    """A username that logs in with a password held by this server.

    ``username`` is the normalised name people type ("ada"); the account's core
    user is named with the local-account prefix ("local:ada", see
    :mod:`ngshare.accounts`), so it can never be the JupyterHub user "ada".
    """

    __tablename__ = "accounts"

    pk: Mapped[intpk]
    user_pk: Mapped[int] = mapped_column(ForeignKey(User.pk, ondelete="CASCADE"), unique=True)
    username: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AccountSecret(CoreBase):
    """An account's password hash, apart from the account so listings never load it."""

    __tablename__ = "account_secrets"

    account_pk: Mapped[int] = mapped_column(
        ForeignKey(LocalAccount.pk, ondelete="CASCADE"), primary_key=True
    )
    #: ``scrypt$ln=..,r=..,p=..$<salt>$<key>``: the parameters travel with the hash.
    password_hash: Mapped[str] = mapped_column(String(255))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
