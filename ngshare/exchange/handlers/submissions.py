"""Submissions: submit, list and collect (download)."""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from ngshare.exchange import access
from ngshare.exchange.handlers.base import ExchangeHandler
from ngshare.exchange.models import KIND_SUBMISSION, FileEntry, Submission, insert_files
from ngshare.exchange.wire import SubmissionClock, UploadedFile, format_timestamp
from ngshare.plugin_api import DriverStatement, Identity, User, authenticated, get_or_create_user


def _entries(rows) -> list[dict]:
    return [{"student_id": name, "timestamp": format_timestamp(ts)} for name, ts in rows]


def _submissions_query(assignment: access.Ref):
    return (
        select(User.name, Submission.timestamp)
        .join(User, User.pk == Submission.user_pk)
        .where(Submission.assignment_pk == assignment.pk)
        .order_by(Submission.timestamp, Submission.pk)
    )


def list_all_submissions(
    session: Session, course_id: str, identity: Identity, assignment_id: str
) -> list[dict]:
    scope = access.Scope.load(session, course_id, identity, assignment_id)
    scope.require_instructor()
    return _entries(session.execute(_submissions_query(scope.find_assignment())))


def list_student_submissions(
    session: Session, course_id: str, identity: Identity, assignment_id: str, student_id: str
) -> list[dict]:
    scope = access.Scope.load(session, course_id, identity, assignment_id, student_id)
    scope.require_self_or_instructor(student_id)
    assignment = scope.find_assignment()
    user = scope.find_submitter(session)
    query = _submissions_query(assignment).where(Submission.user_pk == user.pk)
    return _entries(session.execute(query))


def check_submit(
    session: Session, course_id: str, identity: Identity, assignment_id: str
) -> access.Scope:
    scope = access.Scope.load(session, course_id, identity, assignment_id)
    scope.require_member()
    scope.find_assignment()
    return scope


def record_submission(
    session: Session,
    course_id: str,
    identity: Identity,
    assignment_id: str,
    *,
    files: list[UploadedFile],
    clock: SubmissionClock,
) -> str:
    """Write the submission's rows (blobs already durable); return its timestamp."""
    scope = check_submit(session, course_id, identity, assignment_id)
    assignment = scope.find_assignment()
    user = scope.caller_user or get_or_create_user(session, identity.name)
    timestamp = clock.next()
    (pk,) = _INSERT_SUBMISSION.first(
        session.connection(),
        {"assignment_pk": assignment.pk, "user_pk": user.pk, "timestamp": timestamp},
    )
    insert_files(session, files, KIND_SUBMISSION, submission_pk=pk)
    return format_timestamp(timestamp)


_INSERT_SUBMISSION = DriverStatement(
    insert(Submission.__table__).returning(Submission.pk),
    column_keys=["assignment_pk", "user_pk", "timestamp"],
)


def submission_files(
    session: Session,
    course_id: str,
    identity: Identity,
    assignment_id: str,
    student_id: str,
    raw_timestamp: str | None,
) -> tuple[str, list[FileEntry]]:
    scope = access.Scope.load(session, course_id, identity, assignment_id, student_id)
    scope.require_instructor()
    assignment = scope.find_assignment()
    user = scope.find_submitter(session)
    submission, files = access.find_submission_files(
        session, assignment, user, raw_timestamp, KIND_SUBMISSION
    )
    return format_timestamp(submission.timestamp), files


class SubmissionListHandler(ExchangeHandler):
    """``/submissions/<course_id>/<assignment_id>``: every submission (instructors)."""

    @authenticated
    async def get(self, course_id: str, assignment_id: str) -> None:
        entries = await self.ctx.db.run(
            list_all_submissions, course_id, self.identity, assignment_id
        )
        self.success(submissions=entries)


class StudentSubmissionListHandler(ExchangeHandler):
    """``/submissions/<course_id>/<assignment_id>/<student_id>``: instructors, or the student."""

    @authenticated
    async def get(self, course_id: str, assignment_id: str, student_id: str) -> None:
        entries = await self.ctx.db.run(
            list_student_submissions, course_id, self.identity, assignment_id, student_id
        )
        self.success(submissions=entries)


class SubmitHandler(ExchangeHandler):
    """``/submission/<course_id>/<assignment_id>``: POST submits (course members).

    The server assigns the timestamp; the submission becomes visible only once
    every file is durably stored and its rows are committed.
    """

    @authenticated
    async def post(self, course_id: str, assignment_id: str) -> None:
        timestamp = await self.receive_upload(
            check_submit,
            record_submission,
            course_id,
            self.identity,
            assignment_id,
            clock=self.ctx.state(SubmissionClock),
        )
        self.success(timestamp=timestamp)


class SubmissionHandler(ExchangeHandler):
    """``/submission/<course_id>/<assignment_id>/<student_id>``: GET collects (instructors).

    ``timestamp`` picks one submission (default: the latest); ``list_only``.
    """

    @authenticated
    async def get(self, course_id: str, assignment_id: str, student_id: str) -> None:
        timestamp, files, small = await self.lookup_files(
            submission_files,
            course_id,
            self.identity,
            assignment_id,
            student_id,
            self.get_query_argument("timestamp", None),
        )
        await self.write_files(files, self.list_only(), small, timestamp=timestamp)


handlers = [
    (r"submissions/(?P<course_id>[^/]+)/(?P<assignment_id>[^/]+)/?", SubmissionListHandler),
    (
        r"submissions/(?P<course_id>[^/]+)/(?P<assignment_id>[^/]+)/(?P<student_id>[^/]+)/?",
        StudentSubmissionListHandler,
    ),
    (r"submission/(?P<course_id>[^/]+)/(?P<assignment_id>[^/]+)/?", SubmitHandler),
    (
        r"submission/(?P<course_id>[^/]+)/(?P<assignment_id>[^/]+)/(?P<student_id>[^/]+)/?",
        SubmissionHandler,
    ),
]
