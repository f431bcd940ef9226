"""Write one planned course into the exchange's tables, inside the caller's transaction.

Files go through the blob store as an upload's do: staged, committed (large
ones renamed into place and fsynced, small ones inserted into ``blobs`` in
this transaction), and only then the rows that refer to them. A unit - a
release, a submission, a feedback set - is written whole or not at all: if
one of its old files cannot be read, the unit is listed as a problem and left
out (a later run adds it once the file is back). A release left out keeps its
assignment and that assignment's submissions out too.

In a dry run nothing reaches the blob store and the caller rolls the
transaction back: the rows are still written, so the database's own checks
run, but never kept.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import insert
from sqlalchemy.orm import Session

from ngshare.exchange.access import users_named
from ngshare.exchange.handlers.roster import next_position
from ngshare.exchange.models import (
    KIND_FEEDBACK,
    KIND_RELEASE,
    KIND_SUBMISSION,
    Assignment,
    Course,
    Membership,
    StoredFile,
    Submission,
    insert_files,
)
from ngshare.exchange.wire import UploadedFile
from ngshare.importers.ngshare06.plan import CoursePlan
from ngshare.importers.ngshare06.reader import OldAssignment, OldFile, OldSubmission
from ngshare.importers.ngshare06.report import CourseReport, Problem
from ngshare.importers.ngshare06.source_files import FileProblem, read_old_file
from ngshare.storage import BlobStore, StagedBlob

#: Submissions written per blob-store commit and per statement (a few MB of files).
BATCH = 200


@dataclass
class CourseWriter:
    """Writes one :class:`CoursePlan`; counts into ``report``, problems into ``problems``."""

    session: Session
    store: BlobStore
    storage: Path  # the old storage folder
    report: CourseReport
    problems: list[Problem]
    dry_run: bool
    released_at: datetime
    on_bytes: Callable[[int], None] = lambda n: None

    def write(self, plan: CoursePlan) -> None:
        course_pk = plan.target.pk
        if course_pk is None:
            course = Course(name=plan.name)
            self.session.add(course)
            self.session.flush()
            course_pk = course.pk
        users = users_named(self.session, plan.usernames())
        self._write_members(plan, course_pk, users)
        for a in plan.assignments:
            assignment_pk = a.pk
            if assignment_pk is None:
                assignment_pk = self._write_release(course_pk, a.old)
                if assignment_pk is None:
                    waiting = len(a.new_submissions)
                    if waiting:
                        self._problem(
                            f"{waiting} submission(s) to {a.old.name!r}",
                            "waiting for that assignment's release",
                        )
                    continue
            self._write_submissions(assignment_pk, a.old.name, a.new_submissions, users)
            for submission_pk, s in a.feedback_for:
                self._write_feedback(submission_pk, a.old.name, s)

    def _write_members(self, plan: CoursePlan, course_pk: int, users: dict) -> None:
        position = next_position(self.session, _CourseRef(course_pk)) if plan.target.pk else 0
        for m in plan.new_members:
            self.session.add(
                Membership(
                    course_pk=course_pk,
                    user_pk=users[m.old.username].pk,
                    role=m.role,
                    first_name=m.old.first_name,
                    last_name=m.old.last_name,
                    email=m.old.email,
                    position=position,
                )
            )
            position += 1
            self.report.added["instructors" if m.role == "instructor" else "students"] += 1
        self.session.flush()

    def _write_release(self, course_pk: int, old: OldAssignment) -> int | None:
        """The assignment with its released files; None (listed) if a file is unreadable."""
        files = self._store_unit(f"release of {old.name!r}", old.files)
        if files is None:
            return None
        assignment = Assignment(course_pk=course_pk, name=old.name, released_at=self.released_at)
        self.session.add(assignment)
        self.session.flush()
        insert_files(self.session, files, KIND_RELEASE, assignment_pk=assignment.pk)
        self.report.added["assignments"] += 1
        return assignment.pk

    def _write_submissions(
        self, assignment_pk: int, name: str, subs: list[OldSubmission], users: dict
    ) -> None:
        """New submissions (and their feedback), :data:`BATCH` at a time.

        Each batch is one blob-store commit and three statements, whatever its
        size: on PostgreSQL a statement per submission was most of the time.
        """
        for i in range(0, len(subs), BATCH):
            units = []
            for s in subs[i : i + BATCH]:
                what = f"submission of {s.student!r} to {name!r} at {s.timestamp}"
                files = self._read_unit(what, s.files)
                if files is None:
                    continue
                feedback = None
                if s.feedback:
                    feedback = self._read_unit(f"feedback for {what}", s.feedback)
                units.append((s, what, files, feedback))
            if not units:
                continue
            staged = [[self._stage(what, f, d) for f, d in files] for _, what, files, _ in units]
            staged_feedback = [
                [self._stage(what, f, d) for f, d in feedback or []]
                for _, what, _, feedback in units
            ]
            if not self.dry_run:
                every = [b for blobs in (*staged, *staged_feedback) for b in blobs]
                self.store.commit(every, self.session.connection())
            rows = [
                {
                    "assignment_pk": assignment_pk,
                    "user_pk": users[s.student].pk,
                    "timestamp": s.timestamp,
                }
                for s, _, _, _ in units
            ]
            returning = insert(Submission).returning(Submission.pk, sort_by_parameter_order=True)
            pks = self.session.execute(returning, rows).scalars().all()
            file_rows = []
            for pk, (_, _, files, feedback), blobs, feedback_blobs in zip(
                pks, units, staged, staged_feedback, strict=True
            ):
                file_rows += _file_rows(KIND_SUBMISSION, pk, files, blobs)
                file_rows += _file_rows(KIND_FEEDBACK, pk, feedback or [], feedback_blobs)
                self._count(blobs)
                self.report.added["submissions"] += 1
                if feedback is not None:
                    self._count(feedback_blobs)
                    self.report.added["feedback"] += 1
            self.session.execute(insert(StoredFile), file_rows)

    def _write_feedback(self, submission_pk: int, name: str, s: OldSubmission) -> None:
        files = self._store_unit(
            f"feedback for {s.student!r} on {name!r} at {s.timestamp}", s.feedback
        )
        if files is None:
            return
        insert_files(self.session, files, KIND_FEEDBACK, submission_pk=submission_pk)
        self.report.added["feedback"] += 1

    def _read_unit(self, what: str, old_files: list[OldFile]) -> list[tuple[OldFile, bytes]] | None:
        """A unit's old files with their contents; None (and listed) if one is unreadable."""
        contents: list[tuple[OldFile, bytes]] = []
        for f in old_files:
            try:
                data = read_old_file(self.storage, f)
            except FileProblem as e:
                self._problem(what, f"file {f.path!r} {e}")
                return None
            contents.append((f, data))
            self.on_bytes(len(data))
        return contents

    def _store_unit(self, what: str, old_files: list[OldFile]) -> list[UploadedFile] | None:
        """Read a unit's old files and put them in the blob store; None if one is unreadable."""
        contents = self._read_unit(what, old_files)
        if contents is None:
            return None
        staged = [self._stage(what, f, data) for f, data in contents]
        if not self.dry_run:
            self.store.commit(staged, self.session.connection())
        self._count(staged)
        return [
            UploadedFile(path=f.path, blob=b) for (f, _), b in zip(contents, staged, strict=True)
        ]

    def _count(self, staged: list[StagedBlob]) -> None:
        self.report.added["files"] += len(staged)
        self.report.bytes_added += sum(b.size for b in staged)

    def _stage(self, what: str, f: OldFile, data: bytes) -> StagedBlob:
        if self.dry_run:
            blob = StagedBlob(
                None, hashlib.sha256(data).hexdigest(), hashlib.md5(data).hexdigest(), len(data)
            )
        else:
            blob = self.store.stage(data)
        if f.md5 is not None and blob.md5 != f.md5:
            self._problem(
                what,
                f"file {f.path!r}: its content no longer matches the md5 ngshare 0.6 recorded",
                fatal=False,
            )
        return blob

    def _problem(self, what: str, reason: str, fatal: bool = True) -> None:
        self.problems.append(Problem(self.report.name, what, reason, fatal))


def _file_rows(
    kind: str, submission_pk: int, files: list[tuple[OldFile, bytes]], blobs: list[StagedBlob]
) -> list[dict]:
    """``exchange_files`` rows of one submission's files (or feedback), in their order."""
    return [
        {
            "kind": kind,
            "submission_pk": submission_pk,
            "assignment_pk": None,
            "position": i,
            "path": f.path,
            "sha256": b.sha256,
            "md5": b.md5,
            "size": b.size,
        }
        for i, ((f, _), b) in enumerate(zip(files, blobs, strict=True))
    ]


@dataclass
class _CourseRef:
    """What :func:`next_position` needs of a course: its key."""

    pk: int
