"""Lookups and permission checks shared by the exchange's handlers.

Each function takes an open session and raises :class:`~ngshare.web.ApiError`
with ngshare's wire text, so a handler's sequence of calls *is* its order of
checks (course, then permission, then assignment, then student, ...).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, aliased

from ngshare.exchange import errors
from ngshare.exchange.models import (
    KIND_RELEASE,
    ROLE_INSTRUCTOR,
    ROLE_STUDENT,
    Assignment,
    Course,
    Membership,
    StoredFile,
    Submission,
)
from ngshare.exchange.wire import is_legal_name, is_storable, parse_timestamp
from ngshare.plugin_api import ApiError, DriverStatement, Identity, User, get_or_create_users


@dataclass
class Caller:
    """The identity of a request together with its role in one course.

    Admins count as instructors of every course, as in ngshare.
    """

    identity: Identity
    role: str | None  # ROLE_INSTRUCTOR, ROLE_STUDENT or None

    @property
    def is_instructor(self) -> bool:
        return self.identity.is_admin or self.role == ROLE_INSTRUCTOR

    @property
    def is_member(self) -> bool:
        return self.identity.is_admin or self.role is not None

    def require_instructor(self) -> Caller:
        if not self.is_instructor:
            raise ApiError(403, errors.ERR_NOT_INSTRUCTOR)
        return self

    def require_member(self) -> Caller:
        if not self.is_member:
            raise ApiError(403, errors.ERR_NOT_RELATED)
        return self

    def require_self_or_instructor(self, username: str) -> None:
        """Anyone may ask about themself (later lookups decide); others must teach the course."""
        if self.identity.name != username:
            self.require_instructor()


def require_new_id(name: str, message: str) -> str:
    """An id the request creates (a course, an assignment, a person): 400 ``message`` if illegal.

    Every id the exchange stores passes here (see :func:`~ngshare.exchange.wire.is_legal_name`),
    so both databases hold the same ids and every client can make a directory of each.
    """
    if not is_legal_name(name):
        raise ApiError(400, message)
    return name


def can_exist(name: str) -> bool:
    """Could a row have this id? Text no database stores is simply not found.

    Lookups use this weaker check rather than :func:`require_new_id`, so rows
    stored before ids were checked (or imported from ngshare 0.6) stay reachable.
    """
    return is_storable(name)


#: Values bound in one statement at most: PostgreSQL takes 65,535 parameters per
#: statement, so a roster of 40,000 in one request failed there (a 500).
BATCH = 10_000


def batches(items: list) -> list[list]:
    """``items`` cut into lists of at most :data:`BATCH`, in order."""
    return [items[i : i + BATCH] for i in range(0, len(items), BATCH)]


def users_named(session: Session, names: list[str]) -> dict[str, User]:
    """``get_or_create_users`` for any number of names, in sorted batches (see :data:`BATCH`)."""
    users: dict[str, User] = {}
    for batch in batches(sorted(set(names))):
        users.update(get_or_create_users(session, batch))
    return users


def require_admin(identity: Identity) -> None:
    if not identity.is_admin:
        raise ApiError(403, errors.ERR_NOT_ADMIN)


def find_course(session: Session, course_id: str) -> Course:
    if not can_exist(course_id):
        raise ApiError(404, errors.ERR_COURSE_NOT_FOUND)
    course = session.scalar(
        select(Course).where(Course.name == course_id, Course.deleted_at.is_(None))
    )
    if course is None:
        raise ApiError(404, errors.ERR_COURSE_NOT_FOUND)
    return course


def role_of(session: Session, course: Course, username: str) -> str | None:
    return session.scalar(
        select(Membership.role)
        .join(User, User.pk == Membership.user_pk)
        .where(Membership.course_pk == course.pk, User.name == username)
    )


def caller_in(session: Session, course: Course, identity: Identity) -> Caller:
    return Caller(identity, role_of(session, course, identity.name))


def require_instructor(session: Session, course: Course, identity: Identity) -> Caller:
    return caller_in(session, course, identity).require_instructor()


def require_member(session: Session, course: Course, identity: Identity) -> Caller:
    return caller_in(session, course, identity).require_member()


def require_self_or_instructor(
    session: Session, course: Course, identity: Identity, username: str
) -> None:
    """Anyone may ask about themself (later lookups decide); others must teach the course."""
    if identity.name != username:
        require_instructor(session, course, identity)


def find_assignment(session: Session, course: Course, assignment_id: str) -> Assignment:
    if not can_exist(assignment_id):
        raise ApiError(404, errors.ERR_ASSIGNMENT_NOT_FOUND)
    assignment = session.scalar(
        select(Assignment).where(
            Assignment.course_pk == course.pk,
            Assignment.name == assignment_id,
            Assignment.deleted_at.is_(None),
        )
    )
    if assignment is None:
        raise ApiError(404, errors.ERR_ASSIGNMENT_NOT_FOUND)
    return assignment


def find_member(
    session: Session, course: Course, username: str, role: str | None = None
) -> tuple[User, Membership]:
    """A course member (any role unless ``role``); 'Student not found' otherwise."""
    if not can_exist(username):
        raise ApiError(404, _not_found_message(role))
    query = (
        select(User, Membership)
        .join(Membership, Membership.user_pk == User.pk)
        .where(Membership.course_pk == course.pk, User.name == username)
    )
    if role is not None:
        query = query.where(Membership.role == role)
    row = session.execute(query).first()
    if row is None:
        raise ApiError(404, _not_found_message(role))
    return row[0], row[1]


def _not_found_message(role: str | None) -> str:
    if role == ROLE_INSTRUCTOR:
        return errors.ERR_INSTRUCTOR_NOT_FOUND
    return errors.ERR_STUDENT_NOT_FOUND


class Ref(NamedTuple):
    """A row known only by its primary key (all the hot paths need of it)."""

    pk: int


@dataclass
class Scope:
    """A course and what a request's checks need from it, read in one query.

    The hot endpoints (fetch, submit, collect, feedback) used to ask for the
    course, the caller's role, the assignment and the student one query at a
    time; :meth:`load` joins them, and the methods below raise ngshare's
    errors in the same order as the single-purpose functions above. Only
    primary keys are read (plain rows, no ORM objects: ~4x cheaper).
    """

    course: Ref
    caller: Caller
    caller_user: Ref | None
    assignment: Ref | None
    student: Ref | None
    student_is_member: bool

    @classmethod
    def load(
        cls,
        session: Session,
        course_id: str,
        identity: Identity,
        assignment_id: str | None = None,
        student_id: str | None = None,
    ) -> Scope:
        """Everything at once; 'Course not found' if there is no live course.

        An id no database can store matches no row, on either database alike:
        it is looked up as "" (which no route can ask for) and then not found.
        """
        if not can_exist(course_id):
            raise ApiError(404, errors.ERR_COURSE_NOT_FOUND)
        params = {"course": course_id, "caller": identity.name}
        if assignment_id is not None:
            params["assignment"] = assignment_id if can_exist(assignment_id) else ""
        if student_id is not None:
            params["student"] = student_id if can_exist(student_id) else ""
        query = _scope_query(assignment_id is not None, student_id is not None)
        row = query.first(session.connection(), params)
        if row is None:
            raise ApiError(404, errors.ERR_COURSE_NOT_FOUND)
        course, user, role, *rest = row
        assignment = rest.pop(0) if assignment_id is not None else None
        student_user, student_membership = rest if student_id is not None else (None, None)
        if assignment_id is not None and not can_exist(assignment_id):
            assignment = None
        if student_id is not None and not can_exist(student_id):
            student_user = student_membership = None
        return cls(
            course=Ref(course),
            caller=Caller(identity, role),
            caller_user=_ref(user),
            assignment=_ref(assignment),
            student=_ref(student_user),
            student_is_member=student_membership is not None,
        )

    def require_instructor(self) -> Caller:
        return self.caller.require_instructor()

    def require_member(self) -> Caller:
        return self.caller.require_member()

    def require_self_or_instructor(self, username: str) -> None:
        self.caller.require_self_or_instructor(username)

    def find_assignment(self) -> Ref:
        if self.assignment is None:
            raise ApiError(404, errors.ERR_ASSIGNMENT_NOT_FOUND)
        return self.assignment

    def find_submitter(self, session: Session) -> Ref:
        """Whose submissions to look at: any member; for instructors also former members.

        Submissions of removed students stay visible to instructors, so for
        them a user with submissions in the course is found without a membership.
        """
        user = self.student
        if user is not None:
            if self.student_is_member:
                return user
            if not self.caller.is_instructor:
                raise ApiError(404, errors.ERR_STUDENT_NOT_FOUND)
            if _has_submitted(session, self.course, user):
                return user
        raise ApiError(404, errors.ERR_STUDENT_NOT_FOUND)


@functools.cache
def _scope_query(with_assignment: bool, with_student: bool) -> DriverStatement:
    """The statement behind :meth:`Scope.load`, built once per shape (building costs ~1 ms)."""
    caller_user = aliased(User, name="caller_user")
    caller_m = aliased(Membership, name="caller_membership")
    columns: list = [Course.pk, caller_user.pk, caller_m.role]
    query = (
        select()
        .select_from(Course)
        .outerjoin(caller_user, caller_user.name == bindparam("caller"))
        .outerjoin(
            caller_m, (caller_m.user_pk == caller_user.pk) & (caller_m.course_pk == Course.pk)
        )
    )
    if with_assignment:
        columns.append(Assignment.pk)
        query = query.outerjoin(
            Assignment,
            (Assignment.course_pk == Course.pk)
            & (Assignment.name == bindparam("assignment"))
            & Assignment.deleted_at.is_(None),
        )
    if with_student:
        student = aliased(User, name="student_user")
        student_m = aliased(Membership, name="student_membership")
        columns += [student.pk, student_m.pk]
        query = query.outerjoin(student, student.name == bindparam("student")).outerjoin(
            student_m, (student_m.user_pk == student.pk) & (student_m.course_pk == Course.pk)
        )
    return DriverStatement(
        query.add_columns(*columns).where(
            Course.name == bindparam("course"), Course.deleted_at.is_(None)
        )
    )


def _ref(pk: int | None) -> Ref | None:
    return None if pk is None else Ref(pk)


def _has_submitted(session: Session, course: Course | Ref, user: User | Ref) -> bool:
    return (
        session.scalar(
            select(Submission.pk)
            .join(Assignment, Assignment.pk == Submission.assignment_pk)
            .where(Assignment.course_pk == course.pk, Submission.user_pk == user.pk)
            .limit(1)
        )
        is not None
    )


def require_timestamp(raw: str | None):
    """A timestamp argument that must be present and well formed."""
    if raw is None:
        raise ApiError(400, errors.ERR_TIMESTAMP_MISSING)
    ts = parse_timestamp(raw)
    if ts is None:
        raise ApiError(400, errors.ERR_TIMESTAMP_FORMAT)
    return ts


def find_submission(
    session: Session, assignment: Assignment | Ref, user: User | Ref, raw_timestamp: str | None
) -> SubmissionRow:
    """The submission at ``raw_timestamp``, or the latest when it is None.

    A timestamp that matches nothing, malformed or not, is 'Submission not found'
    (feedback endpoints validate the format first with :func:`require_timestamp`).
    """
    params: dict = {"a": assignment.pk, "u": user.pk}
    if raw_timestamp is not None:
        params["ts"] = parse_timestamp(raw_timestamp)
        if params["ts"] is None:
            raise ApiError(404, errors.ERR_SUBMISSION_NOT_FOUND)
    row = _submission_query(raw_timestamp is None).first(session.connection(), params)
    if row is None:
        raise ApiError(404, errors.ERR_SUBMISSION_NOT_FOUND)
    return SubmissionRow(*row)


class SubmissionRow(NamedTuple):
    pk: int
    timestamp: datetime


def find_submission_files(
    session: Session,
    assignment: Assignment | Ref,
    user: User | Ref,
    raw_timestamp: str | None,
    kind: str,
) -> tuple[SubmissionRow, list[tuple]]:
    """:func:`find_submission` and its files of ``kind`` (named tuples: path, sha256, md5, size).

    One query when the timestamp is given (collect, feedback), as plain rows.
    """
    conn = session.connection()
    if raw_timestamp is None:
        submission = find_submission(session, assignment, user, None)
        return submission, _files_query().rows(conn, {"s": submission.pk, "kind": kind})
    ts = parse_timestamp(raw_timestamp)
    params = {"a": assignment.pk, "u": user.pk, "ts": ts, "kind": kind}
    rows = [] if ts is None else _submission_files_query().rows(conn, params)
    if not rows:
        raise ApiError(404, errors.ERR_SUBMISSION_NOT_FOUND)
    submission = SubmissionRow(rows[0].submission_pk, rows[0].timestamp)
    return submission, [r for r in rows if r.path is not None]


_FILE_COLUMNS = (StoredFile.path, StoredFile.sha256, StoredFile.md5, StoredFile.size)


def release_files_of(session: Session, assignment: Assignment | Ref) -> list[tuple]:
    """A release's files in upload order, as named tuples (path, sha256, md5, size)."""
    return _release_files_query().rows(session.connection(), {"a": assignment.pk})


# The hot lookups below run on the driver (see ngshare.db.driver_sql), built once.


@functools.cache
def _release_files_query() -> DriverStatement:
    return DriverStatement(
        select(*_FILE_COLUMNS)
        .where(StoredFile.assignment_pk == bindparam("a"), StoredFile.kind == KIND_RELEASE)
        .order_by(StoredFile.position)
    )


@functools.cache
def _submission_query(latest: bool) -> DriverStatement:
    query = select(Submission.pk, Submission.timestamp).where(
        Submission.assignment_pk == bindparam("a"), Submission.user_pk == bindparam("u")
    )
    if latest:
        return DriverStatement(query.order_by(Submission.timestamp.desc()).limit(1))
    return DriverStatement(query.where(Submission.timestamp == bindparam("ts")))


@functools.cache
def _files_query() -> DriverStatement:
    return DriverStatement(
        select(*_FILE_COLUMNS)
        .where(StoredFile.submission_pk == bindparam("s"), StoredFile.kind == bindparam("kind"))
        .order_by(StoredFile.position)
    )


@functools.cache
def _submission_files_query() -> DriverStatement:
    return DriverStatement(
        select(Submission.pk.label("submission_pk"), Submission.timestamp, *_FILE_COLUMNS)
        .outerjoin(
            StoredFile,
            (StoredFile.submission_pk == Submission.pk) & (StoredFile.kind == bindparam("kind")),
        )
        .where(
            Submission.assignment_pk == bindparam("a"),
            Submission.user_pk == bindparam("u"),
            Submission.timestamp == bindparam("ts"),
        )
        .order_by(StoredFile.position)
    )


__all__ = [
    "ROLE_INSTRUCTOR",
    "ROLE_STUDENT",
    "Caller",
    "Ref",
    "Scope",
    "SubmissionRow",
    "can_exist",
    "batches",
    "caller_in",
    "find_assignment",
    "find_course",
    "find_member",
    "find_submission",
    "find_submission_files",
    "release_files_of",
    "require_admin",
    "require_instructor",
    "require_member",
    "require_new_id",
    "require_self_or_instructor",
    "require_timestamp",
    "users_named",
]
