"""What the exchange's web pages show, read in a few queries per page.

Every function takes an open session and returns plain data (named tuples,
dicts), so pages and the CSV export share one reading. A page of 300
students x 10 assignments costs a fixed number of queries: one per table
involved, grouped in the database, never one per row.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from ngshare.exchange import access, errors
from ngshare.exchange.models import (
    KIND_FEEDBACK,
    KIND_SUBMISSION,
    ROLE_INSTRUCTOR,
    ROLE_STUDENT,
    Assignment,
    Course,
    Fetch,
    Membership,
    StoredFile,
    Submission,
)
from ngshare.exchange.ui.zipstream import ZipMember
from ngshare.plugin_api import ApiError, Identity, User


class CourseSummary(NamedTuple):
    name: str
    role: str  # "instructor", "student" or "admin" (an admin with no role in it)
    students: int
    assignments: int


def my_courses(session: Session, identity: Identity) -> list[CourseSummary]:
    """The caller's live courses (every course for admins), by name, with their sizes."""
    roles = dict(
        session.execute(
            select(Course.pk, Membership.role)
            .join(Membership, Membership.course_pk == Course.pk)
            .join(User, User.pk == Membership.user_pk)
            .where(User.name == identity.name, Course.deleted_at.is_(None))
        ).all()
    )
    query = select(Course.pk, Course.name).where(Course.deleted_at.is_(None))
    if not identity.is_admin:
        query = query.where(Course.pk.in_(roles) if roles else False)
    courses = session.execute(query.order_by(Course.name)).all()
    pks = [pk for pk, _ in courses]
    if not pks:
        return []
    students = dict(
        session.execute(
            select(Membership.course_pk, func.count())
            .where(Membership.course_pk.in_(pks), Membership.role == ROLE_STUDENT)
            .group_by(Membership.course_pk)
        ).all()
    )
    assignments = dict(
        session.execute(
            select(Assignment.course_pk, func.count())
            .where(Assignment.course_pk.in_(pks), Assignment.deleted_at.is_(None))
            .group_by(Assignment.course_pk)
        ).all()
    )
    return [
        CourseSummary(name, roles.get(pk, "admin"), students.get(pk, 0), assignments.get(pk, 0))
        for pk, name in courses
    ]


class Member(NamedTuple):
    username: str
    role: str
    first_name: str | None
    last_name: str | None
    email: str | None


class AssignmentSummary(NamedTuple):
    name: str
    released_at: datetime
    fetched: int  # students who fetched it
    submitted: int  # students with at least one submission
    submissions: int
    feedback: int  # students whose latest submission has feedback


class CourseView(NamedTuple):
    """An instructor's view of a course."""

    name: str
    members: list[Member]
    assignments: list[AssignmentSummary]


class OwnSubmission(NamedTuple):
    timestamp: datetime
    feedback: bool


class OwnAssignment(NamedTuple):
    name: str
    released_at: datetime
    fetched_at: datetime | None
    submissions: list[OwnSubmission]  # newest first


class StudentView(NamedTuple):
    """A student's view of a course: their own work only."""

    name: str
    username: str
    assignments: list[OwnAssignment]


def course_scope(session: Session, course_id: str, identity: Identity) -> tuple[Course, str | None]:
    """The live course and the caller's role; 404 unless it exists, 403 unless a member."""
    course = access.find_course(session, course_id)
    caller = access.require_member(session, course, identity)
    return course, (ROLE_INSTRUCTOR if caller.is_instructor else caller.role)


def course_view(session: Session, course_id: str, identity: Identity) -> CourseView | StudentView:
    """Instructors (and admins) see the roster and assignments; students their own work."""
    course, role = course_scope(session, course_id, identity)
    if role != ROLE_INSTRUCTOR:
        return _student_view(session, course, identity.name)
    members = [
        Member(*row)
        for row in session.execute(
            select(
                User.name,
                Membership.role,
                Membership.first_name,
                Membership.last_name,
                Membership.email,
            )
            .join(User, User.pk == Membership.user_pk)
            .where(Membership.course_pk == course.pk)
            .order_by(Membership.role, User.name)
        )
    ]
    assignments = _released(session, course)
    pks = [a.pk for a in assignments]
    fetched = _count_by(session, Fetch.assignment_pk, Fetch.user_pk, pks)
    submitted = _count_by(session, Submission.assignment_pk, Submission.user_pk, pks)
    total = dict(
        session.execute(
            select(Submission.assignment_pk, func.count())
            .where(Submission.assignment_pk.in_(pks))
            .group_by(Submission.assignment_pk)
        ).all()
    )
    feedback: dict[int, int] = defaultdict(int)
    for assignment_pk, _user, _ts, has_feedback in _latest_submissions(session, pks):
        feedback[assignment_pk] += has_feedback
    return CourseView(
        course.name,
        members,
        [
            AssignmentSummary(
                a.name,
                a.released_at,
                fetched.get(a.pk, 0),
                submitted.get(a.pk, 0),
                total.get(a.pk, 0),
                feedback.get(a.pk, 0),
            )
            for a in assignments
        ],
    )


def _count_by(session: Session, key, user, pks: list[int]) -> dict[int, int]:
    return dict(
        session.execute(
            select(key, func.count(distinct(user))).where(key.in_(pks)).group_by(key)
        ).all()
    )


def _feedback_submissions(session: Session, submission_query) -> set[int]:
    """The submissions (of a subquery of submission pks) that have feedback files."""
    return set(
        session.scalars(
            select(StoredFile.submission_pk)
            .where(StoredFile.kind == KIND_FEEDBACK, StoredFile.submission_pk.in_(submission_query))
            .distinct()
        )
    )


def _latest_submissions(session: Session, assignment_pks: list[int]) -> list[tuple]:
    """(assignment pk, user pk, latest timestamp, has feedback) per student who submitted."""
    latest = (
        select(
            Submission.assignment_pk,
            Submission.user_pk,
            func.max(Submission.timestamp).label("ts"),
        )
        .where(Submission.assignment_pk.in_(assignment_pks))
        .group_by(Submission.assignment_pk, Submission.user_pk)
        .subquery()
    )
    rows = session.execute(
        select(Submission.pk, latest.c.assignment_pk, latest.c.user_pk, latest.c.ts).join(
            latest,
            (Submission.assignment_pk == latest.c.assignment_pk)
            & (Submission.user_pk == latest.c.user_pk)
            & (Submission.timestamp == latest.c.ts),
        )
    ).all()
    with_feedback = _feedback_submissions(
        session, select(Submission.pk).where(Submission.assignment_pk.in_(assignment_pks))
    )
    return [(a, u, ts, pk in with_feedback) for pk, a, u, ts in rows]


def _released(session: Session, course: Course) -> list:
    """The course's assignments not deleted, in release order: (pk, name, released_at) rows."""
    return session.execute(
        select(Assignment.pk, Assignment.name, Assignment.released_at)
        .where(Assignment.course_pk == course.pk, Assignment.deleted_at.is_(None))
        .order_by(Assignment.released_at, Assignment.pk)
    ).all()


def _student_view(session: Session, course: Course, username: str) -> StudentView:
    user_pk = session.scalar(select(User.pk).where(User.name == username))
    assignments = _released(session, course)
    pks = [a.pk for a in assignments]
    fetched = dict(
        session.execute(
            select(Fetch.assignment_pk, Fetch.fetched_at).where(
                Fetch.assignment_pk.in_(pks), Fetch.user_pk == user_pk
            )
        ).all()
    )
    own = select(Submission.pk).where(
        Submission.assignment_pk.in_(pks), Submission.user_pk == user_pk
    )
    with_feedback = _feedback_submissions(session, own)
    submissions: dict[int, list[OwnSubmission]] = defaultdict(list)
    for pk, assignment_pk, ts in session.execute(
        select(Submission.pk, Submission.assignment_pk, Submission.timestamp)
        .where(Submission.pk.in_(own))
        .order_by(Submission.timestamp.desc())
    ):
        submissions[assignment_pk].append(OwnSubmission(ts, pk in with_feedback))
    return StudentView(
        course.name,
        username,
        [
            OwnAssignment(a.name, a.released_at, fetched.get(a.pk), submissions.get(a.pk, []))
            for a in assignments
        ],
    )


class StudentRow(NamedTuple):
    """One line of an assignment's table."""

    username: str
    first_name: str | None
    last_name: str | None
    email: str | None
    enrolled: bool  # False: removed from the roster, submissions kept
    fetched_at: datetime | None
    submissions: list[datetime]  # newest first
    feedback: bool  # the latest submission has feedback

    @property
    def latest(self) -> datetime | None:
        return self.submissions[0] if self.submissions else None


class AssignmentTable(NamedTuple):
    course: str
    assignment: str
    released_at: datetime
    rows: list[StudentRow]


def assignment_table(
    session: Session,
    course_id: str,
    assignment_id: str,
    identity: Identity,
    only_student: str | None = None,
) -> AssignmentTable:
    """Students x (fetched, submissions, latest, feedback) for instructors.

    With ``only_student`` the table holds that student's row alone; a student
    may ask for their own row, nobody else's (403).
    """
    course, role = course_scope(session, course_id, identity)
    if role != ROLE_INSTRUCTOR and only_student != identity.name:
        raise ApiError(403, errors.ERR_NOT_INSTRUCTOR)
    assignment = access.find_assignment(session, course, assignment_id)
    students = select(Membership.user_pk).where(
        Membership.course_pk == course.pk, Membership.role == ROLE_STUDENT
    )
    submitters = select(Submission.user_pk).where(Submission.assignment_pk == assignment.pk)
    people = (
        select(
            User.pk,
            User.name,
            Membership.first_name,
            Membership.last_name,
            Membership.email,
            Membership.role,
        )
        .outerjoin(
            Membership, (Membership.user_pk == User.pk) & (Membership.course_pk == course.pk)
        )
        .where(User.pk.in_(students) | User.pk.in_(submitters))
        .order_by(User.name)
    )
    if only_student is not None:
        people = people.where(User.name == only_student)
    persons = session.execute(people).all()
    if only_student is not None and not persons:
        raise ApiError(404, errors.ERR_STUDENT_NOT_FOUND)
    fetched = dict(
        session.execute(
            select(Fetch.user_pk, Fetch.fetched_at).where(Fetch.assignment_pk == assignment.pk)
        ).all()
    )
    submissions: dict[int, list[tuple[int, datetime]]] = defaultdict(list)
    for pk, user_pk, ts in session.execute(
        select(Submission.pk, Submission.user_pk, Submission.timestamp)
        .where(Submission.assignment_pk == assignment.pk)
        .order_by(Submission.timestamp.desc())
    ):
        submissions[user_pk].append((pk, ts))
    with_feedback = _feedback_submissions(session, submitters.with_only_columns(Submission.pk))
    rows = []
    for p in persons:
        own = submissions.get(p.pk, [])
        rows.append(
            StudentRow(
                p.name,
                p.first_name,
                p.last_name,
                p.email,
                p.role == ROLE_STUDENT,
                fetched.get(p.pk),
                [ts for _, ts in own],
                bool(own) and own[0][0] in with_feedback,
            )
        )
    return AssignmentTable(course.name, assignment.name, assignment.released_at, rows)


def submission_files(
    session: Session,
    course_id: str,
    assignment_id: str,
    identity: Identity,
    student: str | None,
    raw_timestamp: str | None = None,
) -> list[ZipMember]:
    """The files of one student's submission (latest unless ``raw_timestamp``),
    or of every student's latest when ``student`` is None (instructors only).

    Names in the zip are ``<student>/<path>`` for all students and ``<path>`` for one.
    """
    course, role = course_scope(session, course_id, identity)
    if role != ROLE_INSTRUCTOR and (student is None or student != identity.name):
        raise ApiError(403, errors.ERR_NOT_INSTRUCTOR)
    assignment = access.find_assignment(session, course, assignment_id)
    if student is not None:
        user = None
        if access.can_exist(student):
            user = session.scalar(select(User).where(User.name == student))
        if user is None:
            raise ApiError(404, errors.ERR_STUDENT_NOT_FOUND)
        _, files = access.find_submission_files(
            session, assignment, user, raw_timestamp, KIND_SUBMISSION
        )
        return [ZipMember(f.path, f.sha256, f.size) for f in files]
    latest = (
        select(Submission.user_pk, func.max(Submission.timestamp).label("ts"))
        .where(Submission.assignment_pk == assignment.pk)
        .group_by(Submission.user_pk)
        .subquery()
    )
    rows = session.execute(
        select(User.name, StoredFile.path, StoredFile.sha256, StoredFile.size)
        .join(Submission, Submission.pk == StoredFile.submission_pk)
        .join(
            latest,
            (latest.c.user_pk == Submission.user_pk) & (latest.c.ts == Submission.timestamp),
        )
        .join(User, User.pk == Submission.user_pk)
        .where(Submission.assignment_pk == assignment.pk, StoredFile.kind == KIND_SUBMISSION)
        .order_by(User.name, StoredFile.position)
    )
    return [ZipMember(f"{name}/{path}", sha, size) for name, path, sha, size in rows]
