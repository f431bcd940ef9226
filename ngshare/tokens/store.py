"""Core tokens in the database: the functions that take an ORM session, and what they return.

Used by :class:`ngshare.tokens.TokenService` (through ``ctx.db.run``), by
:mod:`ngshare.accounts` (password-reset tokens), and by plugins that issue a
token in the same transaction as their own rows (``await ctx.db.run(my_fn)``
calling :func:`issue_token` inside).

Why it is built this way:

* A token is ``ngs_`` and 43 url-safe characters (32 random bytes). The marker
  lets the identity layer tell core tokens from JupyterHub tokens without a
  query: hub tokens never cost a database lookup, core tokens never go to the
  hub, and leaked tokens are easy for secret scanners to spot.
* Only ``sha256(secret)`` is stored. With 256 bits of entropy there is nothing
  to brute-force, so a slow KDF would only slow every request; a digest lookup
  is one indexed query. The first :data:`PREFIX_LENGTH` characters are stored
  too, so owners can tell their tokens apart in a listing.
* ``purpose`` says what a secret is for. Only :data:`API_PURPOSE` tokens
  identify callers; others (``"password-reset"``, a plugin's refresh tokens)
  are checked only by code that names their purpose (:func:`verify_token`,
  :func:`consume_token`, :func:`rotate_token`), so a reset link is never a
  session and a session token never resets a password.
* Revocation takes effect on the next request: every request looks its token up,
  and no cache could keep a revoked token alive in another process.
* ``last_used_at`` is written at most once per ``touch_after_seconds`` per
  token, so a busy client does not turn every read into a write.
* Rotation and single use are conditional updates (``revoked_at IS NULL``):
  of two concurrent attempts with one token exactly one wins, on SQLite and
  PostgreSQL alike, so a refresh token cannot be replayed.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ngshare.accounts_models import ApiToken, LocalAccount
from ngshare.auth import is_local_name
from ngshare.models import User, get_or_create_user, utcnow

#: The only purpose the identity layer accepts.
API_PURPOSE = "api"
#: Every core-issued secret starts with this.
TOKEN_MARKER = "ngs_"
#: Stored and shown: the marker and 8 random characters (48 of the 256 bits).
PREFIX_LENGTH = 12
_TOKEN_RE = re.compile(r"^ngs_[A-Za-z0-9_-]{43}$")
_LABEL_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")

ERR_BAD_LABEL = "{what} must be 1-64 characters of a-z 0-9 . _ - (got {value!r})"
ERR_LOCAL_WITHOUT_ACCOUNT = "{name!r} is in the local-account namespace but has no account"


@dataclass(frozen=True)
class TokenInfo:
    """A token as its owner and plugins may see it: everything but the secret."""

    id: int
    user: str
    user_id: int
    purpose: str
    issuer: str
    note: str | None
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    def is_active(self, now: datetime | None = None) -> bool:
        """Not revoked (or spent) and not expired."""
        now = now or utcnow()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    def to_json(self) -> dict[str, Any]:
        """The wire form (UTC ISO 8601 times), for listings."""
        return {
            "id": self.id,
            "prefix": self.prefix,
            "purpose": self.purpose,
            "issuer": self.issuer,
            "note": self.note,
            "created_at": _iso(self.created_at),
            "expires_at": _iso(self.expires_at),
            "last_used_at": _iso(self.last_used_at),
        }


@dataclass(frozen=True)
class IssuedToken:
    """A new token: ``secret`` exists only here, for the caller to hand over once.

    ``repr`` leaves the secret out, so logging the object does not leak it.
    """

    secret: str = field(repr=False)
    info: TokenInfo


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="seconds") + "Z"


def new_secret() -> str:
    """A fresh token: the marker and 32 random bytes, url-safe base64."""
    return TOKEN_MARKER + secrets.token_urlsafe(32)


def digest_of(secret: str) -> str:
    """What is stored for ``secret``: its sha256, hex."""
    return hashlib.sha256(secret.encode()).hexdigest()


def is_core_token(value: str) -> bool:
    """Whether ``value`` has the shape of a core token (no lookup)."""
    return bool(_TOKEN_RE.match(value))


def _check_label(what: str, value: str) -> None:
    if not _LABEL_RE.match(value):
        raise ValueError(ERR_BAD_LABEL.format(what=what, value=value))


def _info(row: ApiToken, user: User) -> TokenInfo:
    return TokenInfo(
        id=row.pk,
        user=user.name,
        user_id=user.pk,
        purpose=row.purpose,
        issuer=row.issuer,
        note=row.note,
        prefix=row.prefix,
        created_at=row.created_at,
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


def _active(now: datetime) -> list:
    return [
        ApiToken.revoked_at.is_(None),
        (ApiToken.expires_at.is_(None)) | (ApiToken.expires_at > now),
    ]


def _expiry(now: datetime, seconds: float) -> datetime | None:
    """``seconds`` from ``now``; 0 means never."""
    return None if seconds == 0 else now + timedelta(seconds=seconds)


# -- session-level functions (for use inside ctx.db.run) ----------------------


def issue_token(
    session: Session,
    user_name: str,
    *,
    issuer: str,
    purpose: str = API_PURPOSE,
    note: str | None = None,
    expires_at: datetime | None = None,
) -> IssuedToken:
    """Create a token for ``user_name`` (created on first sight) in this transaction.

    Names in the local-account namespace must belong to an account: a token is
    the only way to act as a local account, so it must not create one.

    :arg expires_at: naive UTC; ``None`` for a token that never expires.
    :raises ValueError: bad ``issuer``/``purpose``, or a local name without account.
    """
    _check_label("issuer", issuer)
    _check_label("purpose", purpose)
    if is_local_name(user_name):
        user = session.scalar(
            select(User)
            .join(LocalAccount, LocalAccount.user_pk == User.pk)
            .where(User.name == user_name)
        )
        if user is None:
            raise ValueError(ERR_LOCAL_WITHOUT_ACCOUNT.format(name=user_name))
    else:
        user = get_or_create_user(session, user_name)
    secret = new_secret()
    row = ApiToken(
        user_pk=user.pk,
        purpose=purpose,
        issuer=issuer,
        note=note[:255] if note else None,
        prefix=secret[:PREFIX_LENGTH],
        digest=digest_of(secret),
        created_at=utcnow(),
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    return IssuedToken(secret=secret, info=_info(row, user))


def _find_active(
    session: Session, secret: str, purpose: str, now: datetime
) -> tuple[ApiToken, User] | None:
    if not is_core_token(secret):
        return None
    found = session.execute(
        select(ApiToken, User)
        .join(User, User.pk == ApiToken.user_pk)
        .where(ApiToken.digest == digest_of(secret), ApiToken.purpose == purpose, *_active(now))
    ).first()
    return None if found is None else (found[0], found[1])


def verify_token(
    session: Session,
    secret: str,
    *,
    purpose: str = API_PURPOSE,
    touch_after_seconds: float = 60.0,
) -> TokenInfo | None:
    """The active token ``secret`` is, if it has this ``purpose``; records its use.

    ``last_used_at`` is only written when it is older than ``touch_after_seconds``.
    """
    now = utcnow()
    found = _find_active(session, secret, purpose, now)
    if found is None:
        return None
    row, user = found
    last = row.last_used_at
    if last is None or (now - last).total_seconds() >= touch_after_seconds:
        row.last_used_at = now
    return _info(row, user)


def _spend(session: Session, row: ApiToken, now: datetime) -> bool:
    """Revoke ``row`` unless someone already did: True for the one caller who wins."""
    result = session.execute(
        update(ApiToken)
        .where(ApiToken.pk == row.pk, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now, last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    row.revoked_at = row.last_used_at = now
    return True


def consume_token(session: Session, secret: str, *, purpose: str) -> TokenInfo | None:
    """Spend a single-use token: its info the first time, ``None`` ever after."""
    now = utcnow()
    found = _find_active(session, secret, purpose, now)
    if found is None or not _spend(session, found[0], now):
        return None
    return _info(*found)


def rotate_token(
    session: Session,
    secret: str,
    *,
    purpose: str = API_PURPOSE,
    expires_in_seconds: float | None = None,
) -> IssuedToken | None:
    """Replace an active token by a new one in one transaction; ``None`` if it is not active.

    The new token has the same owner, purpose, issuer and note. Its lifetime is
    the old one's (``expires_in_seconds`` overrides it; 0 means never).
    """
    now = utcnow()
    found = _find_active(session, secret, purpose, now)
    if found is None:
        return None
    row, user = found
    if not _spend(session, row, now):
        return None  # a concurrent rotation won
    if expires_in_seconds is not None:
        expires_at = _expiry(now, expires_in_seconds)
    elif row.expires_at is None:
        expires_at = None
    else:
        expires_at = now + (row.expires_at - row.created_at)
    return issue_token(
        session,
        user.name,
        issuer=row.issuer,
        purpose=row.purpose,
        note=row.note,
        expires_at=expires_at,
    )


def revoke_token(session: Session, token_id: int, *, user_name: str | None = None) -> bool:
    """Revoke the active token ``token_id`` (only if ``user_name`` owns it, when given)."""
    now = utcnow()
    query = update(ApiToken).where(ApiToken.pk == token_id, *_active(now))
    if user_name is not None:
        owner = select(User.pk).where(User.name == user_name).scalar_subquery()
        query = query.where(ApiToken.user_pk == owner)
    result = session.execute(
        query.values(revoked_at=now).execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def revoke_user_tokens(
    session: Session,
    user_name: str,
    *,
    purpose: str | None = None,
    except_id: int | None = None,
) -> int:
    """Revoke ``user_name``'s active tokens (of one purpose, if given); how many."""
    now = utcnow()
    owner = select(User.pk).where(User.name == user_name).scalar_subquery()
    query = update(ApiToken).where(ApiToken.user_pk == owner, *_active(now))
    if purpose is not None:
        query = query.where(ApiToken.purpose == purpose)
    if except_id is not None:
        query = query.where(ApiToken.pk != except_id)
    result = session.execute(
        query.values(revoked_at=now).execution_options(synchronize_session=False)
    )
    return result.rowcount


def list_user_tokens(
    session: Session, user_name: str, *, include_inactive: bool = False
) -> list[TokenInfo]:
    """``user_name``'s tokens, newest first (active ones only, unless asked)."""
    query = (
        select(ApiToken, User)
        .join(User, User.pk == ApiToken.user_pk)
        .where(User.name == user_name)
        .order_by(ApiToken.created_at.desc(), ApiToken.pk.desc())
    )
    if not include_inactive:
        query = query.where(*_active(utcnow()))
    return [_info(row, user) for row, user in session.execute(query)]


def delete_inactive_tokens(session: Session, older_than: datetime) -> int:
    """Delete tokens revoked or expired before ``older_than`` (housekeeping)."""
    result = session.execute(
        ApiToken.__table__.delete().where(
            (ApiToken.revoked_at < older_than) | (ApiToken.expires_at < older_than)
        )
    )
    return result.rowcount
