"""Local accounts in the database: the functions that take an ORM session.

:func:`create_account` is public (plugins save a prepared account in their
own transaction with it); the ``_`` functions are private to
:class:`ngshare.accounts.AccountService`, which runs them through
``ctx.db.run``. Password-reset tokens go through :mod:`ngshare.tokens.store`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ngshare.accounts.account import (
    ERR_ACCOUNT_EXISTS,
    RESET_PURPOSE,
    Account,
    AccountExists,
    NewAccount,
    local_user_name,
)
from ngshare.accounts_models import AccountSecret, LocalAccount
from ngshare.models import User, get_or_create_user, utcnow
from ngshare.tokens.store import (
    IssuedToken,
    consume_token,
    issue_token,
    revoke_user_tokens,
    verify_token,
)


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


def create_account(session: Session, new: NewAccount) -> Account:
    """Save a prepared account in the caller's transaction, so it commits or fails with its rows.

    :raises AccountExists: the username was taken since :meth:`AccountService.prepare`
        (the caller's other writes are kept: only this savepoint is undone).
    """
    try:
        with session.begin_nested():
            return _create(session, new.username, new.password_hash)
    except IntegrityError:  # created concurrently
        raise AccountExists(ERR_ACCOUNT_EXISTS) from None


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
