"""``nbgrader fetch_assignment``: download a released assignment into the student's folder."""

from __future__ import annotations

import os
import secrets
import shutil

from nbgrader.exchange.abc import ExchangeFetchAssignment as ABCExchangeFetchAssignment

from ngshare.clients.api import write_files
from ngshare.clients.nbgrader.exchange import Exchange


class ExchangeFetchAssignment(Exchange, ABCExchangeFetchAssignment):
    """GET /assignment/<course>/<assignment>, written without touching existing work.

    A first fetch is written to a temporary folder and renamed into place, so
    a failed download leaves no half folder that would block the next try.
    With ``replace_missing_files`` only files the student no longer has are
    written back.
    """

    def init_src(self) -> None:
        self.course_id = self.course_of(self.coursedir.assignment_id)
        self.check_access(self.course_id)

    def init_dest(self) -> None:
        self.dest_path = os.path.abspath(
            self.assignment_path(self.course_id, self.coursedir.assignment_id)
        )
        if os.path.isdir(self.dest_path) and not self.replace_missing_files:
            root = os.path.relpath(self.dest_path, os.path.abspath(self.assignment_dir))
            self.fail(f"You already have a copy of the assignment in this directory: {root}")

    def copy_files(self) -> None:
        course_id, assignment_id = self.course_id, self.coursedir.assignment_id
        files = self.call(
            f"Cannot fetch {course_id}/{assignment_id}",
            self.client.get_assignment,
            course_id,
            assignment_id,
        )
        files = self.kept(files, all_rules=False)
        self.log.info("Source: %s", f"{self.client.base_url}assignment/{course_id}/{assignment_id}")
        self.log.info("Destination: %s", self.dest_path)
        if os.path.isdir(self.dest_path):
            for path in write_files(files, self.dest_path, overwrite=False):
                self.log.warning("Replacing missing file '%s'", path)
        else:
            parent = os.path.dirname(self.dest_path)
            os.makedirs(parent, exist_ok=True)
            staging = os.path.join(parent, f".ngshare-fetch-{secrets.token_hex(6)}")
            os.mkdir(staging)  # unlike mkdtemp, honours the umask
            try:
                write_files(files, staging)
                os.rename(staging, self.dest_path)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        self.log.info("Fetched as: %s %s", course_id, assignment_id)
