"""``nbgrader submit``: upload the student's folder; keep a copy in the local cache."""

from __future__ import annotations

import os

from nbgrader.exchange.abc import ExchangeSubmit as ABCExchangeSubmit

from ngshare.clients.api import write_files
from ngshare.clients.nbgrader.exchange import Exchange


class ExchangeSubmit(Exchange, ABCExchangeSubmit):
    """POST /submission/<course>/<assignment>; the server stamps the submission.

    The cached copy (``<cache>/<course>/<student>+<assignment>+<timestamp>``)
    and its ``timestamp.txt`` use the server's timestamp verbatim: that is
    the key under which feedback is later fetched and listed.
    """

    def init_src(self) -> None:
        assignment_id = self.coursedir.assignment_id
        self.course_id = self.course_of(assignment_id)
        root = self.assignment_path(self.course_id, assignment_id)
        self.src_path = os.path.abspath(root)
        self.coursedir.assignment_id = os.path.basename(self.src_path)
        if not os.path.isdir(self.src_path):
            self.fail(f"Assignment not found at: {self.src_path}")

    def init_dest(self) -> None:
        self.check_access(self.course_id)
        student_id = self.coursedir.student_id
        if student_id not in ("*", "", self.username):
            self.fail(
                "Submitting with an explicit student ID is not possible with ngshare: "
                "it identifies you by your JupyterHub token."
            )
        self.cache_path = os.path.join(self.cache, self.course_id)

    def check_filename_diff(self, submitted: list[str]) -> None:
        """Compare with the released notebooks; with ``strict``, refuse if any is missing."""
        course_id, assignment_id = self.course_id, self.coursedir.assignment_id
        released_files = self.call(
            f"Cannot list the released files of {course_id}/{assignment_id}",
            self.client.get_assignment,
            course_id,
            assignment_id,
            list_only=True,
        )
        released = sorted(
            f["path"]
            for f in self.kept(released_files, all_rules=False)
            if f["path"].endswith(".ipynb")
        )
        missing = [f"{n}: MISSING" for n in released if n not in submitted]
        extra = [f"{n}: EXTRA" for n in submitted if n not in released]
        if not (missing or extra):
            return
        expected = [f"{n}: {'FOUND' if n in submitted else 'MISSING'}" for n in released]
        sent = [f"{n}: {'OK' if n in released else 'EXTRA'}" for n in submitted]
        diff = "Expected:\n\t{}\nSubmitted:\n\t{}".format("\n\t".join(expected), "\n\t".join(sent))
        if missing and self.strict:
            self.fail(
                f"Assignment {assignment_id} not submitted. "
                f"There are missing notebooks for the submission:\n{diff}"
            )
        self.log.warning(
            "Possible missing notebooks and/or extra notebooks submitted for assignment %s:\n%s",
            assignment_id,
            diff,
        )

    def copy_files(self) -> None:
        course_id, assignment_id = self.course_id, self.coursedir.assignment_id
        self.log.info("Source: %s", self.src_path)
        files = self.encode(self.src_path)
        self.check_filename_diff(sorted(f["path"] for f in files if f["path"].endswith(".ipynb")))
        self.log.info(
            "Destination: %s", f"{self.client.base_url}submission/{course_id}/{assignment_id}"
        )
        timestamp = self.call(
            f"Cannot submit {course_id}/{assignment_id}",
            self.client.submit,
            course_id,
            assignment_id,
            files,
        )
        self.timestamp = timestamp
        cached = os.path.join(self.cache_path, f"{self.username}+{assignment_id}+{timestamp}")
        os.makedirs(cached, exist_ok=True)
        write_files(files, cached)
        with open(os.path.join(cached, "timestamp.txt"), "w") as fh:
            fh.write(timestamp)
        self.log.info("Submitted as: %s %s %s", course_id, assignment_id, timestamp)
