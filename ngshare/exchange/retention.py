"""Deleted courses and assignments: list, restore, and purge after retention.

Deleting through the API only sets ``deleted_at``; the API then behaves as
ngshare does (the item and its submissions are gone), but an admin can bring
them back with ``ngshare trash restore`` until the retention period ends and
the periodic sweep (or ``ngshare trash purge``) removes the rows for good.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ngshare.exchange.models import Assignment, Course, Submission
from ngshare.plugin_api import utcnow


class RestoreError(Exception):
    """The item cannot be restored (unknown, not deleted, or its name is taken)."""


def list_deleted(session: Session, retention: timedelta) -> list[dict]:
    """Every deleted course and assignment, oldest deletion first."""
    items = []
    courses = session.scalars(select(Course).where(Course.deleted_at.is_not(None)))
    for c in courses:
        items.append(_item("course", c.pk, c.name, None, c.deleted_at, retention))
    rows = session.execute(
        select(Assignment, Course.name)
        .join(Course, Course.pk == Assignment.course_pk)
        .where(Assignment.deleted_at.is_not(None))
    )
    for a, course_name in rows:
        n = session.scalar(
            select(func.count()).select_from(Submission).where(Submission.assignment_pk == a.pk)
        )
        items.append(_item("assignment", a.pk, course_name, a.name, a.deleted_at, retention, n))
    return sorted(items, key=lambda i: i["deleted_at"])


def _item(kind, pk, course, assignment, deleted_at: datetime, retention, submissions=None):
    return {
        "kind": kind,
        "id": pk,
        "course_id": course,
        "assignment_id": assignment,
        "submissions": submissions,
        "deleted_at": deleted_at.isoformat(sep=" "),
        "purge_after": (deleted_at + retention).isoformat(sep=" "),
    }


def restore(session: Session, kind: str, pk: int) -> str:
    """Undelete one course or assignment; refuse if a live one now has its name."""
    if kind == "course":
        course = session.get(Course, pk)
        if course is None or course.deleted_at is None:
            raise RestoreError(f"no deleted course with id {pk}")
        taken = session.scalar(
            select(Course.pk).where(Course.name == course.name, Course.deleted_at.is_(None))
        )
        if taken is not None:
            raise RestoreError(f"a course named {course.name!r} exists; delete or rename it first")
        course.deleted_at = None
        return f"restored course {course.name!r}"
    if kind == "assignment":
        assignment = session.get(Assignment, pk)
        if assignment is None or assignment.deleted_at is None:
            raise RestoreError(f"no deleted assignment with id {pk}")
        taken = session.scalar(
            select(Assignment.pk).where(
                Assignment.course_pk == assignment.course_pk,
                Assignment.name == assignment.name,
                Assignment.deleted_at.is_(None),
            )
        )
        if taken is not None:
            raise RestoreError(
                f"assignment {assignment.name!r} was released again; delete that release first"
            )
        assignment.deleted_at = None
        return f"restored assignment {assignment.name!r}"
    raise RestoreError(f"kind must be 'course' or 'assignment', not {kind!r}")


def purge_expired(session: Session, retention: timedelta, now: datetime | None = None) -> int:
    """Remove rows deleted longer than ``retention`` ago; return how many items went."""
    cutoff = (now or utcnow()) - retention
    n = session.execute(
        delete(Assignment).where(Assignment.deleted_at.is_not(None), Assignment.deleted_at < cutoff)
    ).rowcount
    n += session.execute(
        delete(Course).where(Course.deleted_at.is_not(None), Course.deleted_at < cutoff)
    ).rowcount
    return n
