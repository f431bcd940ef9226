"""Core tables, shared by every feature set: the people who use the server."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import LargeBinary, String, Text, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from ngshare.db import intpk, make_metadata


def utcnow() -> datetime:
    """Naive UTC now; every stored datetime is naive UTC."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class CoreBase(DeclarativeBase):
    metadata = make_metadata()


class User(CoreBase):
    """Someone known to the server by name (a JupyterHub user or a local account)."""

    __tablename__ = "users"

    pk: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class InlineBlob(CoreBase):
    """A small blob's content, kept in the database instead of a file.

    See :class:`ngshare.storage.BlobStore`: it is written in the transaction
    of the rows that refer to it. ``touched_at`` plays the role a file's mtime
    plays for garbage collection. ``codec`` says how ``content`` is packed:
    NULL for as is, ``"lz4"`` for an LZ4 frame (see :mod:`ngshare.storage`).
    """

    __tablename__ = "blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    touched_at: Mapped[datetime] = mapped_column(index=True)
    codec: Mapped[str | None] = mapped_column(String(8))


def get_or_create_user(session: Session, name: str) -> User:
    """The user called ``name``, created on first sight."""
    user = session.scalar(select(User).where(User.name == name))
    if user is not None:
        return user
    try:
        with session.begin_nested():  # a concurrent request may create the same user
            user = User(name=name)
            session.add(user)
    except IntegrityError:
        user = session.scalar(select(User).where(User.name == name))
        assert user is not None
    return user


def get_or_create_users(session: Session, names: list[str]) -> dict[str, User]:
    """Many users at once: one INSERT that skips existing names, one SELECT.

    ``ON CONFLICT DO NOTHING`` also absorbs a concurrent request creating the
    same user, without a savepoint per name.
    """
    wanted = sorted(set(names))
    if not wanted:
        return {}
    dialect = session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        insert = sqlite_insert if dialect == "sqlite" else pg_insert
        now = utcnow()
        session.execute(
            insert(User)
            .values([{"name": n, "created_at": now} for n in wanted])
            .on_conflict_do_nothing(index_elements=["name"])
        )
        return {u.name: u for u in session.scalars(select(User).where(User.name.in_(wanted)))}
    return {name: get_or_create_user(session, name) for name in wanted}


class SharedSecret(CoreBase):
    """A secret every replica must hold the same of (cookie secret, VAPID key), by name.

    Written once by whichever replica starts first (see :mod:`ngshare.shared_secrets`)
    and read by all; used only when ``c.NgShare.secrets_in_database`` is on.
    """

    __tablename__ = "shared_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
