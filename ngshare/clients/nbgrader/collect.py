"""``nbgrader collect``: download each student's submission into ``submitted/``."""

from __future__ import annotations

import fnmatch
import os
import secrets
import shutil
from collections import defaultdict
from datetime import datetime
from typing import Any

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.exchange.abc import ExchangeCollect as ABCExchangeCollect
from nbgrader.utils import parse_utc

from ngshare.clients.api import ExchangeApiError, write_files
from ngshare.clients.nbgrader.exchange import Exchange, describe, safe_component


class ExchangeCollect(Exchange, ABCExchangeCollect):
    """GET /submissions/<course>/<assignment>, then one /submission/… per student.

    Per student it picks the latest submission, or with ``--before-duedate``
    the latest one made by the gradebook's due date (else the latest), and
    downloads exactly that one (by its timestamp) into
    ``submitted/<student>/<assignment>/`` with a ``timestamp.txt`` holding the
    server's timestamp. An existing copy is replaced only with ``--update``
    and a newer submission, or with ``--before-duedate`` and a different one,
    as nbgrader's own collect does. Each copy is written aside and swapped in,
    so a failed download never leaves a half submission. ``check_owner`` has
    no meaning here: the server knows who submitted.
    """

    def init_src(self) -> None:
        self.course_id = course_id = self.require_course()
        assignment_id = self.coursedir.assignment_id
        entries = self.call(
            f"Cannot list the submissions of {course_id}/{assignment_id}",
            self.client.list_submissions,
            course_id,
            assignment_id,
        )
        student = self.coursedir.student_id or "*"
        by_student: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for entry in entries:
            if fnmatch.fnmatchcase(entry["student_id"], student):
                by_student[entry["student_id"]].append(
                    {**entry, "parsed": parse_utc(entry["timestamp"])}
                )
        duedate = self._duedate() if self.before_duedate else None
        self.src_records = []
        for records in by_student.values():
            records.sort(key=lambda r: r["parsed"], reverse=True)
            chosen = records[0]
            if duedate is not None:
                on_time = [r for r in records if r["parsed"] <= duedate]
                chosen = on_time[0] if on_time else records[0]
            self.src_records.append(chosen)
        self.src_records.sort(key=lambda r: r["student_id"])

    def _duedate(self) -> datetime | None:
        with Gradebook(self.coursedir.db_url, self.coursedir.course_id) as gb:
            try:
                return gb.find_assignment(self.coursedir.assignment_id).duedate
            except MissingEntry:
                return None

    def copy_files(self) -> None:
        course_id, assignment_id = self.course_id, self.coursedir.assignment_id
        if not self.src_records:
            self.log.warning(
                "No submissions of '%s' for course '%s' to collect", assignment_id, course_id
            )
        else:
            self.log.info(
                "Processing %d submissions of '%s' for course '%s'",
                len(self.src_records),
                assignment_id,
                course_id,
            )
        failures = []
        for rec in self.src_records:
            student_id = rec["student_id"]
            if not safe_component(student_id):
                failures.append(f"{student_id!r}: not a usable folder name")
                continue
            dest = self.coursedir.format_path(
                self.coursedir.submitted_directory, student_id, assignment_id
            )
            if os.path.isdir(dest):
                existing = self.coursedir.get_existing_timestamp(dest)
                newer = existing is None or rec["parsed"] > existing
                if not (
                    (self.update and newer) or (self.before_duedate and existing != rec["parsed"])
                ):
                    if self.update:
                        self.log.info(
                            "No newer submission to collect: %s %s", student_id, assignment_id
                        )
                    else:
                        self.log.info(
                            "Submission already exists, use --update to update: %s %s",
                            student_id,
                            assignment_id,
                        )
                    continue
                self.log.info("Updating submission: %s %s", student_id, assignment_id)
            else:
                self.log.info("Collecting submission: %s %s", student_id, assignment_id)
            try:
                submission = self.client.get_submission(
                    course_id, assignment_id, student_id, timestamp=rec["timestamp"]
                )
            except ExchangeApiError as e:
                failures.append(f"{student_id}: {describe(e)}")
                self.log.error("Could not collect %s: %s", student_id, e)
                continue
            self._install(submission, dest)
        if failures:
            self.fail("Could not collect: " + "; ".join(failures))

    def _install(self, submission: dict[str, Any], dest: str) -> None:
        """Write the submission beside ``dest``, then swap it in."""
        parent = os.path.dirname(dest)
        os.makedirs(parent, exist_ok=True)
        staging = os.path.join(parent, f".ngshare-collect-{secrets.token_hex(6)}")
        os.mkdir(staging)
        try:
            write_files(self.kept(submission["files"]), staging)
            with open(os.path.join(staging, "timestamp.txt"), "w") as fh:
                fh.write(submission["timestamp"])
            if os.path.isdir(dest):
                old = staging + ".old"
                os.rename(dest, old)
                os.rename(staging, dest)
                shutil.rmtree(old)
            else:
                os.rename(staging, dest)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
