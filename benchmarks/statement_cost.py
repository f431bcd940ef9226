"""CPU per call of the exchange's hot database functions, statements on the driver or not.

``NgShare.db_driver_statements`` runs the hot statements on the DB-API cursor
(``ngshare.db.driver_sql``) or, off, through plain SQLAlchemy Core. This
measures the thread CPU of each database function a request runs (the
permission check and file lookup of a collect, the rows of a feedback upload
and of a submission, the insert of three small blobs) on a SQLite database of
50 students, with the setting on and off in alternating rounds, each call in
a transaction that is rolled back. In-process and single-threaded, so it is
far steadier than the HTTP benchmarks, and says nothing about throughput::

    python benchmarks/statement_cost.py                 # 5 rounds of 1000 calls per function
    python benchmarks/statement_cost.py --rounds 3 --calls 300
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.report import table  # noqa: E402

STUDENTS = 50


def _populate(db) -> list[str]:
    """A course, an instructor, students with a 3-file submission each: their timestamps."""
    from ngshare.exchange.models import Assignment, Course, Membership, StoredFile, Submission
    from ngshare.exchange.wire import format_timestamp
    from ngshare.models import User

    start = datetime(2026, 1, 1)
    with db.sessionmaker.begin() as s:
        course = Course(name="c1")
        teacher = User(name="kevin")
        students = [User(name=f"s{i}") for i in range(STUDENTS)]
        s.add_all([course, teacher, *students])
        s.flush()
        s.add(Membership(course_pk=course.pk, user_pk=teacher.pk, role="instructor"))
        s.add_all(Membership(course_pk=course.pk, user_pk=u.pk, role="student") for u in students)
        assignment = Assignment(name="a1", course_pk=course.pk)
        s.add(assignment)
        s.flush()
        stamps = []
        for i, user in enumerate(students):
            ts = start + timedelta(seconds=i, microseconds=7)
            sub = Submission(assignment_pk=assignment.pk, user_pk=user.pk, timestamp=ts)
            s.add(sub)
            s.flush()
            s.add_all(
                StoredFile(
                    kind="submission",
                    submission_pk=sub.pk,
                    position=k,
                    path=f"p{k}.ipynb",
                    sha256=_digest(f"{i}.{k}"),
                    md5="0" * 32,
                    size=100,
                )
                for k in range(3)
            )
            stamps.append(format_timestamp(ts))
    return stamps


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _operations(ctx, stamps: list[str]) -> dict:
    """name -> fn(session, i): what one request does in its transaction."""
    from ngshare.auth import Identity
    from ngshare.exchange.handlers import feedback, submissions
    from ngshare.exchange.wire import SubmissionClock

    teacher = Identity(name="kevin", is_admin=False)
    files = [
        SimpleNamespace(
            path=f"f{k}.html", blob=SimpleNamespace(sha256=_digest(str(k)), md5="1" * 32, size=1000)
        )
        for k in range(3)
    ]
    clock = SubmissionClock()
    clock.advance_past(datetime(2027, 1, 1))

    def student(i):
        return f"s{i % STUDENTS}"

    def stamp(i):
        return stamps[i % STUDENTS]

    def blobs(session, i):
        held = [
            SimpleNamespace(sha256=_digest(f"b{i}.{k}"), data=b"x" * 2000, packed=None)
            for k in range(3)
        ]
        ctx.storage._insert_held(session.connection(), held)

    return {
        "transaction alone": lambda session, i: session.connection(),
        "collect": lambda session, i: submissions.submission_files(
            session, "c1", teacher, "a1", student(i), stamp(i)
        ),
        "feedback upload": lambda session, i: feedback.record_feedback(
            session, "c1", teacher, "a1", student(i), stamp(i), files=files
        ),
        "submit": lambda session, i: submissions.record_submission(
            session, "c1", Identity(name=student(i), is_admin=False), "a1", files=files, clock=clock
        ),
        "3 small blobs": blobs,
    }


def _server(folder: Path, driver_statements: bool):
    from ngshare.app import build
    from ngshare.config import VNgShare

    config = VNgShare(
        db_url=f"sqlite:///{folder / 'bench.db'}",
        storage_path=str(folder / "files"),
        config_file="",
        db_driver_statements=driver_statements,
    )
    return build(config)[0]


def _us_per_call(db, fn, calls: int) -> float:
    def once(i):
        session = db.sessionmaker()
        try:
            session.begin()
            fn(session, i)
            session.rollback()
        finally:
            session.close()

    for i in range(50):  # warm: compiled caches, pool
        once(i)
    start = time.thread_time()
    for i in range(calls):
        once(i)
    return (time.thread_time() - start) / calls * 1e6


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--calls", type=int, default=1000, help="calls per function per round")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="statement-cost-") as tmp:
        folder = Path(tmp)
        ctx = _server(folder, True)
        stamps = _populate(ctx.db)
        ctx.close()
        servers = {on: _server(folder, on) for on in (True, False)}  # one database, both ways
        try:
            names = list(_operations(servers[True], stamps))
            ops = {on: _operations(servers[on], stamps) for on in servers}
            samples: dict[tuple[str, bool], list[float]] = {}
            for r in range(args.rounds):
                for on in (True, False) if r % 2 == 0 else (False, True):
                    for name in names:
                        us = _us_per_call(servers[on].db, ops[on][name], args.calls)
                        samples.setdefault((name, on), []).append(us)
                print(f"== round {r + 1}/{args.rounds}", file=sys.stderr, flush=True)
        finally:
            for ctx in servers.values():
                ctx.close()
    rows = []
    for name in names:
        on, off = (statistics.median(samples[name, x]) for x in (True, False))
        rows.append([name, f"{on:.0f}", f"{off:.0f}", f"{off - on:+.0f}", f"{off / on:.2f}"])
    print(f"thread CPU per call, µs (median of {args.rounds} rounds of {args.calls} calls)\n")
    print(table(["function", "driver", "Core", "Core - driver", "Core / driver"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
