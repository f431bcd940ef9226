"""Workload ``deadline``: one course's assignment, from enrolment to feedback.

It is the night before a deadline, compressed: an admin creates a course with
one instructor, who enrols N students in ONE bulk ``POST /students`` and
releases 3 notebooks (~200 KB each) plus a 5 MB data file. Every student
fetches it and submits their answered notebooks (C requests in flight). The
instructor then does what nbgrader's collect and release_feedback do: lists
the submissions, downloads each one, and uploads feedback for each, **one
request at a time**. Finally every student fetches their feedback.

Timestamps are never built by the driver: collect asks for the exact string
``/submissions`` listed, feedback is uploaded with the string collect returned
(nbgrader's ``timestamp.txt``) and fetched with the one submit returned (the
student's cache folder name). ngshare 0.6 matches ``/submission`` by exact
string, and the two servers format timestamps differently.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from benchmarks import client_heap, payloads
from benchmarks.checks import ReferenceAnswer, each, envelope, verify_files
from benchmarks.httpclient import ApiClient
from benchmarks.metrics import Phase, PhaseResult, ProcWatch
from benchmarks.payloads import Blob


@dataclass
class DeadlineConfig:
    students: int = 300
    concurrency: int = 32
    notebooks: int = 3
    notebook_bytes: int = 200_000
    data_bytes: int = 5_000_000
    feedback_bytes: int = 100_000
    course: str = "bench101"
    assignment: str = "ps1"
    admin: str = "root"
    instructor: str = "instructor1"

    @property
    def student_names(self) -> list[str]:
        return [f"student{i:04d}" for i in range(1, self.students + 1)]


class Deadline:
    """Runs the phases in order against one server; see the module docstring."""

    def __init__(self, api: ApiClient, cfg: DeadlineConfig, watch: ProcWatch | None, hooks=None):
        self.api, self.cfg, self.watch, self.hooks = api, cfg, watch, hooks
        self.results: list[PhaseResult] = []
        c = cfg
        self.templates = [
            payloads.notebook_template(i, c.notebook_bytes) for i in range(1, c.notebooks + 1)
        ]
        self.nb_names = [f"problem{i}" for i in range(1, c.notebooks + 1)]
        notebooks = zip(self.nb_names, self.templates, strict=True)
        self.release = [Blob(f"{n}.ipynb", t.encode()) for n, t in notebooks]
        self.release.append(
            Blob("data/measurements.bin", payloads.random_bytes(c.data_bytes, seed=5))
        )
        self.submitted: dict[str, list[Blob]] = {}
        self.submit_ts: dict[str, str] = {}  # as POST /submission returned it
        self.listed_ts: dict[str, str] = {}  # as GET /submissions listed it
        self.collected_ts: dict[str, str] = {}  # as GET /submission returned it
        self.feedback: dict[str, list[Blob]] = {}

    def phase(self, name: str) -> Phase:
        return Phase(name, self.watch, self.hooks)

    @property
    def c_a(self) -> str:
        return f"{self.cfg.course}/{self.cfg.assignment}"

    async def run(self) -> list[PhaseResult]:
        for step in (
            self.create_course,
            self.enrol,
            self.release_assignment,
            self.fetch,
            self.submit,
            self.list_submissions,
            self.collect,
            self.release_feedback,
            self.fetch_feedback,
        ):
            await step()
        return self.results

    def _done(self, ph: Phase) -> None:
        self.results.append(ph.result)

    async def create_course(self) -> None:
        c = self.cfg
        with self.phase("create_course") as ph:
            r = await self.api.post(
                f"course/{c.course}", c.admin, {"instructors": json.dumps([c.instructor])}
            )
            ph.record(r, ok=envelope(r) is not None)
        self._done(ph)

    async def enrol(self) -> None:
        c = self.cfg
        roster = [
            {
                "username": s,
                "first_name": "First" + s[-4:],
                "last_name": "Last" + s[-4:],
                "email": f"{s}@example.org",
            }
            for s in c.student_names
        ]
        with self.phase("enrol_bulk") as ph:
            r = await self.api.post(
                f"students/{c.course}", c.instructor, {"students": json.dumps(roster)}
            )
            doc = envelope(r)
            status = doc.get("status") if doc else None
            ok = (
                isinstance(status, list)
                and len(status) == c.students
                and all(s.get("success") for s in status)
            )
            ph.record(r, ok=ok)
            ph.result.notes["students"] = c.students
        self._done(ph)

    async def release_assignment(self) -> None:
        field = payloads.files_field(self.release)
        with self.phase("release") as ph:
            r = await self.api.post(
                f"assignment/{self.c_a}", self.cfg.instructor, raw={"files": field}
            )
            ph.record(r, sent=len(field), ok=envelope(r) is not None)
        self._done(ph)

    async def fetch(self, students: list[str] | None = None) -> None:
        """Every student (or only ``students``) fetches the release, C at a time."""
        students = self.cfg.student_names if students is None else students
        reference = ReferenceAnswer()
        # heap for the answers in flight and the reference (see client_heap)
        answer_bytes = sum(len(b.b64) + len(b.path) + 256 for b in self.release)
        client_heap.prefault((self.cfg.concurrency + 1) * answer_bytes)
        with self.phase("fetch") as ph:

            async def one(student: str) -> None:
                r = await self.api.get(f"assignment/{self.c_a}", student)
                if reference.claim(r):  # the reference answer or a byte-identical copy
                    ph.record(r, ok=True)  # its verdict comes below
                    return
                doc = envelope(r)
                n, problems = verify_files(doc, self.release) if doc else (0, [])
                ph.result.verified_files += n
                ok = doc is not None and not problems
                ph.record(r, ok=ok, problem=_first(student, problems))

            await each(students, self.cfg.concurrency, one, ph.error)
        if reference.response is not None:
            doc = envelope(reference.response)
            n, problems = verify_files(doc, self.release) if doc else (0, [])
            if doc is not None and not problems and n == len(self.release):
                ph.result.verified_files += n * reference.copies
            else:
                why = problems[0] if problems else reference.response.describe()
                for _ in range(reference.copies):
                    ph.error(f"{reference.copies} identical answers: {why}")
        self._done(ph)

    async def submit(self) -> None:
        bodies = {}
        for s in self.cfg.student_names:
            blobs = [
                Blob(f"{n}.ipynb", payloads.answered(t, s))
                for n, t in zip(self.nb_names, self.templates, strict=True)
            ]
            self.submitted[s] = blobs
            bodies[s] = payloads.files_field(blobs)
        with self.phase("submit") as ph:

            async def one(student: str) -> None:
                field = bodies.pop(student)
                r = await self.api.post(f"submission/{self.c_a}", student, raw={"files": field})
                doc = envelope(r)
                ts = doc.get("timestamp") if doc else None
                if isinstance(ts, str):
                    self.submit_ts[student] = ts
                ph.record(r, sent=len(field), ok=isinstance(ts, str))

            await each(self.cfg.student_names, self.cfg.concurrency, one, ph.error)
        self._done(ph)

    async def list_submissions(self) -> None:
        with self.phase("list_submissions") as ph:
            r = await self.api.get(f"submissions/{self.c_a}", self.cfg.instructor)
            doc = envelope(r)
            for entry in (doc or {}).get("submissions", []):
                self.listed_ts[entry["student_id"]] = entry["timestamp"]
            missing = set(self.submit_ts) - set(self.listed_ts)
            ph.record(r, ok=doc is not None and not missing)
            differ = [s for s, t in self.listed_ts.items() if self.submit_ts.get(s) != t]
            ph.result.notes["listed"] = len(self.listed_ts)
            ph.result.notes["timestamp_differs_from_submit"] = len(differ)
            if differ:
                s = differ[0]
                ph.result.notes["example"] = [self.submit_ts.get(s), self.listed_ts[s]]
        self._done(ph)

    async def collect(self) -> None:
        answers = []
        with self.phase("collect") as ph:
            for student in self.cfg.student_names:  # one at a time, as nbgrader collect
                ts = self.listed_ts.get(student)
                if ts is None:
                    ph.error(f"{student}: not listed, cannot collect")
                    continue
                r = await self.api.get(
                    f"submission/{self.c_a}/{student}", self.cfg.instructor, timestamp=ts
                )
                ph.record(r, ok=True)  # its verdict comes below
                answers.append((student, ts, r))
        # Checked once the phase is over: in a sequential phase the check would
        # sit between requests and add the driver's time to every server's.
        for student, ts, r in answers:
            doc = envelope(r)
            n, problems = verify_files(doc, self.submitted[student]) if doc else (0, [])
            if doc and doc.get("timestamp") != ts:
                problems.append(f"timestamp {doc.get('timestamp')!r} != {ts!r}")
            if doc:
                self.collected_ts[student] = doc.get("timestamp")
            ph.result.verified_files += n
            if doc is None or problems:
                ph.error(_first(student, problems) or r.describe())
        self._done(ph)

    def feedback_blobs(self, student: str) -> list[Blob]:
        """The feedback files uploaded for ``student``: one HTML page per notebook."""
        return [
            Blob(f"{n}.html", payloads.feedback_html(student, n, self.cfg.feedback_bytes))
            for n in self.nb_names
        ]

    async def release_feedback(self) -> None:
        bodies = {}
        for s in self.collected_ts:
            self.feedback[s] = blobs = self.feedback_blobs(s)
            bodies[s] = payloads.files_field(blobs, line_wrapped=True)
        with self.phase("release_feedback") as ph:
            for student in self.cfg.student_names:  # one at a time, as nbgrader does
                if student not in bodies:
                    ph.error(f"{student}: not collected, no feedback")
                    continue
                field = bodies.pop(student)
                r = await self.api.post(
                    f"feedback/{self.c_a}/{student}",
                    self.cfg.instructor,
                    {"timestamp": self.collected_ts[student]},
                    raw={"files": field},
                )
                ph.record(r, sent=len(field), ok=envelope(r) is not None)
        self._done(ph)

    async def fetch_feedback(self) -> None:
        with self.phase("fetch_feedback") as ph:

            async def one(student: str) -> None:
                if student not in self.feedback or student not in self.submit_ts:
                    ph.error(f"{student}: no feedback released")
                    return
                r = await self.api.get(
                    f"feedback/{self.c_a}/{student}",
                    student,
                    timestamp=self.submit_ts[student],
                    list_only="false",
                )
                doc = envelope(r)
                n, problems = verify_files(doc, self.feedback[student]) if doc else (0, [])
                ph.result.verified_files += n
                ph.record(r, ok=doc is not None and not problems, problem=_first(student, problems))

            await each(self.cfg.student_names, self.cfg.concurrency, one, ph.error)
        self._done(ph)


def _first(student: str, problems: list[str]) -> str | None:
    return f"{student}: {problems[0]}" if problems else None
