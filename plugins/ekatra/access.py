"""Who may see and change what: owners their own rows, admins everything.

A row of someone else is reported as not found (404), not forbidden, so
ids do not tell what other people have. The checks run inside the
transaction that reads or writes the row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from ngshare_ekatra import errors
from ngshare_ekatra.models import LOCKING, Course, Delivery, Group
from sqlalchemy import select
from sqlalchemy.orm import Session

from ngshare.plugin_api import ApiError, get_or_create_user

M = TypeVar("M", Course, Group, Delivery)


@dataclass(frozen=True)
class Caller:
    """The identity of a request, as the data functions need it."""

    name: str
    is_admin: bool

    def user_pk(self, session: Session) -> int:
        return get_or_create_user(session, self.name).pk


def owned(session: Session, model: type[M], pk: int, caller: Caller, message: str) -> M:
    """Row ``pk`` of ``model`` if the caller owns it (or is an admin); else 404 ``message``."""
    row = session.get(model, pk)
    if row is None or not (caller.is_admin or row.owner_pk == caller.user_pk(session)):
        raise ApiError(404, message)
    return row


def visible(session: Session, model: type[M], caller: Caller) -> list[M]:
    """The rows of ``model`` the caller sees, oldest first."""
    query = select(model).order_by(model.pk)
    if not caller.is_admin:
        query = query.where(model.owner_pk == caller.user_pk(session))
    return list(session.scalars(query))


def refuse_if_locked(
    session: Session, *, course: Course | None = None, group: Group | None = None
) -> None:
    """409 if a scheduled or paused delivery uses ``course`` or ``group``."""
    if course is not None:
        what, name, column, pk = "course", course.name, Delivery.course_pk, course.pk
    else:
        assert group is not None
        what, name, column, pk = "group", group.name, Delivery.group_pk, group.pk
    ids = list(
        session.scalars(
            select(Delivery.pk)
            .where(column == pk, Delivery.status.in_(LOCKING))
            .order_by(Delivery.pk)
        )
    )
    if ids:
        raise ApiError(
            409, errors.ERR_LOCKED.format(what=what, name=name, ids=", ".join(map(str, ids)))
        )
