"""The import from start to end: read, check the old storage, write course by course, report."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TextIO

from ngshare.db import Database
from ngshare.importers.ngshare06.plan import TargetCourse, plan_course, storable_problem
from ngshare.importers.ngshare06.progress import Progress
from ngshare.importers.ngshare06.reader import KNOWN_REVISIONS, OldCourse, SourceError, read_source
from ngshare.importers.ngshare06.report import CourseReport, ImportReport, Problem
from ngshare.importers.ngshare06.source_files import size_on_disk
from ngshare.importers.ngshare06.writer import CourseWriter
from ngshare.models import utcnow
from ngshare.storage import BlobStore

#: Exit statuses: all imported; something left behind (listed); could not start.
EXIT_OK, EXIT_INCOMPLETE, EXIT_USAGE = 0, 1, 2


def run_import(
    db: Database,
    store: BlobStore,
    from_database: str,
    from_storage: str,
    *,
    dry_run: bool = False,
    as_json: bool = False,
    progress: Progress | None = None,
    out: TextIO | None = None,
) -> int:
    """Import an ngshare 0.6 database and storage folder; print the report; the exit status."""
    out = out or sys.stdout
    progress = progress or Progress()
    storage = Path(from_storage)
    if not storage.is_dir():
        print(f"error: --from-storage {from_storage!r} is not a folder", file=sys.stderr)
        return EXIT_USAGE
    try:
        with progress.phase("reading the ngshare 0.6 database", total=1) as bar:
            source = read_source(from_database)
            bar.update(1)
    except SourceError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    report = ImportReport(source.revision, dry_run)
    if source.revision is not None and source.revision not in KNOWN_REVISIONS:
        report.problems.append(
            Problem("-", "database", f"unknown revision {source.revision}; read as 0.6.0", False)
        )
    total = _bytes_to_read(source.courses, storage, progress)
    released_at = utcnow()
    with progress.phase("importing", total=total, in_bytes=True) as bar:
        for course in source.courses:
            bar.set_postfix_str(str(course.name)[:30], refresh=False)
            report.courses.append(
                _import_course(db, store, storage, course, report, dry_run, released_at, bar.update)
            )
    if as_json:
        print(json.dumps(report.as_json(), indent=2), file=out)
    else:
        print(report.text(), file=out)
    return EXIT_OK if report.ok else EXIT_INCOMPLETE


def _bytes_to_read(courses: list[OldCourse], storage: Path, progress: Progress) -> int:
    """What the import will read, for the bytes bar (one stat per old file)."""
    files = [
        f
        for c in courses
        for a in c.assignments
        for f in [*a.files, *(g for s in a.submissions for g in (*s.files, *s.feedback))]
    ]
    total = 0
    with progress.phase("checking the old storage", total=len(files)) as bar:
        for f in files:
            total += size_on_disk(storage, f)
            bar.update(1)
    return total


def _import_course(
    db: Database,
    store: BlobStore,
    storage: Path,
    course: OldCourse,
    report: ImportReport,
    dry_run: bool,
    released_at: datetime,
    on_bytes: Callable[[int], object],
) -> CourseReport:
    """One course in one transaction: all of it (bar the problems listed) or nothing."""
    name = course.name if course.name is not None else f"#{course.key}"
    counts = CourseReport(str(name))
    reason = storable_problem("course id", course.name)
    if reason is not None:
        counts.failed = reason
        report.problems.append(Problem(counts.name, "course", reason))
        return counts
    problems: list[Problem] = []
    session = db.session()
    try:
        plan = plan_course(course, TargetCourse.load(session, course.name))
        problems += plan.problems
        counts.present.update(plan.present)
        writer = CourseWriter(
            session, store, storage, counts, problems, dry_run, released_at, on_bytes
        )
        writer.write(plan)
        if dry_run:
            session.rollback()
        else:
            session.commit()
    except Exception as e:  # noqa: BLE001 - any failure rolls this course back and is reported
        session.rollback()
        message = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        failed = CourseReport(counts.name, failed=message)
        report.problems.append(Problem(counts.name, "course", f"rolled back: {message}"))
        return failed
    finally:
        session.close()
    report.problems.extend(problems)
    return counts
