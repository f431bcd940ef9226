"""Core tables, shared by every feature set: the people who use the server."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import String, select
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
    """Many users at once: one query for those already known."""
    wanted = set(names)
    found = {u.name: u for u in session.scalars(select(User).where(User.name.in_(wanted)))}
    for name in sorted(wanted - found.keys()):
        found[name] = get_or_create_user(session, name)
    return found
