"""Course rosters: instructors and students, one at a time or in bulk."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ngshare.exchange import access, errors
from ngshare.exchange.handlers.base import ExchangeHandler
from ngshare.exchange.models import ROLE_INSTRUCTOR, ROLE_STUDENT, Course, Membership
from ngshare.exchange.wire import is_legal_name, is_storable, load_json
from ngshare.plugin_api import (
    ApiError,
    Identity,
    User,
    authenticated,
    get_or_create_user,
)

PERSON_FIELDS = ("username", "first_name", "last_name", "email")


@dataclass
class Names:
    first_name: str | None
    last_name: str | None
    email: str | None


def person(username: str, m: Membership) -> dict:
    """A roster entry exactly as ngshare sends it."""
    return {
        "username": username,
        "first_name": m.first_name,
        "last_name": m.last_name,
        "email": m.email,
    }


def next_position(session: Session, course: Course) -> int:
    last = session.scalar(
        select(func.max(Membership.position)).where(Membership.course_pk == course.pk)
    )
    return 0 if last is None else last + 1


def list_members(session: Session, course_id: str, identity: Identity, role: str) -> list[dict]:
    course = access.find_course(session, course_id)
    if role == ROLE_STUDENT:
        access.require_instructor(session, course, identity)
    else:
        access.require_member(session, course, identity)
    rows = session.execute(
        select(User.name, Membership)
        .join(Membership, Membership.user_pk == User.pk)
        .where(Membership.course_pk == course.pk, Membership.role == role)
        .order_by(Membership.position, Membership.pk)
    )
    return [person(name, m) for name, m in rows]


def get_member(
    session: Session, course_id: str, identity: Identity, username: str, role: str
) -> dict:
    course = access.find_course(session, course_id)
    if role == ROLE_STUDENT:
        access.require_self_or_instructor(session, course, identity, username)
    else:
        access.require_member(session, course, identity)
    _, membership = access.find_member(session, course, username, role)
    return person(username, membership)


def remove_member(
    session: Session, course_id: str, identity: Identity, username: str, role: str
) -> None:
    """Remove a role in the course; the person's submissions stay."""
    course = access.find_course(session, course_id)
    if role == ROLE_STUDENT:
        access.require_instructor(session, course, identity)
    _, membership = access.find_member(session, course, username, role)
    session.delete(membership)


def upsert_instructor(
    session: Session, course_id: str, identity: Identity, username: str, names: Names
) -> None:
    """Admins add or update any instructor (a student is moved up); instructors update themself."""
    course = access.find_course(session, course_id)
    access.require_instructor(session, course, identity)
    names = _require_names(names)
    access.require_new_id(username, errors.ERR_ILLEGAL_INSTRUCTOR_ID)
    user = get_or_create_user(session, username)
    membership = session.scalar(
        select(Membership).where(Membership.course_pk == course.pk, Membership.user_pk == user.pk)
    )
    if not identity.is_admin:
        if membership is None or membership.role != ROLE_INSTRUCTOR:
            raise ApiError(403, errors.ERR_CANNOT_MODIFY_INSTRUCTORS)
        if identity.name != username:
            raise ApiError(403, errors.ERR_CANNOT_MODIFY_OTHER_INSTRUCTORS)
    if membership is None:
        membership = Membership(
            course_pk=course.pk, user_pk=user.pk, position=next_position(session, course)
        )
        session.add(membership)
    elif membership.role != ROLE_INSTRUCTOR:  # a promoted student joins the end of the list
        membership.position = next_position(session, course)
    membership.role = ROLE_INSTRUCTOR
    _apply(membership, names)


def upsert_student(
    session: Session, course_id: str, identity: Identity, username: str, names: Names
) -> None:
    course = access.find_course(session, course_id)
    access.require_instructor(session, course, identity)
    names = _require_names(names)
    access.require_new_id(username, errors.ERR_ILLEGAL_STUDENT_ID)
    user = get_or_create_user(session, username)
    membership = session.scalar(
        select(Membership).where(Membership.course_pk == course.pk, Membership.user_pk == user.pk)
    )
    if membership is not None and membership.role == ROLE_INSTRUCTOR:
        raise ApiError(409, errors.ERR_INSTRUCTOR_AS_STUDENT)
    if membership is None:
        membership = Membership(
            course_pk=course.pk,
            user_pk=user.pk,
            role=ROLE_STUDENT,
            position=next_position(session, course),
        )
        session.add(membership)
    _apply(membership, names)


def upsert_students(
    session: Session, course_id: str, identity: Identity, raw: str | None
) -> list[dict]:
    """Bulk enrolment: the request is checked whole, then each entry on its own."""
    course = access.find_course(session, course_id)
    access.require_instructor(session, course, identity)
    entries = _parse_students(raw)
    refusals = {i: _entry_problem(e) for i, e in enumerate(entries)}
    users = access.users_named(
        session, [e["username"] for i, e in enumerate(entries) if refusals[i] is None]
    )
    existing = {
        m.user_pk: m
        for batch in access.batches([u.pk for u in users.values()])
        for m in session.scalars(
            select(Membership).where(
                Membership.course_pk == course.pk,
                Membership.user_pk.in_(batch),
            )
        )
    }
    position = next_position(session, course)
    status = []
    for i, entry in enumerate(entries):
        if refusals[i] is not None:
            status.append({"username": entry["username"], "success": False, "message": refusals[i]})
            continue
        user = users[entry["username"]]
        membership = existing.get(user.pk)
        if membership is not None and membership.role == ROLE_INSTRUCTOR:
            status.append(
                {
                    "username": user.name,
                    "success": False,
                    "message": errors.ERR_INSTRUCTOR_AS_STUDENT,
                }
            )
            continue
        if membership is None:
            membership = Membership(
                course_pk=course.pk, user_pk=user.pk, role=ROLE_STUDENT, position=position
            )
            position += 1
            session.add(membership)
            existing[user.pk] = membership
        _apply(membership, Names(entry["first_name"], entry["last_name"], entry["email"]))
        status.append({"username": user.name, "success": True})
    return status


def _parse_students(raw: str | None) -> list[dict]:
    """Check the whole request in ngshare's order before touching any entry."""
    if not raw:
        raise ApiError(400, errors.ERR_STUDENTS_MISSING)
    entries = load_json(raw, errors.ERR_STUDENTS_JSON)
    if not isinstance(entries, list):
        raise ApiError(400, errors.ERR_STUDENTS_FORMAT)
    if not entries:
        raise ApiError(400, errors.ERR_STUDENTS_MISSING)
    for e in entries:
        if not isinstance(e, dict) or not all(isinstance(e.get(k), str) for k in PERSON_FIELDS):
            raise ApiError(400, errors.ERR_STUDENTS_FORMAT)
        if not e["username"]:
            raise ApiError(400, errors.ERR_STUDENTS_FORMAT)
    return entries


def _entry_problem(entry: dict) -> str | None:
    """Why one entry of a bulk enrolment cannot be stored (its own status), or None."""
    if not is_legal_name(entry["username"]):
        return errors.ERR_ILLEGAL_STUDENT_ID
    return _names_problem(Names(entry["first_name"], entry["last_name"], entry["email"]))


def _require_names(names: Names) -> Names:
    """All three names present (ngshare's errors, in its order), then storable."""
    if names.first_name is None:
        raise ApiError(400, errors.ERR_FIRST_NAME_MISSING)
    if names.last_name is None:
        raise ApiError(400, errors.ERR_LAST_NAME_MISSING)
    if names.email is None:
        raise ApiError(400, errors.ERR_EMAIL_MISSING)
    problem = _names_problem(names)
    if problem is not None:
        raise ApiError(400, problem)
    return names


def _names_problem(names: Names) -> str | None:
    """The error for the first name no database stores alike (NUL, not UTF-8, over 255)."""
    for value, message in (
        (names.first_name, errors.ERR_ILLEGAL_FIRST_NAME),
        (names.last_name, errors.ERR_ILLEGAL_LAST_NAME),
        (names.email, errors.ERR_ILLEGAL_EMAIL),
    ):
        if not is_storable(value):
            return message
    return None


def _apply(membership: Membership, names: Names) -> None:
    membership.first_name = names.first_name
    membership.last_name = names.last_name
    membership.email = names.email


class _MemberHandler(ExchangeHandler):
    """One person of a course roster: ``/<role>/<course_id>/<person_id>``.

    The URL group naming the person is ``instructor_id`` or ``student_id``,
    as in the API documents; :attr:`person_arg` says which.
    """

    role: str
    person_arg: str
    upsert: Callable[..., None]
    admin_only_delete = False

    def names(self) -> Names:
        return Names(
            self.argument("first_name"), self.argument("last_name"), self.argument("email")
        )

    @authenticated
    async def get(self, course_id: str, **person: str) -> None:
        username = person[self.person_arg]
        entry = await self.ctx.db.run(get_member, course_id, self.identity, username, self.role)
        self.success(**entry)

    @authenticated
    async def post(self, course_id: str, **person: str) -> None:
        username = person[self.person_arg]
        await self.ctx.db.run(type(self).upsert, course_id, self.identity, username, self.names())
        self.success()

    @authenticated
    async def delete(self, course_id: str, **person: str) -> None:
        if self.admin_only_delete:
            access.require_admin(self.identity)
        username = person[self.person_arg]
        await self.ctx.db.run(remove_member, course_id, self.identity, username, self.role)
        self.success()


class InstructorHandler(_MemberHandler):
    """``/instructor/<course_id>/<instructor_id>``.

    GET for course members; POST for admins (add or update; a student is moved
    up) and for an instructor updating their own names; DELETE for admins.
    """

    role = ROLE_INSTRUCTOR
    person_arg = "instructor_id"
    upsert = staticmethod(upsert_instructor)
    admin_only_delete = True


class StudentHandler(_MemberHandler):
    """``/student/<course_id>/<student_id>``.

    GET for instructors and the student themself; POST (add or update) and
    DELETE for instructors. Removing a student keeps their submissions.
    """

    role = ROLE_STUDENT
    person_arg = "student_id"
    upsert = staticmethod(upsert_student)


class InstructorListHandler(ExchangeHandler):
    """``/instructors/<course_id>``: GET for course members."""

    @authenticated
    async def get(self, course_id: str) -> None:
        entries = await self.ctx.db.run(list_members, course_id, self.identity, ROLE_INSTRUCTOR)
        self.success(instructors=entries)


class StudentListHandler(ExchangeHandler):
    """``/students/<course_id>``: GET lists, POST enrols in bulk (instructors only)."""

    @authenticated
    async def get(self, course_id: str) -> None:
        entries = await self.ctx.db.run(list_members, course_id, self.identity, ROLE_STUDENT)
        self.success(students=entries)

    @authenticated
    async def post(self, course_id: str) -> None:
        raw = self.argument("students")
        status = await self.ctx.db.run(upsert_students, course_id, self.identity, raw)
        self.success(status=status)


handlers = [
    (r"instructor/(?P<course_id>[^/]+)/(?P<instructor_id>[^/]+)/?", InstructorHandler),
    (r"instructors/(?P<course_id>[^/]+)/?", InstructorListHandler),
    (r"student/(?P<course_id>[^/]+)/(?P<student_id>[^/]+)/?", StudentHandler),
    (r"students/(?P<course_id>[^/]+)/?", StudentListHandler),
]
