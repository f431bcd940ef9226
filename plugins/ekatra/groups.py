"""Groups and their learners: the data functions behind ``group/...``.

Replacing a group's ``students`` keeps the learners whose number is listed
again (updated in place, with their answers and history) and removes the
others; the original appended the list again, making duplicates.
"""

from __future__ import annotations

from typing import Any

from ngshare_ekatra import errors
from ngshare_ekatra.access import Caller, owned, refuse_if_locked, visible
from ngshare_ekatra.models import Group, Learner
from ngshare_ekatra.wire import MISSING, LearnerIn
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ngshare.plugin_api import ApiError, utcnow


def learner_json(learner: Learner) -> dict[str, Any]:
    return {
        "id": learner.pk,
        "name": learner.name,
        "number": learner.phone,
        "channel": learner.channel,
        "is_subscribed": learner.is_subscribed,
        "timezone": learner.timezone,
        "country_code": learner.country_code,
    }


def learners_of(session: Session, group_pk: int) -> list[Learner]:
    query = select(Learner).where(Learner.group_pk == group_pk).order_by(Learner.pk)
    return list(session.scalars(query))


def group_json(session: Session, group: Group) -> dict[str, Any]:
    return {
        "id": group.pk,
        "name": group.name,
        "description": group.description,
        "students": [learner_json(s) for s in learners_of(session, group.pk)],
        "added_by": group.owner_pk,
        "created_date": group.created_at.isoformat(sep=" ", timespec="seconds"),
        "updated_date": group.updated_at.isoformat(sep=" ", timespec="seconds"),
    }


def _apply(learner: Learner, given: LearnerIn) -> None:
    learner.name = given.name
    learner.phone = given.phone
    learner.country_code = given.country_code
    learner.channel = given.channel
    learner.timezone = given.timezone
    learner.is_subscribed = given.is_subscribed


def _replace_learners(session: Session, group: Group, given: list[LearnerIn]) -> None:
    current = {s.phone: s for s in learners_of(session, group.pk)}
    keep = {g.phone for g in given}
    for phone, learner in current.items():
        if phone not in keep:
            session.delete(learner)
    for g in given:
        learner = current.get(g.phone)
        if learner is None:
            learner = Learner(group_pk=group.pk)
            session.add(learner)
        _apply(learner, g)


def list_groups(session: Session, caller: Caller) -> list[dict[str, Any]]:
    return [group_json(session, g) for g in visible(session, Group, caller)]


def get_group(session: Session, caller: Caller, group_pk: int) -> dict[str, Any]:
    return group_json(session, owned(session, Group, group_pk, caller, errors.ERR_GROUP_NOT_FOUND))


def create_group(
    session: Session, caller: Caller, fields: dict[str, Any], learners: list[LearnerIn]
) -> int:
    group = Group(owner_pk=caller.user_pk(session), **fields)
    session.add(group)
    session.flush()
    _replace_learners(session, group, learners)
    return group.pk


def update_group(
    session: Session, caller: Caller, group_pk: int, fields: dict[str, Any], learners: Any
) -> None:
    group = owned(session, Group, group_pk, caller, errors.ERR_GROUP_NOT_FOUND)
    refuse_if_locked(session, group=group)
    for name, value in fields.items():
        setattr(group, name, value)
    if learners is not MISSING:
        session.flush()
        _replace_learners(session, group, learners)
    group.updated_at = utcnow()


def delete_group(session: Session, caller: Caller, group_pk: int) -> None:
    group = owned(session, Group, group_pk, caller, errors.ERR_GROUP_NOT_FOUND)
    refuse_if_locked(session, group=group)
    session.execute(delete(Learner).where(Learner.group_pk == group.pk))
    session.delete(group)


def _learner(
    session: Session, caller: Caller, group_pk: int, learner_pk: int
) -> tuple[Group, Learner]:
    group = owned(session, Group, group_pk, caller, errors.ERR_GROUP_NOT_FOUND)
    learner = session.get(Learner, learner_pk)
    if learner is None or learner.group_pk != group.pk:
        raise ApiError(404, errors.ERR_STUDENT_NOT_FOUND)
    return group, learner


def update_learner(
    session: Session, caller: Caller, group_pk: int, learner_pk: int, given: LearnerIn
) -> None:
    group, learner = _learner(session, caller, group_pk, learner_pk)
    refuse_if_locked(session, group=group)
    clash = session.scalar(
        select(Learner.pk).where(
            Learner.group_pk == group.pk, Learner.phone == given.phone, Learner.pk != learner.pk
        )
    )
    if clash is not None:
        raise ApiError(400, errors.ERR_DUPLICATE_NUMBER.format(number=given.phone))
    _apply(learner, given)
    group.updated_at = utcnow()


def delete_learner(session: Session, caller: Caller, group_pk: int, learner_pk: int) -> None:
    group, learner = _learner(session, caller, group_pk, learner_pk)
    refuse_if_locked(session, group=group)
    session.delete(learner)
    group.updated_at = utcnow()
