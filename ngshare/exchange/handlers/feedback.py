"""Feedback: instructors upload it per submission, students fetch their own."""

from __future__ import annotations

from sqlalchemy import bindparam, delete
from sqlalchemy.orm import Session

from ngshare.exchange import access
from ngshare.exchange.handlers.base import ExchangeHandler
from ngshare.exchange.models import KIND_FEEDBACK, FileEntry, StoredFile, insert_files
from ngshare.exchange.wire import UploadedFile, format_timestamp
from ngshare.plugin_api import DriverStatement, Identity, authenticated


def find_feedback_target(
    session: Session,
    course_id: str,
    identity: Identity,
    assignment_id: str,
    student_id: str,
    raw_timestamp: str | None,
    *,
    for_upload: bool,
    files_of_kind: str | None = None,
) -> access.SubmissionRow | tuple[access.SubmissionRow, list[FileEntry]]:
    """The submission feedback is for, after ngshare's checks in its order.

    With ``files_of_kind`` its files of that kind come along (one query less).
    """
    scope = access.Scope.load(session, course_id, identity, assignment_id, student_id)
    if for_upload:
        scope.require_instructor()
    else:
        scope.require_self_or_instructor(student_id)
    assignment = scope.find_assignment()
    user = scope.find_submitter(session)
    access.require_timestamp(raw_timestamp)
    if files_of_kind is not None:
        return access.find_submission_files(session, assignment, user, raw_timestamp, files_of_kind)
    return access.find_submission(session, assignment, user, raw_timestamp)


def check_feedback_upload(session: Session, *args) -> None:
    find_feedback_target(session, *args, for_upload=True)


def record_feedback(session: Session, *args, files: list[UploadedFile]) -> None:
    """Replace the submission's feedback with the uploaded files."""
    submission = find_feedback_target(session, *args, for_upload=True)
    _DELETE_FEEDBACK.run(session.connection(), {"submission": submission.pk})
    insert_files(session, files, KIND_FEEDBACK, submission_pk=submission.pk)


_FILES = StoredFile.__table__
_DELETE_FEEDBACK = DriverStatement(
    delete(_FILES).where(
        _FILES.c.submission_pk == bindparam("submission"), _FILES.c.kind == KIND_FEEDBACK
    )
)


def feedback_files(session: Session, *args) -> tuple[str, list[FileEntry]]:
    submission, files = find_feedback_target(
        session, *args, for_upload=False, files_of_kind=KIND_FEEDBACK
    )
    return format_timestamp(submission.timestamp), files


class FeedbackHandler(ExchangeHandler):
    """``/feedback/<course_id>/<assignment_id>/<student_id>``.

    POST (``timestamp``, ``files``) replaces a submission's feedback
    (instructors); GET (``timestamp``, ``list_only``) returns it to instructors
    and to the student. No feedback yet gives an empty ``files`` list.
    """

    @authenticated
    async def get(self, course_id: str, assignment_id: str, student_id: str) -> None:
        args = (course_id, self.identity, assignment_id, student_id, self.argument("timestamp"))
        timestamp, files, small = await self.lookup_files(feedback_files, *args)
        await self.write_files(files, self.list_only(), small, timestamp=timestamp)

    @authenticated
    async def post(self, course_id: str, assignment_id: str, student_id: str) -> None:
        args = (course_id, self.identity, assignment_id, student_id, self.argument("timestamp"))
        await self.receive_upload(check_feedback_upload, record_feedback, *args)
        self.success()


handlers = [
    (
        r"feedback/(?P<course_id>[^/]+)/(?P<assignment_id>[^/]+)/(?P<student_id>[^/]+)/?",
        FeedbackHandler,
    ),
]
