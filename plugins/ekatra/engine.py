"""The delivery engine: hands each learner's due messages to the notifications service.

:func:`send_due` is one transaction of the ``ekatra.send_due`` job. It picks
learners of scheduled deliveries whose next step is due, and for each one, in
the same transaction:

1. moves the learners' state on (``next_step``, ``next_due_at``) with an
   UPDATE that names the step it read; if another run moved any of them
   first, the whole batch is rolled back (:class:`RaceLost`) and nothing of it
   is sent;
2. records each step in ``ekatra_sends`` (unique per delivery, learner and
   step), with when it was due and whether it went out late;
3. queues the messages with ``ctx.notifications.send`` under idempotency keys
   (``ekatra:delivery:7:day:3:learner:42``), so even a step recorded twice
   would be sent once.

The messages exist if and only if the state change commits: a crash before
the commit leaves the step due, and the next run sends it (late, and recorded
so); a crash after it leaves nothing to send again. Steps that came due
while nothing ran (a restart, an outage) all go out, in order, once.

On PostgreSQL the rows are read ``FOR UPDATE SKIP LOCKED``: replicas running
the job at the same time take different learners instead of waiting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ngshare_ekatra import messages
from ngshare_ekatra.courses import days_of, questions_of
from ngshare_ekatra.models import (
    COMPLETED,
    SCHEDULED,
    Course,
    Day,
    Delivery,
    Learner,
    Question,
    Recipient,
    Send,
)
from ngshare_ekatra.schedule import due_at, zone
from sqlalchemy import bindparam, exists, insert, select, update
from sqlalchemy.orm import Session

from ngshare.plugin_api import NotificationService

PLUGIN = "ekatra"


class RaceLost(Exception):
    """Another run advanced a learner of this batch first; the batch is rolled back."""


@dataclass
class Lesson:
    """A delivery's course, read once per run."""

    course: Course
    days: dict[int, Day]
    questions: dict[int, list[Question]]


def step_key(delivery_pk: int, step: int, total_days: int, learner_pk: int) -> str:
    """The idempotency key of a step's first message."""
    if step == 0:
        return f"ekatra:delivery:{delivery_pk}:welcome:learner:{learner_pk}"
    if step > total_days:
        return f"ekatra:delivery:{delivery_pk}:closing:learner:{learner_pk}"
    return f"ekatra:delivery:{delivery_pk}:day:{step}:learner:{learner_pk}"


def recipient_due(
    recipient: Recipient, delivery: Delivery, learner: Learner, step: int
) -> datetime | None:
    """When ``step`` is due for this learner; ``None`` past the closing message."""
    if step > delivery.total_days + 1:
        return None
    return due_at(
        step,
        start=delivery.start_at,
        at=delivery.local_time,
        tz=zone(learner.timezone),
        anchor=recipient.anchor,
        shift_days=recipient.shift_days,
        total_days=delivery.total_days,
        day_seconds=delivery.day_seconds,
    )


def _lesson(session: Session, cache: dict[int, Lesson], course_pk: int) -> Lesson:
    if course_pk not in cache:
        days = days_of(session, course_pk)
        cache[course_pk] = Lesson(
            course=session.get(Course, course_pk),
            days={d.number: d for d in days},
            questions=questions_of(session, [d.pk for d in days]),
        )
    return cache[course_pk]


def _queue_step(
    session: Session,
    notifications: NotificationService,
    lesson: Lesson,
    delivery: Delivery,
    learner: Learner,
    step: int,
) -> int:
    """Queue the messages of one step; how many."""
    key = step_key(delivery.pk, step, delivery.total_days, learner.pk)
    if step == 0:
        bodies = [messages.welcome(lesson.course, learner.name)]
    elif step > delivery.total_days:
        bodies = [messages.closing(lesson.course)]
    else:
        day = lesson.days[step]
        questions = lesson.questions[day.pk]
        bodies = [messages.day(lesson.course, day, learner.name)]
        bodies += [messages.question(day, q, len(questions)) for q in questions]
    for i, body in enumerate(bodies):
        notifications.send(
            session,
            plugin=PLUGIN,
            channel=learner.channel,
            to=learner.phone,
            body=body,
            key=key if i == 0 else f"{key}:question:{i}",
        )
    return len(bodies)


def send_due(
    session: Session,
    notifications: NotificationService,
    now: datetime,
    late_after: float,
    limit: int,
) -> tuple[int, int, int]:
    """Send what is due at ``now`` for up to ``limit`` learners.

    Returns ``(learners advanced, steps recorded, messages queued)``; the job
    calls again while a full batch was advanced.
    """
    query = (
        select(Recipient, Delivery, Learner)
        .join(Delivery, Delivery.pk == Recipient.delivery_pk)
        .join(Learner, Learner.pk == Recipient.learner_pk)
        .where(Recipient.next_due_at <= now, Delivery.status == SCHEDULED)
        .order_by(Recipient.next_due_at, Recipient.pk)
        .limit(limit)
    )
    if session.bind.dialect.name == "postgresql":
        query = query.with_for_update(of=Recipient, skip_locked=True)
    rows = session.execute(query).all()
    cache: dict[int, Lesson] = {}
    late_delta = timedelta(seconds=late_after)
    moves: list[dict] = []
    sends: list[dict] = []
    queued = 0
    touched: set[int] = set()
    with session.no_autoflush:  # nothing of ours is pending: the sends need no flushes
        for recipient, delivery, learner in rows:
            if delivery.course_pk is None:
                continue  # cannot happen while SCHEDULED: the course is locked
            step, due = recipient.next_step, recipient.next_due_at
            lesson = _lesson(session, cache, delivery.course_pk)
            while due is not None and due <= now:
                sends.append(
                    {
                        "delivery_pk": delivery.pk,
                        "learner_pk": learner.pk,
                        "step": step,
                        "due_at": due,
                        "sent_at": now,
                        "late": now - due > late_delta,
                        "skipped": not learner.is_subscribed,
                    }
                )
                if learner.is_subscribed:
                    queued += _queue_step(session, notifications, lesson, delivery, learner, step)
                step += 1
                due = recipient_due(recipient, delivery, learner, step)
            moves.append(
                {"r_pk": recipient.pk, "r_old": recipient.next_step, "r_new": step, "r_due": due}
            )
            touched.add(delivery.pk)
    if not moves:
        return 0, 0, 0
    table = Recipient.__table__
    moved = session.execute(
        update(table)
        .where(table.c.pk == bindparam("r_pk"), table.c.next_step == bindparam("r_old"))
        .values(next_step=bindparam("r_new"), next_due_at=bindparam("r_due")),
        moves,
    )
    if moved.rowcount not in (-1, len(moves)):
        # another run moved one of these learners first: undo this batch, the next run retries
        raise RaceLost(f"{len(moves) - moved.rowcount} learner(s) moved by another run")
    session.execute(insert(Send.__table__), sends)
    _complete_finished(session, touched)
    return len(moves), len(sends), queued


def _complete_finished(session: Session, delivery_pks: set[int]) -> None:
    """Deliveries whose every learner got the closing message become COMPLETED."""
    for pk in sorted(delivery_pks):
        pending = session.scalar(
            select(exists().where(Recipient.delivery_pk == pk, Recipient.next_due_at.is_not(None)))
        )
        if not pending:
            session.execute(
                update(Delivery)
                .where(Delivery.pk == pk, Delivery.status == SCHEDULED)
                .values(status=COMPLETED)
            )
