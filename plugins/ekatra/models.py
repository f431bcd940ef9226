"""Ekatra's tables (alembic branch ``ekatra``), on the plugin's own MetaData.

People are core users: local accounts made by ``auth/signup`` (``local:<email>``)
and JupyterHub users alike; Ekatra keeps their display name and contact in
:class:`Profile`. Courses, groups and deliveries belong to the core user who
made them (``owner_pk``).

The delivery engine's state is here too, so it survives restarts and is
shared by replicas: one :class:`Recipient` row per learner of a delivery holds
the next step to send and when it is due; one :class:`Send` row per step
sent (unique per delivery, learner and step) records when it was due, when it
went out and whether that was late.
"""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ngshare.plugin_api import User, intpk, make_metadata, utcnow

MAX_NAME = 255
MAX_TEXT = 10_000
MAX_DESCRIPTION = 4000
MAX_ANSWER = 1600

SCHEDULED = "SCHEDULED"
PAUSED = "PAUSED"
STOPPED = "STOPPED"
COMPLETED = "COMPLETED"
#: Statuses that lock the delivery's course and group against changes.
LOCKING = (SCHEDULED, PAUSED)


class EkatraBase(DeclarativeBase):
    metadata = make_metadata()


class Profile(EkatraBase):
    """What sign-up records besides the account: display name, e-mail, contact number."""

    __tablename__ = "ekatra_profiles"

    user_pk: Mapped[int] = mapped_column(ForeignKey(User.pk, ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(MAX_NAME))
    email: Mapped[str] = mapped_column(String(MAX_NAME))
    contact: Mapped[str] = mapped_column(String(32), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Course(EkatraBase):
    __tablename__ = "ekatra_courses"

    pk: Mapped[intpk]
    owner_pk: Mapped[int] = mapped_column(ForeignKey(User.pk, ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(MAX_NAME))
    author: Mapped[str] = mapped_column(String(MAX_NAME))
    description: Mapped[str] = mapped_column(Text)
    activation_message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Day(EkatraBase):
    """Day ``number`` (1..n, kept dense by the server) of a course."""

    __tablename__ = "ekatra_days"
    __table_args__ = (UniqueConstraint("course_pk", "number"),)

    pk: Mapped[intpk]
    course_pk: Mapped[int] = mapped_column(ForeignKey(Course.pk, ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)


class Question(EkatraBase):
    """Question ``number`` (1..n within its day, kept dense) of a day."""

    __tablename__ = "ekatra_questions"
    __table_args__ = (UniqueConstraint("day_pk", "number"),)

    pk: Mapped[intpk]
    day_pk: Mapped[int] = mapped_column(ForeignKey(Day.pk, ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(64))
    correct_answer: Mapped[str] = mapped_column(Text, default="")


class Group(EkatraBase):
    __tablename__ = "ekatra_groups"

    pk: Mapped[intpk]
    owner_pk: Mapped[int] = mapped_column(ForeignKey(User.pk, ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(MAX_NAME))
    description: Mapped[str] = mapped_column(String(MAX_DESCRIPTION))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Learner(EkatraBase):
    """A student of a group: reached on ``channel`` at ``phone`` (E.164), in ``timezone``."""

    __tablename__ = "ekatra_learners"

    pk: Mapped[intpk]
    group_pk: Mapped[int] = mapped_column(ForeignKey(Group.pk, ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(MAX_NAME))
    phone: Mapped[str] = mapped_column(String(20), index=True)
    country_code: Mapped[str] = mapped_column(String(8))
    channel: Mapped[str] = mapped_column(String(16))
    timezone: Mapped[str] = mapped_column(String(64))
    is_subscribed: Mapped[bool] = mapped_column(Boolean, default=True)


class Delivery(EkatraBase):
    """A course sent to a group, day by day, from ``start_at`` on.

    ``local_time`` is the time of day of ``schedule_at`` in ``timezone``; each
    learner gets each day at that time of day in their own timezone.
    ``day_seconds`` is the length of a day when the delivery was made (86400
    unless shortened for demonstrations). Names are kept so that a finished
    delivery still reads well after its course or group is deleted.
    """

    __tablename__ = "ekatra_deliveries"

    pk: Mapped[intpk]
    owner_pk: Mapped[int] = mapped_column(ForeignKey(User.pk, ondelete="CASCADE"), index=True)
    group_pk: Mapped[int | None] = mapped_column(
        ForeignKey(Group.pk, ondelete="SET NULL"), index=True
    )
    course_pk: Mapped[int | None] = mapped_column(
        ForeignKey(Course.pk, ondelete="SET NULL"), index=True
    )
    group_name: Mapped[str] = mapped_column(String(MAX_NAME))
    course_name: Mapped[str] = mapped_column(String(MAX_NAME))
    status: Mapped[str] = mapped_column(String(16), default=SCHEDULED, index=True)
    timezone: Mapped[str] = mapped_column(String(64))
    #: ``schedule_at`` as given, in ``timezone`` (naive).
    schedule_at: Mapped[datetime]
    #: ``schedule_at`` in naive UTC: when the welcome message is due.
    start_at: Mapped[datetime]
    local_time: Mapped[time]
    total_days: Mapped[int] = mapped_column(Integer)
    day_seconds: Mapped[int] = mapped_column(Integer)
    paused_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Recipient(EkatraBase):
    """The engine's state for one learner of a delivery.

    Steps: 0 the welcome, 1..n the days, n+1 the closing message. ``next_due_at``
    is ``None`` once every step went out. ``anchor`` is the learner's local date
    of day 1; ``shift_days`` how far pauses have moved the rest.
    """

    __tablename__ = "ekatra_recipients"
    __table_args__ = (
        UniqueConstraint("delivery_pk", "learner_pk"),
        Index("ix_ekatra_recipients_due", "next_due_at"),
    )

    pk: Mapped[intpk]
    delivery_pk: Mapped[int] = mapped_column(ForeignKey(Delivery.pk, ondelete="CASCADE"))
    learner_pk: Mapped[int] = mapped_column(ForeignKey(Learner.pk, ondelete="CASCADE"), index=True)
    anchor: Mapped[date]
    shift_days: Mapped[int] = mapped_column(Integer, default=0)
    next_step: Mapped[int] = mapped_column(Integer, default=0)
    next_due_at: Mapped[datetime | None]


class Send(EkatraBase):
    """One step handed to the notifications service for one learner (at most once)."""

    __tablename__ = "ekatra_sends"
    __table_args__ = (UniqueConstraint("delivery_pk", "learner_pk", "step"),)

    pk: Mapped[intpk]
    delivery_pk: Mapped[int] = mapped_column(ForeignKey(Delivery.pk, ondelete="CASCADE"))
    learner_pk: Mapped[int] = mapped_column(ForeignKey(Learner.pk, ondelete="CASCADE"), index=True)
    step: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime]
    sent_at: Mapped[datetime]
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The learner had unsubscribed (STOP): nothing went out for this step.
    skipped: Mapped[bool] = mapped_column(Boolean, default=False)


class Answer(EkatraBase):
    """A learner's reply, taken as the answer to question ``question`` of day ``day``."""

    __tablename__ = "ekatra_answers"
    __table_args__ = (UniqueConstraint("delivery_pk", "learner_pk", "day", "question"),)

    pk: Mapped[intpk]
    delivery_pk: Mapped[int] = mapped_column(
        ForeignKey(Delivery.pk, ondelete="CASCADE"), index=True
    )
    learner_pk: Mapped[int] = mapped_column(ForeignKey(Learner.pk, ondelete="CASCADE"))
    day: Mapped[int] = mapped_column(Integer)
    question: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(String(MAX_ANSWER))
    #: ``None`` where the question's type cannot be checked (free text).
    is_correct: Mapped[bool | None]
    message_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
