"""Deliveries: scheduling a course for a group, pausing, resuming, stopping, progress.

``schedule_at`` is read in the delivery's ``timezone`` (default UTC): the
welcome message goes out then, and each day at that time of day in every
learner's own timezone (:mod:`ngshare_ekatra.schedule`). Creating a delivery
writes one engine row per learner with its first due time.

Pause holds every learner where they are. Resume moves each learner's
remaining steps by whole days, just enough that nothing held is due before
the resume, so each learner keeps their local time of day and continues from
their next unsent day. STOPPED is final; a delivery whose learners all got
the closing message is COMPLETED.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ngshare_ekatra import errors
from ngshare_ekatra.access import Caller, owned, visible
from ngshare_ekatra.engine import recipient_due
from ngshare_ekatra.models import (
    COMPLETED,
    PAUSED,
    SCHEDULED,
    STOPPED,
    Course,
    Day,
    Delivery,
    Group,
    Learner,
    Recipient,
)
from ngshare_ekatra.schedule import anchor_date, days_to_shift, zone
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ngshare.plugin_api import ApiError

ACTIONS = ("PAUSE", "RESUME", "STOP")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="seconds") + "Z"


def progress(session: Session, delivery: Delivery) -> dict[str, Any]:
    """Days every learner has been sent, out of how many, and the next send time."""
    least_step, next_due = session.execute(
        select(func.min(Recipient.next_step), func.min(Recipient.next_due_at)).where(
            Recipient.delivery_pk == delivery.pk
        )
    ).one()
    sent = 0 if least_step is None else max(0, min(least_step - 1, delivery.total_days))
    if delivery.status in (STOPPED, COMPLETED):
        next_due = None
    return {
        "days_sent": sent,
        "total_days": delivery.total_days,
        "next_send_at": _iso(next_due),
    }


def delivery_json(session: Session, delivery: Delivery) -> dict[str, Any]:
    shown = progress(session, delivery)
    return {
        "id": delivery.pk,
        "group_id": delivery.group_pk,
        "group_name": delivery.group_name,
        "course_id": delivery.course_pk,
        "course_name": delivery.course_name,
        "day_id": min(shown["days_sent"] + 1, delivery.total_days),
        "added_by": delivery.owner_pk,
        "status": delivery.status,
        "scheduled_time": delivery.schedule_at.strftime(TIME_FORMAT),
        "timezone": delivery.timezone,
        "progress": shown,
    }


def list_deliveries(session: Session, caller: Caller) -> list[dict[str, Any]]:
    return [delivery_json(session, d) for d in visible(session, Delivery, caller)]


def get_delivery(session: Session, caller: Caller, delivery_pk: int) -> dict[str, Any]:
    delivery = owned(session, Delivery, delivery_pk, caller, errors.ERR_DELIVERY_NOT_FOUND)
    return delivery_json(session, delivery)


def create_delivery(
    session: Session,
    caller: Caller,
    group_pk: int,
    course_pk: int,
    schedule_at: datetime,
    timezone: str,
    day_seconds: int,
) -> int:
    """Schedule ``course`` for ``group``; the delivery's id."""
    group = owned(session, Group, group_pk, caller, errors.ERR_GROUP_NOT_FOUND)
    course = owned(session, Course, course_pk, caller, errors.ERR_COURSE_NOT_FOUND)
    total = session.scalar(select(func.count()).where(Day.course_pk == course.pk))
    if not total:
        raise ApiError(400, errors.ERR_EMPTY_COURSE)
    learners = list(session.scalars(select(Learner).where(Learner.group_pk == group.pk)))
    if not learners:
        raise ApiError(400, errors.ERR_EMPTY_GROUP)
    tz = zone(timezone)
    start = schedule_at.replace(tzinfo=tz).astimezone(zone("UTC")).replace(tzinfo=None)
    delivery = Delivery(
        owner_pk=caller.user_pk(session),
        group_pk=group.pk,
        course_pk=course.pk,
        group_name=group.name,
        course_name=course.name,
        status=SCHEDULED,
        timezone=timezone,
        schedule_at=schedule_at,
        start_at=start,
        local_time=schedule_at.time(),
        total_days=total,
        day_seconds=day_seconds,
    )
    session.add(delivery)
    session.flush()
    for learner in learners:
        recipient = Recipient(
            delivery_pk=delivery.pk,
            learner_pk=learner.pk,
            anchor=anchor_date(start, delivery.local_time, zone(learner.timezone)),
            shift_days=0,
            next_step=0,
        )
        recipient.next_due_at = recipient_due(recipient, delivery, learner, 0)
        session.add(recipient)
    return delivery.pk


def act(session: Session, caller: Caller, delivery_pk: int, action: str, now: datetime) -> str:
    """PAUSE, RESUME or STOP; the new status. 409 for a move the status does not allow."""
    delivery = owned(session, Delivery, delivery_pk, caller, errors.ERR_DELIVERY_NOT_FOUND)
    status = delivery.status
    if status in (STOPPED, COMPLETED):
        raise ApiError(409, errors.ERR_FINISHED.format(status=status))
    if action == "STOP":
        delivery.status = STOPPED
    elif action == "PAUSE":
        if status == PAUSED:
            raise ApiError(409, errors.ERR_ALREADY.format(status=PAUSED))
        delivery.status, delivery.paused_at = PAUSED, now
    else:
        if status == SCHEDULED:
            raise ApiError(409, errors.ERR_ALREADY.format(status=SCHEDULED))
        _shift_held_steps(session, delivery, now)
        delivery.status, delivery.paused_at = SCHEDULED, None
    delivery.updated_at = now
    return delivery.status


def _shift_held_steps(session: Session, delivery: Delivery, now: datetime) -> None:
    rows = session.execute(
        select(Recipient, Learner)
        .join(Learner, Learner.pk == Recipient.learner_pk)
        .where(Recipient.delivery_pk == delivery.pk, Recipient.next_due_at.is_not(None))
    ).all()
    for recipient, learner in rows:
        due = recipient.next_due_at
        shift = days_to_shift(due, now, delivery.day_seconds)
        if not shift:
            continue
        recipient.shift_days += shift
        due = recipient_due(recipient, delivery, learner, recipient.next_step)
        while due is not None and due < now:  # a DST change can leave it an hour short
            recipient.shift_days += 1
            due = recipient_due(recipient, delivery, learner, recipient.next_step)
        recipient.next_due_at = due
