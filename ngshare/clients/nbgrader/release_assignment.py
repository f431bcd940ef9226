"""``nbgrader release_assignment``: upload ``release/<assignment>`` for the course's students."""

from __future__ import annotations

import os

from nbgrader.exchange.abc import ExchangeReleaseAssignment as ABCExchangeReleaseAssignment

from ngshare.clients.nbgrader.exchange import Exchange


class ExchangeReleaseAssignment(Exchange, ABCExchangeReleaseAssignment):
    """POST /assignment/<course>/<assignment>; with ``--force`` DELETE it first.

    ngshare refuses to release over an existing assignment, and deleting one
    also deletes its submissions and feedback (ngshare keeps them restorable
    for its retention period). So without ``--force`` an existing release is
    an error, and the files are read before anything is deleted.
    """

    def init_src(self) -> None:
        self.src_path = self.coursedir.format_path(
            self.coursedir.release_directory, ".", self.coursedir.assignment_id
        )
        if not os.path.isdir(self.src_path):
            source = self.coursedir.format_path(
                self.coursedir.source_directory, ".", self.coursedir.assignment_id
            )
            if os.path.isdir(source):
                self.fail(
                    f"Assignment found in '{source}' but not '{self.src_path}', "
                    "run `nbgrader generate_assignment` first."
                )
            self.fail(f"Assignment not found at: {self.src_path}")

    def init_dest(self) -> None:
        self.course_id = self.require_course()

    def copy_files(self) -> None:
        course_id, assignment_id = self.course_id, self.coursedir.assignment_id
        files = self.encode(self.src_path)
        released = self.call(
            f"Cannot check the assignments of {course_id}",
            self.client.list_assignments,
            course_id,
        )
        if assignment_id in released:
            if not self.force:
                self.fail(
                    "Destination already exists, add --force to overwrite: "
                    f"{course_id} {assignment_id}"
                )
            self.log.warning(
                "Overwriting files: %s %s (this also removes its submissions and "
                "feedback from the exchange)",
                course_id,
                assignment_id,
            )
            self.call(
                f"Cannot remove the released {course_id}/{assignment_id}",
                self.client.delete_assignment,
                course_id,
                assignment_id,
            )
        self.log.info("Source: %s", self.src_path)
        self.log.info(
            "Destination: %s", f"{self.client.base_url}assignment/{course_id}/{assignment_id}"
        )
        self.call(
            f"Cannot release {course_id}/{assignment_id}",
            self.client.release_assignment,
            course_id,
            assignment_id,
            files,
        )
        self.log.info("Released as: %s %s", course_id, assignment_id)
