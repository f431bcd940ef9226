"""``nbgrader fetch_feedback``: download feedback for the student's cached submissions."""

from __future__ import annotations

import os

from nbgrader.exchange.abc import ExchangeFetchFeedback as ABCExchangeFetchFeedback

from ngshare.clients.api import ExchangeApiError, write_files
from ngshare.clients.nbgrader.cache import cached_submissions
from ngshare.clients.nbgrader.exchange import Exchange, describe

#: The server's answer for a submission it no longer has (e.g. after a forced re-release).
GONE = "Submission not found"


class ExchangeFetchFeedback(Exchange, ABCExchangeFetchFeedback):
    """GET /feedback/<course>/<assignment>/<student>?timestamp=… per cached submission.

    Files land in ``<assignment>/feedback/<timestamp>/``, as with nbgrader's
    own exchange. A submission the server no longer has is skipped with a
    warning (its assignment was re-released); any other failure fails the
    command, after the other submissions were tried.
    """

    def init_src(self) -> None:
        course_id = self.coursedir.course_id
        if course_id == "":
            self.fail("No course id specified. Re-run with --course flag.")
        self.submissions = cached_submissions(
            self.cache, course_id, assignment_id=self.coursedir.assignment_id
        )

    def copy_files(self) -> None:
        if not self.submissions:
            self.log.warning(
                "No submissions of %s found to fetch feedback for", self.coursedir.assignment_id
            )
        failures = []
        for sub in self.submissions:
            dest = os.path.abspath(
                os.path.join(
                    self.assignment_path(sub.course_id, sub.assignment_id),
                    "feedback",
                    sub.timestamp,
                )
            )
            try:
                feedback = self.client.get_feedback(
                    sub.course_id, sub.assignment_id, sub.student_id, sub.timestamp
                )
            except ExchangeApiError as e:
                if e.status == 404 and e.message == GONE:
                    self.log.warning(
                        "The submission of %s at %s is no longer on the exchange; skipped",
                        sub.assignment_id,
                        sub.timestamp,
                    )
                    continue
                failures.append(f"{sub.assignment_id} {sub.timestamp}: {describe(e)}")
                continue
            if not feedback["files"]:
                self.log.info(
                    "No feedback yet for %s/%s submitted at %s",
                    sub.course_id,
                    sub.assignment_id,
                    sub.timestamp,
                )
                continue
            os.makedirs(dest, exist_ok=True)
            for path in write_files(feedback["files"], dest):
                self.log.info("Fetched feedback: %s", os.path.join(dest, path))
        if failures:
            self.fail("Could not fetch feedback: " + "; ".join(failures))
