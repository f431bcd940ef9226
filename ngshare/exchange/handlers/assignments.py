"""Assignments: list, release (upload), fetch (download) and delete."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from tornado.ioloop import IOLoop

from ngshare.exchange import access, errors
from ngshare.exchange.fetches import FetchLog, record_fetch
from ngshare.exchange.handlers.base import ExchangeHandler
from ngshare.exchange.models import KIND_RELEASE, Assignment, FileEntry, FileRow, insert_files
from ngshare.exchange.response_cache import ResponseCache, build_body
from ngshare.exchange.wire import UploadedFile
from ngshare.plugin_api import ApiError, Identity, authenticated, get_or_create_user, utcnow


def list_assignments(session: Session, course_id: str, identity: Identity) -> list[str]:
    course = access.find_course(session, course_id)
    access.require_member(session, course, identity)
    return list(
        session.scalars(
            select(Assignment.name)
            .where(Assignment.course_pk == course.pk, Assignment.deleted_at.is_(None))
            .order_by(Assignment.released_at, Assignment.pk)
        )
    )


def check_release(session: Session, course_id: str, identity: Identity, assignment_id: str):
    course = access.find_course(session, course_id)
    access.require_instructor(session, course, identity)
    access.require_new_id(assignment_id, errors.ERR_ILLEGAL_ASSIGNMENT_ID)
    exists = session.scalar(
        select(Assignment.pk).where(
            Assignment.course_pk == course.pk,
            Assignment.name == assignment_id,
            Assignment.deleted_at.is_(None),
        )
    )
    if exists is not None:
        raise ApiError(409, errors.ERR_ASSIGNMENT_EXISTS)


def record_release(
    session: Session,
    course_id: str,
    identity: Identity,
    assignment_id: str,
    *,
    files: list[UploadedFile],
) -> list[FileRow]:
    """Write the release's rows (its blobs are already durable); return its files."""
    check_release(session, course_id, identity, assignment_id)
    course = access.find_course(session, course_id)
    releaser = get_or_create_user(session, identity.name)
    assignment = Assignment(course_pk=course.pk, name=assignment_id, released_by_pk=releaser.pk)
    try:
        with session.begin_nested():  # a concurrent release of the same name loses here
            session.add(assignment)
    except IntegrityError:
        raise ApiError(409, errors.ERR_ASSIGNMENT_EXISTS) from None
    insert_files(session, files, KIND_RELEASE, assignment_pk=assignment.pk)
    return [FileRow(f.path, f.blob.sha256, f.blob.md5, f.blob.size) for f in files]


def release_files(session: Session, course_id: str, identity: Identity, assignment_id: str):
    """The release's files, and (assignment pk, caller's user pk or None) to record the fetch."""
    scope = access.Scope.load(session, course_id, identity, assignment_id)
    scope.require_member()
    assignment = scope.find_assignment()
    user = scope.caller_user.pk if scope.caller_user is not None else None
    return access.release_files_of(session, assignment), (assignment.pk, user)


def delete_assignment(session: Session, course_id: str, identity: Identity, assignment_id: str):
    """Hide the assignment and its submissions; the retention sweep removes them later."""
    course = access.find_course(session, course_id)
    access.require_instructor(session, course, identity)
    access.find_assignment(session, course, assignment_id).deleted_at = utcnow()


class AssignmentListHandler(ExchangeHandler):
    """``/assignments/<course_id>``: GET for course members, in release order."""

    @authenticated
    async def get(self, course_id: str) -> None:
        names = await self.ctx.db.run(list_assignments, course_id, self.identity)
        self.success(assignments=names)


class AssignmentHandler(ExchangeHandler):
    """``/assignment/<course_id>/<assignment_id>``.

    GET (fetch, ``list_only``) for course members; POST (release, ``files``)
    and DELETE for instructors. 409 if a live assignment has the name.
    """

    @authenticated
    async def get(self, course_id: str, assignment_id: str) -> None:
        files, (assignment_pk, user_pk) = await self.ctx.db.run(
            release_files, course_id, self.identity, assignment_id
        )
        if user_pk is not None and not self.list_only():
            await self._record_fetch(assignment_pk, user_pk)
        if self.list_only() or not self._cache.fits(files):
            await self.write_files(files, self.list_only())
            return
        # one buffer shared by every student, sent without a copy per request
        await self.send_bytes(await self._cached_body(files), "application/json; charset=UTF-8")

    @authenticated
    async def post(self, course_id: str, assignment_id: str) -> None:
        files = await self.receive_upload(
            check_release, record_release, course_id, self.identity, assignment_id
        )
        self.success()
        IOLoop.current().spawn_callback(self._warm_cache, files)

    async def _record_fetch(self, assignment_pk: int, user_pk: int) -> None:
        """Note a member's first fetch (one write per student and assignment per server)."""
        log = self.ctx.state(FetchLog)
        if log.is_new(assignment_pk, user_pk):
            await self.ctx.db.run(record_fetch, assignment_pk, user_pk)
            log.remember(assignment_pk, user_pk)

    async def _warm_cache(self, files: list[FileRow]) -> None:
        """Build the fetch answer now: students fetch a release soon after it appears.

        The first students of a deadline then find it ready instead of
        waiting together for its build. Errors are logged by the IOLoop.
        """
        if self._cache.fits(files):
            await self._cached_body(files)

    @property
    def _cache(self) -> ResponseCache:
        return self.ctx.state(ResponseCache)

    async def _cached_body(self, files: list[FileEntry]) -> bytes:
        """The fetch answer for ``files``: cached, else built once (off the loop)."""
        return await self._cache.get_or_build(
            self._cache.key(files),
            lambda: self.ctx.run_blocking(build_body, files, self.ctx.storage),
        )

    @authenticated
    async def delete(self, course_id: str, assignment_id: str) -> None:
        await self.ctx.db.run(delete_assignment, course_id, self.identity, assignment_id)
        self.success()


handlers = [
    (r"assignments/(?P<course_id>[^/]+)/?", AssignmentListHandler),
    (r"assignment/(?P<course_id>[^/]+)/(?P<assignment_id>[^/]+)/?", AssignmentHandler),
]
