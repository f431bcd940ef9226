"""``nbgrader release_feedback``: upload ``feedback/<student>/<assignment>/*.html``."""

from __future__ import annotations

import glob
import os
import re
from collections import defaultdict

from nbgrader.exchange.abc import ExchangeReleaseFeedback as ABCExchangeReleaseFeedback

from ngshare.clients.api import ExchangeApiError, encode_bytes
from ngshare.clients.nbgrader.exchange import Exchange, describe


class ExchangeReleaseFeedback(Exchange, ABCExchangeReleaseFeedback):
    """POST /feedback/<course>/<assignment>/<student>, once per submission.

    The submission is named by the ``timestamp.txt`` that collect wrote (the
    server's own timestamp). ngshare replaces a submission's feedback as a
    whole, so all notebooks of one submission go in one request. Every
    student is tried; failures are reported together at the end.
    """

    def init_src(self) -> None:
        student_id = self.coursedir.student_id or "*"
        self.src_path = self.coursedir.format_path(
            self.coursedir.feedback_directory, student_id, self.coursedir.assignment_id
        )

    def init_dest(self) -> None:
        self.course_id = self.require_course()

    def copy_files(self) -> None:
        course_id, assignment_id = self.course_id, self.coursedir.assignment_id
        excluded = set(filter(None, self.coursedir.student_id_exclude.split(",")))
        pattern = re.escape(os.path.sep).join(
            [
                self.coursedir.format_path(
                    self.coursedir.feedback_directory,
                    "(?P<student_id>.*)",
                    assignment_id,
                    escape=True,
                ),
                r"(?P<notebook_id>[^/]*)\.html",
            ]
        )
        staged: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
        for html_file in sorted(glob.glob(os.path.join(self.src_path, "*.html"))):
            m = re.fullmatch(pattern, html_file)
            if m is None:
                self.log.error("Could not match '%s' with regexp '%s'", html_file, pattern)
                continue
            student_id, notebook_id = m["student_id"], m["notebook_id"]
            if student_id in excluded:
                self.log.debug("Skipping student '%s'", student_id)
                continue
            timestamp_file = os.path.join(os.path.dirname(html_file), "timestamp.txt")
            if not os.path.isfile(timestamp_file):
                self.fail(f"No timestamp.txt next to {html_file}: collect the submission again")
            with open(timestamp_file) as fh:
                timestamp = fh.read().strip()
            staged[student_id, timestamp].append((notebook_id, html_file))

        if not staged:
            self.log.warning("No feedback to release in %s", self.src_path)
        failures = []
        for (student_id, timestamp), notebooks in sorted(staged.items()):
            files = []
            for notebook_id, html_file in notebooks:
                with open(html_file, "rb") as fh:
                    files.append(encode_bytes(f"{notebook_id}.html", fh.read()))
            self.log.info(
                "Releasing feedback for student '%s' on assignment '%s/%s' (%s): %s",
                student_id,
                course_id,
                assignment_id,
                timestamp,
                ", ".join(n for n, _ in notebooks),
            )
            try:
                self.client.upload_feedback(course_id, assignment_id, student_id, timestamp, files)
            except ExchangeApiError as e:  # reported with the others, after trying them all
                failures.append(f"{student_id}: {describe(e)}")
                self.log.error("Could not release feedback for %s: %s", student_id, e)
        if failures:
            self.fail("Feedback release failed for " + "; ".join(failures))
