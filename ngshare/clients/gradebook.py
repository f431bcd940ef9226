"""The local nbgrader gradebook, kept in step with a course's roster by ``ngshare-course``.

Instructors grade in nbgrader, which needs every student in its gradebook
(``gradebook.db`` under the course folder). ``ngshare-course`` adds the
students it enrols there, as LibreTexts' ``ngshare-course-management`` does,
but through nbgrader's own :class:`~nbgrader.api.Gradebook` instead of one
``nbgrader db`` process per student. The gradebook is the one nbgrader would
open from the current folder: its ``nbgrader_config.py`` (``CourseDirectory.root``,
``CourseDirectory.db_url``) is read the same way.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any


class GradebookError(Exception):
    """nbgrader is missing or the gradebook cannot be opened or written."""


@contextmanager
def _opened(course: str) -> Iterator[Any]:
    """nbgrader's Gradebook for ``course``; failures to open or write it as GradebookError."""
    url = gradebook_url()
    from nbgrader.api import Gradebook
    from sqlalchemy.exc import SQLAlchemyError

    try:
        with Gradebook(url, course) as gb:
            yield gb
    except (SQLAlchemyError, OSError) as e:
        reason = getattr(e, "orig", None) or e
        raise GradebookError(f"cannot use the gradebook {url}: {reason}") from None


@dataclass
class GradebookResult:
    """What happened to one student in the gradebook."""

    username: str
    success: bool
    message: str


def gradebook_url() -> str:
    """The gradebook nbgrader would use from the current folder (its ``db_url``)."""
    try:
        from nbgrader.apps import NbGrader
        from nbgrader.coursedir import CourseDirectory
    except ImportError as e:
        raise GradebookError(
            f"nbgrader is not installed ({e.name}): install ngshare[nbgrader], or pass --no-gb"
        ) from None
    app = NbGrader(log_level=logging.ERROR)  # no "No nbgrader_config.py found" warning
    app.load_config_file()
    _alembic_on_path()
    return CourseDirectory(config=app.config).db_url


def _alembic_on_path() -> None:
    """nbgrader's Gradebook runs the ``alembic`` command: find ours when the venv is not active.

    ``.venv/bin/ngshare-course`` run without activating the venv would otherwise
    fail where nbgrader creates or upgrades the gradebook.
    """
    here = os.path.dirname(sys.executable)
    if shutil.which("alembic") is None and os.path.exists(os.path.join(here, "alembic")):
        os.environ["PATH"] = here + os.pathsep + os.environ.get("PATH", "")


def add_students(course: str, people: Iterable[dict[str, str]]) -> list[GradebookResult]:
    """Add or update ``people`` (username, first_name, last_name, email) in the gradebook."""
    results = []
    with _opened(course) as gb:
        for person in people:
            names = {key: person.get(key) or None for key in ("first_name", "last_name", "email")}
            gb.update_or_create_student(person["username"], **names)
            results.append(GradebookResult(person["username"], True, "in gradebook"))
    return results


def remove_students(course: str, usernames: Iterable[str], force: bool) -> list[GradebookResult]:
    """Remove students from the gradebook; one with submissions only when ``force``.

    Removing a student deletes their grades, so nbgrader refuses it without
    ``--force``; so does this.
    """
    from nbgrader.api import MissingEntry

    results = []
    with _opened(course) as gb:
        for username in usernames:
            try:
                student = gb.find_student(username)
            except MissingEntry:
                results.append(GradebookResult(username, True, "not in gradebook"))
                continue
            if student.submissions and not force:
                results.append(
                    GradebookResult(
                        username, False, "has graded submissions: kept (--force removes them)"
                    )
                )
                continue
            gb.remove_student(username)
            results.append(GradebookResult(username, True, "removed from gradebook"))
    return results
