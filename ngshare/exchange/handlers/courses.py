"""Courses: list the caller's courses; admins create and delete them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ngshare.exchange import access, errors
from ngshare.exchange.handlers.base import ExchangeHandler
from ngshare.exchange.models import ROLE_INSTRUCTOR, Course, Membership
from ngshare.exchange.wire import load_json
from ngshare.plugin_api import ApiError, Identity, User, authenticated, utcnow


def list_courses(session: Session, identity: Identity) -> list[str]:
    """Admins see every course; others those they teach or take."""
    if identity.is_admin:
        query = select(Course.name).where(Course.deleted_at.is_(None))
    else:
        query = (
            select(Course.name)
            .join(Membership, Membership.course_pk == Course.pk)
            .join(User, User.pk == Membership.user_pk)
            .where(User.name == identity.name, Course.deleted_at.is_(None))
        )
    return sorted(set(session.scalars(query)))


def create_course(session: Session, course_id: str, identity: Identity, raw: str) -> None:
    access.require_new_id(course_id, errors.ERR_ILLEGAL_COURSE_ID)
    exists = session.scalar(
        select(Course.pk).where(Course.name == course_id, Course.deleted_at.is_(None))
    )
    if exists is not None:
        raise ApiError(409, errors.ERR_COURSE_EXISTS)
    instructors = _parse_instructors(raw)
    course = Course(name=course_id)
    session.add(course)
    session.flush()
    users = access.users_named(session, instructors)
    session.add_all(
        Membership(course_pk=course.pk, user_pk=users[name].pk, role=ROLE_INSTRUCTOR, position=i)
        for i, name in enumerate(dict.fromkeys(instructors))
    )


def _parse_instructors(raw: str) -> list[str]:
    instructors = load_json(raw, errors.ERR_INSTRUCTORS_JSON)
    if not isinstance(instructors, list) or not all(isinstance(i, str) and i for i in instructors):
        raise ApiError(400, errors.ERR_INSTRUCTORS_JSON)
    for name in instructors:
        access.require_new_id(name, errors.ERR_ILLEGAL_INSTRUCTOR_ID)
    return instructors


def delete_course(session: Session, course_id: str) -> None:
    """Hide the course and all it holds; the retention sweep removes it later."""
    access.find_course(session, course_id).deleted_at = utcnow()


class CourseListHandler(ExchangeHandler):
    """``/courses``: GET for anyone — the courses the caller teaches or takes (admins: all)."""

    @authenticated
    async def get(self) -> None:
        courses = await self.ctx.db.run(list_courses, self.identity)
        self.success(courses=courses)


class CourseHandler(ExchangeHandler):
    """``/course/<course_id>``: POST creates, DELETE removes (admins only)."""

    @authenticated
    async def post(self, course_id: str) -> None:
        """Create a course taught by ``instructors`` (JSON list; the creator is not added)."""
        access.require_admin(self.identity)
        raw = self.argument("instructors", "[]")
        await self.ctx.db.run(create_course, course_id, self.identity, raw)
        self.success()

    @authenticated
    async def delete(self, course_id: str) -> None:
        access.require_admin(self.identity)
        await self.ctx.db.run(delete_course, course_id)
        self.success()


handlers = [
    (r"courses/?", CourseListHandler),
    (r"course/(?P<course_id>[^/]+)/?", CourseHandler),
]
