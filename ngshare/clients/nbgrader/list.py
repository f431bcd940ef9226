"""``nbgrader list``: released assignments, submissions (inbound or cached), and removal.

The dictionaries returned are those nbgrader's own exchange returns, which
the JupyterLab assignment list reads: released/fetched assignments with
their notebooks, and submissions grouped per student and assignment with
their feedback flags.
"""

from __future__ import annotations

import fnmatch
import glob
import hashlib
import json
import os
import shutil
from collections.abc import Callable
from typing import Any, TypeVar

from nbgrader.exchange.abc import ExchangeList as ABCExchangeList
from traitlets import Bool

from ngshare.clients.api import ExchangeApiError
from ngshare.clients.nbgrader.cache import cached_submissions
from ngshare.clients.nbgrader.exchange import Exchange, describe, notebook_ids

T = TypeVar("T")

GLOB_CHARS = set("*?[")


class ExchangeList(Exchange, ABCExchangeList):
    """List what the exchange holds for the caller.

    * released: GET /assignments/<course> and /assignment/…?list_only=true
      (status ``fetched`` once the folder exists locally);
    * ``--inbound`` (instructors): GET /submissions/<course>/<assignment>,
      then per submission its notebooks and feedback checksums;
    * ``--cached`` (students): the local submission cache, with the server's
      feedback checksums compared to the fetched feedback's md5.

    With course '' or '*' every course of the caller is listed.
    """

    as_json = Bool(
        False, help="Also print the listing as JSON on stdout (nbgrader list --json)."
    ).tag(config=True)

    def list_files(self) -> list[dict[str, Any]]:
        assignments = self.parse_assignments()
        self._log_listing(assignments, "Submitted assignments:", "Released assignments:")
        if self.as_json:
            print(json.dumps(assignments))
        return assignments

    def remove_files(self) -> list[dict[str, Any]]:
        if self.inbound:
            self.fail("ngshare does not remove submissions; remove the assignment instead.")
        if not self.cached:
            self.require_course()
        assignments = self.parse_assignments()
        self._log_listing(
            assignments, "Removing submitted assignments:", "Removing released assignments:"
        )
        if self.cached:
            for path in self._cached_paths:
                shutil.rmtree(path)
        else:
            for info in assignments:
                self.call(
                    f"Cannot remove {info['course_id']}/{info['assignment_id']}",
                    self.client.delete_assignment,
                    info["course_id"],
                    info["assignment_id"],
                )
        return assignments

    # -- building the listing -------------------------------------------------

    def parse_assignments(self) -> list[dict[str, Any]]:
        if self.inbound:
            infos = self._inbound()
        elif self.cached:
            infos = self._cached()
        else:
            infos = self._released()
        allowed = self.allowed_courses()
        if allowed is not None:
            infos = [i for i in infos if i["course_id"] in allowed]
        if self.remove:
            for info in infos:
                info["status"] = "removed"
        if self.inbound or self.cached:
            return _group_submissions(infos)
        return infos

    def _released(self) -> list[dict[str, Any]]:
        infos = []
        for course_id, assignment_id in self._assignments():
            info: dict[str, Any] = {"course_id": course_id, "assignment_id": assignment_id}
            local = self.assignment_path(course_id, assignment_id)
            if os.path.isdir(local):
                info["status"] = "fetched"
                info["path"] = os.path.abspath(local)
                info["notebooks"] = [
                    {"notebook_id": os.path.splitext(os.path.basename(nb))[0], "path": nb}
                    for nb in sorted(glob.glob(os.path.join(info["path"], "*.ipynb")))
                ]
            else:
                files = self.call(
                    f"Cannot list the files of {course_id}/{assignment_id}",
                    self.client.get_assignment,
                    course_id,
                    assignment_id,
                    list_only=True,
                )
                info["status"] = "released"
                info["notebooks"] = [
                    {"notebook_id": nb} for nb in notebook_ids(f["path"] for f in files)
                ]
            if not info["notebooks"]:
                self.log.warning("No notebooks found in %s/%s", course_id, assignment_id)
            infos.append(info)
        return infos

    def _inbound(self) -> list[dict[str, Any]]:
        student = self.coursedir.student_id or "*"
        infos = []
        for course_id, assignment_id in self._assignments():
            if GLOB_CHARS & set(student):
                subs = self._per_course(self.client.list_submissions, course_id, assignment_id)
                subs = [s for s in subs or [] if fnmatch.fnmatchcase(s["student_id"], student)]
            else:
                subs = (
                    self._per_course(
                        self.client.list_submissions, course_id, assignment_id, student
                    )
                    or []
                )
            for sub in subs:
                student_id, timestamp = sub["student_id"], sub["timestamp"]
                files = self.call(
                    f"Cannot list the submission of {student_id} at {timestamp}",
                    self.client.get_submission,
                    course_id,
                    assignment_id,
                    student_id,
                    timestamp=timestamp,
                    list_only=True,
                )["files"]
                info = {
                    "course_id": course_id,
                    "student_id": student_id,
                    "assignment_id": assignment_id,
                    "timestamp": timestamp,
                    "status": "submitted",
                }
                self._add_feedback_flags(info, notebook_ids(f["path"] for f in files), {})
                infos.append(info)
        return infos

    def _cached(self) -> list[dict[str, Any]]:
        subs = cached_submissions(
            self.cache,
            self.coursedir.course_id,
            self.coursedir.student_id,
            self.coursedir.assignment_id,
        )
        self._cached_paths = [s.path for s in subs]
        infos = []
        for sub in subs:
            info = {
                "course_id": sub.course_id,
                "student_id": sub.student_id,
                "assignment_id": sub.assignment_id,
                "timestamp": sub.timestamp,
                "status": "submitted",
                "path": sub.path,
            }
            notebooks = sorted(glob.glob(os.path.join(sub.path, "*.ipynb")))
            paths = {os.path.splitext(os.path.basename(nb))[0]: nb for nb in notebooks}
            self._add_feedback_flags(info, sorted(paths), paths)
            infos.append(info)
        return infos

    def _add_feedback_flags(
        self, info: dict[str, Any], notebooks: list[str], paths: dict[str, str]
    ) -> None:
        """Fill in the per-notebook and overall feedback flags, as nbgrader's exchange does.

        The exchange's feedback is known by the md5 checksums the server
        sends; the local copy lives in ``<assignment>/feedback/<timestamp>/``.
        """
        checksums = self._feedback_checksums(info) if notebooks else {}
        local_dir = os.path.join(
            self.assignment_path(info["course_id"], info["assignment_id"]),
            "feedback",
            info["timestamp"],
        )
        info["notebooks"] = []
        for notebook_id in notebooks:
            local = os.path.join(local_dir, f"{notebook_id}.html")
            has_local = os.path.isfile(local)
            has_exchange = notebook_id in checksums
            nb_info: dict[str, Any] = {"notebook_id": notebook_id}
            if notebook_id in paths:
                nb_info["path"] = os.path.abspath(paths[notebook_id])
            nb_info.update(
                has_local_feedback=has_local,
                has_exchange_feedback=has_exchange,
                local_feedback_path=local if has_local else None,
                feedback_updated=has_local
                and has_exchange
                and _md5(local) != checksums[notebook_id],
            )
            info["notebooks"].append(nb_info)
        nbs = info["notebooks"]
        info["has_local_feedback"] = bool(nbs) and all(n["has_local_feedback"] for n in nbs)
        info["has_exchange_feedback"] = bool(nbs) and all(n["has_exchange_feedback"] for n in nbs)
        info["feedback_updated"] = any(n["feedback_updated"] for n in nbs)
        if info["has_local_feedback"]:
            full = os.path.abspath(local_dir)
            info["local_feedback_path"] = full if os.path.exists(full) else local_dir
        else:
            info["local_feedback_path"] = None

    def _feedback_checksums(self, info: dict[str, Any]) -> dict[str, str]:
        """notebook id -> md5 of the feedback on the exchange for one submission."""
        try:
            feedback = self.client.get_feedback(
                info["course_id"],
                info["assignment_id"],
                info["student_id"],
                info["timestamp"],
                list_only=True,
            )
        except ExchangeApiError as e:
            if self.cached and e.status == 404:
                # a cached submission the server no longer has: nothing to fetch
                self.log.warning(
                    "%s/%s submitted at %s is no longer on the exchange (%s)",
                    info["course_id"],
                    info["assignment_id"],
                    info["timestamp"],
                    e.message,
                )
                return {}
            self.fail(f"Cannot check for feedback: {describe(e)}")
        return {
            f["path"][: -len(".html")]: f["checksum"]
            for f in feedback["files"]
            if f["path"].endswith(".html") and "/" not in f["path"]
        }

    # -- which courses and assignments ---------------------------------------

    def _assignments(self) -> list[tuple[str, str]]:
        """(course, assignment) pairs to list; the assignment may be a glob."""
        wanted = self.coursedir.assignment_id or "*"
        pairs = []
        for course_id in self.all_courses():
            names = self._per_course(self.client.list_assignments, course_id)
            pairs += [(course_id, n) for n in names or [] if fnmatch.fnmatchcase(n, wanted)]
        return pairs

    def _per_course(self, fn: Callable[..., T], course_id: str, *args: str) -> T | None:
        """Call ``fn``; over all courses ('' or '*'), a course where it is refused is skipped."""
        try:
            return fn(course_id, *args)
        except ExchangeApiError as e:
            if self.coursedir.course_id in ("", "*") and e.status in (403, 404):
                self.log.debug("Skipping course %s: %s", course_id, e.message)
                return None
            self.fail(describe(e))
            raise  # unreachable

    # -- output ----------------------------------------------------------------

    def _log_listing(self, assignments: list[dict], submitted: str, released: str) -> None:
        if self.inbound or self.cached:
            self.log.info(submitted)
            for group in assignments:
                for info in group["submissions"]:
                    self.log.info(self.format_inbound_assignment(info))
        else:
            self.log.info(released)
            for info in assignments:
                self.log.info(self.format_outbound_assignment(info))

    def format_inbound_assignment(self, info: dict[str, Any]) -> str:
        msg = "{course_id} {student_id} {assignment_id} {timestamp}".format(**info)
        if info["status"] == "submitted":
            if info["has_local_feedback"] and not info["feedback_updated"]:
                msg += " (feedback already fetched)"
            elif info["has_exchange_feedback"]:
                msg += " (feedback ready to be fetched)"
            else:
                msg += " (no feedback available)"
        return msg

    def format_outbound_assignment(self, info: dict[str, Any]) -> str:
        msg = "{course_id} {assignment_id}".format(**info)
        if os.path.exists(self.assignment_path(info["course_id"], info["assignment_id"])):
            msg += " (already downloaded)"
        return msg


def _group_submissions(infos: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per (course, student, assignment) with its submissions, oldest first."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for info in infos:
        key = (info["course_id"], info["student_id"], info["assignment_id"])
        groups.setdefault(key, []).append(info)
    result = []
    for key in sorted(groups):
        subs = sorted(groups[key], key=lambda i: i["timestamp"])
        result.append(
            {
                "course_id": key[0],
                "student_id": key[1],
                "assignment_id": key[2],
                "status": subs[0]["status"],
                "submissions": subs,
            }
        )
    return result


def _md5(path: str) -> str:
    with open(path, "rb") as fh:
        return hashlib.md5(fh.read()).hexdigest()
