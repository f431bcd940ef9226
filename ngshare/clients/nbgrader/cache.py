"""The student's local submission cache, shared by list and fetch_feedback."""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass

from ngshare.clients.nbgrader.exchange import CACHE_NAME


@dataclass(frozen=True)
class CachedSubmission:
    """One folder ``<cache>/<course>/<student>+<assignment>+<timestamp>``."""

    course_id: str
    student_id: str
    assignment_id: str
    timestamp: str
    path: str


def cached_submissions(
    cache: str, course_id: str = "*", student_id: str = "*", assignment_id: str = "*"
) -> list[CachedSubmission]:
    """The cached submissions matching the (glob) filters, oldest first per assignment."""
    pattern = os.path.join(cache, course_id or "*", f"{student_id or '*'}+{assignment_id or '*'}+*")
    found = []
    for path in glob.glob(pattern):
        m = CACHE_NAME.match(os.path.basename(path))
        if m is None or not os.path.isdir(path):
            continue
        found.append(
            CachedSubmission(
                course_id=os.path.basename(os.path.dirname(path)),
                student_id=m["student_id"],
                assignment_id=m["assignment_id"],
                timestamp=m["timestamp"],
                path=path,
            )
        )
    return sorted(found, key=lambda s: (s.course_id, s.assignment_id, s.timestamp))
