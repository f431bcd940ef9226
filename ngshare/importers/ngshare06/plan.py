"""Map one ngshare 0.6 course onto ours: what is new, what is there, what cannot be stored.

Rows are matched by their natural keys, so a rerun adds only what is new:
a course by name (a live one), a member by username, an assignment by name,
a submission by (assignment, student, timestamp) - ngshare 0.6 made that
timestamp at submit time and clients look submissions up by it. Nothing
already in the target is changed: once a row is here, this server owns it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ngshare.exchange.models import (
    KIND_FEEDBACK,
    ROLE_INSTRUCTOR,
    ROLE_STUDENT,
    Assignment,
    Course,
    Membership,
    StoredFile,
    Submission,
)
from ngshare.exchange.wire import is_storable
from ngshare.importers.ngshare06.reader import OldAssignment, OldCourse, OldMember, OldSubmission
from ngshare.importers.ngshare06.report import Problem
from ngshare.models import User

SubmissionKey = tuple[str, str, datetime]  # assignment name, username, timestamp


@dataclass
class TargetCourse:
    """What the target already holds of one course (all empty for a new course)."""

    pk: int | None = None
    members: dict[str, str] = field(default_factory=dict)  # username -> role
    assignments: dict[str, int] = field(default_factory=dict)  # name -> pk
    submissions: dict[SubmissionKey, int] = field(default_factory=dict)  # -> pk
    with_feedback: set[int] = field(default_factory=set)  # submission pks

    @classmethod
    def load(cls, session: Session, name: str) -> TargetCourse:
        pk = session.scalar(
            select(Course.pk).where(Course.name == name, Course.deleted_at.is_(None))
        )
        if pk is None:
            return cls()
        target = cls(pk=pk)
        rows = session.execute(
            select(User.name, Membership.role)
            .join(Membership, Membership.user_pk == User.pk)
            .where(Membership.course_pk == pk)
        )
        target.members = {name: role for name, role in rows}
        rows = session.execute(
            select(Assignment.name, Assignment.pk).where(
                Assignment.course_pk == pk, Assignment.deleted_at.is_(None)
            )
        )
        target.assignments = {name: apk for name, apk in rows}
        rows = session.execute(
            select(Assignment.name, User.name, Submission.timestamp, Submission.pk)
            .join(Submission, Submission.assignment_pk == Assignment.pk)
            .join(User, User.pk == Submission.user_pk)
            .where(Assignment.course_pk == pk, Assignment.deleted_at.is_(None))
        )
        target.submissions = {(a, u, ts): spk for a, u, ts, spk in rows}
        if target.submissions:
            target.with_feedback = set(
                session.scalars(
                    select(StoredFile.submission_pk)
                    .join(Submission, Submission.pk == StoredFile.submission_pk)
                    .join(Assignment, Assignment.pk == Submission.assignment_pk)
                    .where(Assignment.course_pk == pk, StoredFile.kind == KIND_FEEDBACK)
                    .distinct()
                )
            )
        return target


@dataclass
class NewMember:
    old: OldMember
    role: str


@dataclass
class AssignmentPlan:
    old: OldAssignment
    pk: int | None  # None: the assignment is new, with its release
    new_submissions: list[OldSubmission] = field(default_factory=list)
    #: submissions already here that have no feedback yet, with the old feedback for them
    feedback_for: list[tuple[int, OldSubmission]] = field(default_factory=list)


@dataclass
class CoursePlan:
    name: str
    target: TargetCourse
    new_members: list[NewMember] = field(default_factory=list)
    assignments: list[AssignmentPlan] = field(default_factory=list)
    present: dict[str, int] = field(default_factory=dict)  # kind -> count already in the target
    problems: list[Problem] = field(default_factory=list)

    def usernames(self) -> list[str]:
        """Every user the new rows refer to."""
        names = {m.old.username for m in self.new_members}
        for a in self.assignments:
            names.update(s.student for s in a.new_submissions)
        return sorted(names)


def storable_problem(what: str, value: object) -> str | None:
    """Why ``value`` (an id or a roster name) cannot be stored here, or None."""
    if value is None:
        return f"{what} is empty"
    if not is_storable(value):
        return f"{what} {value!r} cannot be stored (NUL, invalid UTF-8 or over 255 characters)"
    return None


def plan_course(course: OldCourse, target: TargetCourse) -> CoursePlan:
    """What to write for ``course``, given what the target holds."""
    plan = CoursePlan(course.name, target)
    present = {"instructors": 0, "students": 0, "assignments": 0, "submissions": 0, "feedback": 0}
    _plan_members(course, target, plan, present)
    for old in course.assignments:
        reason = storable_problem("assignment id", old.name)
        if reason is not None:
            plan.problems.append(Problem(course.name, f"assignment #{old.key}", reason))
            continue
        pk = target.assignments.get(old.name)
        present["assignments"] += pk is not None
        a = AssignmentPlan(old, pk)
        seen: set[tuple[str, datetime]] = set()
        for s in old.submissions:
            what = f"submission of {s.student!r} to {old.name!r} at {s.timestamp}"
            reason = storable_problem("student id", s.student)
            if reason is None and s.timestamp is None:
                reason = "it has no timestamp"
            if reason is None and (s.student, s.timestamp) in seen:
                reason = "another submission of that student has the same timestamp"
            if reason is not None:
                plan.problems.append(Problem(course.name, what, reason))
                continue
            seen.add((s.student, s.timestamp))
            existing = target.submissions.get((old.name, s.student, s.timestamp))
            if existing is None:
                a.new_submissions.append(s)
                continue
            present["submissions"] += 1
            if existing in target.with_feedback:
                present["feedback"] += 1
            elif s.feedback:
                a.feedback_for.append((existing, s))
        plan.assignments.append(a)
    plan.present = present
    return plan


def _plan_members(course: OldCourse, target: TargetCourse, plan: CoursePlan, present) -> None:
    """Instructors, then students, in ngshare 0.6's order; an instructor is never also a student."""
    instructors = {m.username for m in course.instructors}
    taken: set[str] = set()
    for role, members in ((ROLE_INSTRUCTOR, course.instructors), (ROLE_STUDENT, course.students)):
        kind = "instructors" if role == ROLE_INSTRUCTOR else "students"
        for m in members:
            if role == ROLE_STUDENT and m.username in instructors:
                continue  # ngshare 0.6 refused this; a damaged row: the instructor role wins
            reason = storable_problem("username", m.username)
            for label in ("first_name", "last_name", "email"):
                value = getattr(m, label)
                if reason is None and value is not None:
                    reason = storable_problem(label.replace("_", " "), value)
            if reason is not None:
                plan.problems.append(Problem(course.name, f"{role} {m.username!r}", reason))
                continue
            if m.username in target.members or m.username in taken:
                present[kind] += m.username in target.members
                continue
            taken.add(m.username)
            plan.new_members.append(NewMember(m, role))
