"""CourseGrab's tables (alembic branch ``coursegrab``), on the plugin's own MetaData.

People are core users (``users``): ``oidc:<e-mail>`` for ID-token sign-ins,
hub or dev names otherwise. Session and update tokens are core tokens
(``api_tokens``); a :class:`DeviceSession` points at them by id.

Courses and sections belong to a :class:`Term` (a roster such as ``SP25``);
one term is current. A new term archives the old term's tracking
(``Tracking.archived_at``) instead of deleting it. Every status change of a
section is a :class:`StatusChange` row, the unit of "once per change": its id
is in each notification's idempotency key.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ngshare.plugin_api import User, intpk, make_metadata, utcnow

MAX_SUBJECT = 16
MAX_TITLE = 255
MAX_SECTION = 255
MAX_DEVICE_TOKEN = 4096
MAX_TERM = 32

STATUSES = ("OPEN", "CLOSED", "WAITLISTED", "ARCHIVED", "INVALID")
#: Statuses a person may ask to be told about.
NOTIFIABLE = ("OPEN", "CLOSED", "WAITLISTED")
NOTIFICATION_CHOICES = ("ANDROID", "IOS", "WEB", "EMAIL", "NONE")


class CourseGrabBase(DeclarativeBase):
    metadata = make_metadata()


class Term(CourseGrabBase):
    """A roster (``SP25``); exactly one is current once a roster has been ingested."""

    __tablename__ = "coursegrab_terms"

    pk: Mapped[intpk]
    slug: Mapped[str] = mapped_column(String(MAX_TERM), unique=True)
    description: Mapped[str] = mapped_column(String(MAX_TITLE), default="")
    is_current: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    loaded_at: Mapped[datetime] = mapped_column(default=utcnow)


class Course(CourseGrabBase):
    """A course of a term; ``search_key`` is subject, number and title, upper case, no spaces."""

    __tablename__ = "coursegrab_courses"
    __table_args__ = (UniqueConstraint("term_pk", "subject_code", "course_num"),)

    pk: Mapped[intpk]
    term_pk: Mapped[int] = mapped_column(ForeignKey(Term.pk, ondelete="CASCADE"), index=True)
    subject_code: Mapped[str] = mapped_column(String(MAX_SUBJECT))
    course_num: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(MAX_TITLE))
    search_key: Mapped[str] = mapped_column(String(MAX_TITLE + 32))


class Section(CourseGrabBase):
    """A section; ``catalog_num`` is the roster's class number, unique within a term."""

    __tablename__ = "coursegrab_sections"
    __table_args__ = (UniqueConstraint("term_pk", "catalog_num"),)

    pk: Mapped[intpk]
    term_pk: Mapped[int] = mapped_column(ForeignKey(Term.pk, ondelete="CASCADE"))
    course_pk: Mapped[int] = mapped_column(ForeignKey(Course.pk, ondelete="CASCADE"), index=True)
    catalog_num: Mapped[int] = mapped_column(Integer)
    section: Mapped[str] = mapped_column(String(MAX_SECTION))
    status: Mapped[str] = mapped_column(String(16))
    mode: Mapped[str | None] = mapped_column(String(64))
    #: JSON list of "First Last (netid)".
    instructors: Mapped[str] = mapped_column(Text, default="[]")
    #: Kept in step with active Tracking rows by track/untrack and archiving.
    num_tracking: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Tracking(CourseGrabBase):
    """A person tracking a section; archived (not deleted) when a new term comes."""

    __tablename__ = "coursegrab_tracking"
    __table_args__ = (
        UniqueConstraint("user_pk", "section_pk"),
        Index("ix_coursegrab_tracking_section_active", "section_pk", "archived_at"),
    )

    pk: Mapped[intpk]
    user_pk: Mapped[int] = mapped_column(ForeignKey(User.pk, ondelete="CASCADE"), index=True)
    section_pk: Mapped[int] = mapped_column(ForeignKey(Section.pk, ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    archived_at: Mapped[datetime | None]


class Profile(CourseGrabBase):
    """How a person wants to be told: channel choice, statuses, e-mail address."""

    __tablename__ = "coursegrab_profiles"

    user_pk: Mapped[int] = mapped_column(ForeignKey(User.pk, ondelete="CASCADE"), primary_key=True)
    #: ANDROID | IOS | WEB | EMAIL; ``None`` is the seed's NONE.
    notification: Mapped[str | None] = mapped_column(String(16))
    #: Comma-separated statuses that notify (OPEN by default).
    statuses: Mapped[str] = mapped_column(String(64), default="OPEN")
    email: Mapped[str | None] = mapped_column(String(254))


class DeviceSession(CourseGrabBase):
    """A signed-in device: its core session and update tokens, and its device token.

    One session per device token: signing in again from that device refreshes it.
    """

    __tablename__ = "coursegrab_sessions"

    pk: Mapped[intpk]
    user_pk: Mapped[int] = mapped_column(ForeignKey(User.pk, ondelete="CASCADE"), index=True)
    device_type: Mapped[str] = mapped_column(String(16))
    device_token: Mapped[str | None] = mapped_column(String(MAX_DEVICE_TOKEN))
    #: sha256 of device_token: a unique, indexable stand-in for a long string.
    device_digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: The notifications service's address record of the device token.
    address_id: Mapped[int | None]
    session_token_id: Mapped[int] = mapped_column(Integer, unique=True)
    update_token_id: Mapped[int] = mapped_column(Integer, unique=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    update_expires_at: Mapped[datetime] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime] = mapped_column(default=utcnow)


class StatusChange(CourseGrabBase):
    """A section's status changed (seen by a poll or an ingest): what notifications hang on."""

    __tablename__ = "coursegrab_status_changes"

    pk: Mapped[intpk]
    section_pk: Mapped[int] = mapped_column(ForeignKey(Section.pk, ondelete="CASCADE"), index=True)
    old_status: Mapped[str] = mapped_column(String(16))
    new_status: Mapped[str] = mapped_column(String(16))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
