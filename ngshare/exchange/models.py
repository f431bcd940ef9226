"""Tables of the notebook exchange (alembic branch ``exchange``).

Courses and assignments are soft-deleted (``deleted_at``): the API stops
showing them at once, as ngshare does, but their rows and files stay until the
retention period has passed (see :mod:`ngshare.exchange.retention`). File
content lives in the blob store; rows keep its sha256 and the md5 clients see.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple, Protocol

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    insert,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from ngshare.plugin_api import DriverStatement, User, intpk, make_metadata, utcnow

if TYPE_CHECKING:
    from ngshare.exchange.wire import UploadedFile

ROLE_INSTRUCTOR = "instructor"
ROLE_STUDENT = "student"

KIND_RELEASE = "release"
KIND_SUBMISSION = "submission"
KIND_FEEDBACK = "feedback"

_LIVE = text("deleted_at IS NULL")


class ExchangeBase(DeclarativeBase):
    metadata = make_metadata()


class Course(ExchangeBase):
    __tablename__ = "exchange_courses"
    __table_args__ = (
        # a live course name is unique; a deleted one can be created again
        Index(
            "uq_exchange_courses_live_name",
            "name",
            unique=True,
            sqlite_where=_LIVE,
            postgresql_where=_LIVE,
        ),
    )

    pk: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(255))  # the wire's course_id
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(index=True)


class Membership(ExchangeBase):
    """A user's role in one course, with the names the roster gave them there."""

    __tablename__ = "exchange_memberships"
    __table_args__ = (UniqueConstraint("course_pk", "user_pk"),)

    pk: Mapped[intpk]
    course_pk: Mapped[int] = mapped_column(ForeignKey(Course.pk, ondelete="CASCADE"))
    user_pk: Mapped[int] = mapped_column(ForeignKey(User.pk, ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    first_name: Mapped[str | None] = mapped_column(String(255))
    last_name: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255))
    position: Mapped[int] = mapped_column(Integer, default=0)  # order of enrolment


class Assignment(ExchangeBase):
    __tablename__ = "exchange_assignments"
    __table_args__ = (
        Index(
            "uq_exchange_assignments_live_name",
            "course_pk",
            "name",
            unique=True,
            sqlite_where=_LIVE,
            postgresql_where=_LIVE,
        ),
    )

    pk: Mapped[intpk]
    course_pk: Mapped[int] = mapped_column(ForeignKey(Course.pk, ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))  # the wire's assignment_id
    released_at: Mapped[datetime] = mapped_column(default=utcnow)
    released_by_pk: Mapped[int | None] = mapped_column(ForeignKey(User.pk, ondelete="SET NULL"))
    deleted_at: Mapped[datetime | None] = mapped_column(index=True)


class Submission(ExchangeBase):
    __tablename__ = "exchange_submissions"
    __table_args__ = (UniqueConstraint("assignment_pk", "user_pk", "timestamp"),)

    pk: Mapped[intpk]
    assignment_pk: Mapped[int] = mapped_column(
        ForeignKey(Assignment.pk, ondelete="CASCADE"), index=True
    )
    user_pk: Mapped[int] = mapped_column(ForeignKey(User.pk, ondelete="CASCADE"), index=True)
    timestamp: Mapped[datetime]  # assigned by the server, naive UTC, microseconds


class Fetch(ExchangeBase):
    """A student's first fetch of a release (the dashboard's "fetched?" column).

    Written once per student and assignment (later fetches find the row and
    write nothing); it goes with the assignment when that is purged.
    """

    __tablename__ = "exchange_fetches"
    __table_args__ = (UniqueConstraint("assignment_pk", "user_pk"),)

    pk: Mapped[intpk]
    assignment_pk: Mapped[int] = mapped_column(ForeignKey(Assignment.pk, ondelete="CASCADE"))
    user_pk: Mapped[int] = mapped_column(ForeignKey(User.pk, ondelete="CASCADE"), index=True)
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)


class StoredFile(ExchangeBase):
    """One file of a release, a submission or a feedback set."""

    __tablename__ = "exchange_files"
    __table_args__ = (
        Index("ix_exchange_files_assignment", "assignment_pk", "kind", "position"),
        Index("ix_exchange_files_submission", "submission_pk", "kind", "position"),
    )

    pk: Mapped[intpk]
    kind: Mapped[str] = mapped_column(String(16))
    assignment_pk: Mapped[int | None] = mapped_column(ForeignKey(Assignment.pk, ondelete="CASCADE"))
    submission_pk: Mapped[int | None] = mapped_column(ForeignKey(Submission.pk, ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(String(4096))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    md5: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(BigInteger)


class FileEntry(Protocol):
    """What answers need of a stored file: a :class:`StoredFile` or a plain row of it."""

    path: str
    sha256: str
    md5: str
    size: int


class FileRow(NamedTuple):
    """A :class:`FileEntry` known without a query (e.g. the files just uploaded)."""

    path: str
    sha256: str
    md5: str
    size: int


def insert_files(session: Session, files: list[UploadedFile], kind: str, **owner: int) -> None:
    """Insert the file rows of an upload in one statement (no ORM objects: they cost more)."""
    if not files:
        return
    rows = [
        {
            "kind": kind,
            "position": i,
            "path": f.path,
            "sha256": f.blob.sha256,
            "md5": f.blob.md5,
            "size": f.blob.size,
            "assignment_pk": owner.get("assignment_pk"),
            "submission_pk": owner.get("submission_pk"),
        }
        for i, f in enumerate(files)
    ]
    _insert_files_statement().run_many(session.connection(), rows)


@functools.cache
def _insert_files_statement() -> DriverStatement:
    columns = ["kind", "position", "path", "sha256", "md5", "size"]
    columns += ["assignment_pk", "submission_pk"]
    return DriverStatement(insert(StoredFile.__table__), column_keys=columns)
