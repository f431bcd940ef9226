"""``kill -9`` during concurrent uploads: nothing acknowledged is lost, nothing half-written shows.

A real server (a subprocess, on this run's database: SQLite, or its own
PostgreSQL schema) takes releases, submissions and feedback uploads from a few
client threads; at a random moment it is killed with SIGKILL, then started
again. Every upload it acknowledged must come back byte for byte; an upload in
flight at the kill may be there or not, but only whole; ``ngshare fsck
--verify`` finds no missing or corrupt blob, and after ``--repair`` (server
stopped, ``--grace 0``) every acknowledged upload is still there.

Rounds: ``NGSHARE_CRASH_ROUNDS`` (3 by default); the random seed is printed
and taken from ``NGSHARE_CRASH_SEED`` to replay a run. A longer run::

    NGSHARE_CRASH_ROUNDS=30 NGSHARE_TEST_DB=postgresql python -m pytest -q tests/core/test_crash.py
"""

from __future__ import annotations

import base64
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import own_pg_schema
from tests.servers import free_port

ROUNDS = int(os.environ.get("NGSHARE_CRASH_ROUNDS", "3"))
SEED = int(os.environ.get("NGSHARE_CRASH_SEED", str(random.SystemRandom().randrange(1 << 30))))
STUDENTS = ["s1", "s2", "s3", "s4"]
INSTRUCTOR = "kevin"
#: Each client thread stops after this many uploads, or this many seconds,
#: if the kill has not come first.
MAX_UPLOADS_PER_THREAD = 200
MAX_LOAD_SECONDS = 20.0
#: The kill comes this long (uniformly drawn) after the first acknowledged upload.
KILL_AFTER = (0.2, 1.5)
#: Above the server's inline limit (256 KiB): such files are stored as files, the others as rows.
LARGE = 300_000


@dataclass
class Upload:
    """One upload: what was sent, and whether the server acknowledged it."""

    kind: str  # "release", "submit", "feedback"
    path: str  # the URL path (course/assignment[/student])
    files: dict[str, bytes]
    acked: bool = False
    answer: dict = field(default_factory=dict)
    timestamp: str | None = None  # feedback: of the submission it is for; submit: the answer's
    student: str = ""  # submit, feedback: whose


class Server:
    """The server as a subprocess: started, killed with SIGKILL, started again (by its PID)."""

    def __init__(self, data_dir: Path, database: str | None) -> None:
        self.data_dir = data_dir
        self.database = database
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log = open(self.data_dir / f"server-{self.starts}.log", "wb")  # noqa: SIM115
        args = [f"--database={self.database}"] if self.database else []
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from ngshare.cli import main_dev as m; m()",
                f"--port={self.port}",
                f"--data-dir={self.data_dir}",
                "--admins=root",
                *args,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.data_dir,
        )
        log.close()
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(self.base + "/healthz", timeout=1).read()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "server did not start:\n"
                        + (self.data_dir / f"server-{self.starts}.log").read_text()
                    ) from None
                time.sleep(0.1)

    def kill(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def call(self, method: str, path: str, user: str, timeout: float = 30, **fields) -> dict:
        """One request as ngshare's clients make it; the JSON answer (HTTP errors raise)."""
        fields["user"] = user
        url = f"{self.base}/api/{path}"
        data = None
        if method == "GET":
            url += "?" + urllib.parse.urlencode(fields)
        else:
            data = urllib.parse.urlencode(fields).encode()
        request = urllib.request.Request(url, data=data, method=method)
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())

    def fsck(self, *args: str) -> subprocess.CompletedProcess:
        db = [f"--database={self.database}"] if self.database else []
        return subprocess.run(
            [
                sys.executable,
                "-c",
                "from ngshare.cli import main; main()",
                "fsck",
                *args,
                f"--data-dir={self.data_dir}",
                *db,
            ],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=self.data_dir,
        )


def encode(files: dict[str, bytes]) -> str:
    return json.dumps(
        [{"path": p, "content": base64.b64encode(c).decode()} for p, c in files.items()]
    )


def decode(answer: dict) -> dict[str, bytes]:
    return {f["path"]: base64.b64decode(f["content"]) for f in answer["files"]}


def random_files(rng: random.Random, tag: str) -> dict[str, bytes]:
    """One to three files, each unique (so no upload can pass for another), some large."""
    files = {}
    for i in range(rng.randint(1, 3)):
        size = LARGE + rng.randrange(1000) if rng.random() < 0.3 else rng.randrange(10, 5000)
        head = f"{tag} file {i}\n".encode()
        files[f"nb{i}.ipynb" if i else "p1.ipynb"] = head + rng.randbytes(size)
    return files


class Load:
    """Client threads uploading until the server dies (or a bound is reached)."""

    def __init__(self, server: Server, rng: random.Random, round_no: int) -> None:
        self.server = server
        self.round = round_no
        self.seeds = [rng.randrange(1 << 30) for _ in range(len(STUDENTS) + 2)]
        self.uploads: list[Upload] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.first_ack = threading.Event()
        self.unexpected: list[str] = []

    def send(self, upload: Upload, method: str = "POST", **fields) -> bool:
        """Send one upload; False once the server is gone (the upload stays unacknowledged)."""
        with self.lock:
            self.uploads.append(upload)
        try:
            upload.answer = self.server.call(method, upload.path, **fields)
        except urllib.error.HTTPError as e:
            self.unexpected.append(f"{upload.kind} {upload.path}: HTTP {e.code} {e.read()[:200]}")
            return False
        except (OSError, ValueError):  # connection refused/reset, or a cut answer
            return False
        upload.acked = upload.answer.get("success") is True
        if upload.acked:
            self.first_ack.set()
        else:
            self.unexpected.append(f"{upload.kind} {upload.path}: {upload.answer}")
        return upload.acked

    def submitter(self, student: str, seed: int) -> None:
        rng = random.Random(seed)
        for n in range(MAX_UPLOADS_PER_THREAD):
            if self.stop.is_set():
                return
            files = random_files(rng, f"r{self.round} {student} #{n}")
            up = Upload("submit", "submission/c1/a1", files, student=student)
            if not self.send(up, user=student, files=encode(files)):
                return
            up.timestamp = up.answer["timestamp"]

    def releaser(self, seed: int) -> None:
        rng = random.Random(seed)
        for n in range(MAX_UPLOADS_PER_THREAD):
            if self.stop.is_set():
                return
            files = random_files(rng, f"r{self.round} release #{n}")
            up = Upload("release", f"assignment/c1/r{self.round}-{n}", files)
            if not self.send(up, user=INSTRUCTOR, files=encode(files)):
                return

    def feedbacker(self, seed: int, submissions: list[Upload]) -> None:
        """Feedback, one upload at a time (as nbgrader does), on the round's first submissions."""
        rng = random.Random(seed)
        for n in range(MAX_UPLOADS_PER_THREAD):
            if self.stop.is_set():
                return
            target = submissions[n % len(submissions)]
            student = target.student
            files = {
                "p1.html": f"r{self.round} feedback #{n}\n".encode()
                + rng.randbytes(LARGE if rng.random() < 0.3 else rng.randrange(10, 3000))
            }
            up = Upload(
                "feedback",
                f"feedback/c1/a1/{student}",
                files,
                timestamp=target.timestamp,
                student=student,
            )
            if not self.send(up, user=INSTRUCTOR, files=encode(files), timestamp=target.timestamp):
                return

    def run(self, kill_after: float, submissions: list[Upload]) -> None:
        threads = [
            threading.Thread(target=self.submitter, args=(s, seed), daemon=True)
            for s, seed in zip(STUDENTS, self.seeds, strict=False)
        ]
        threads.append(threading.Thread(target=self.releaser, args=(self.seeds[-2],), daemon=True))
        threads.append(
            threading.Thread(
                target=self.feedbacker, args=(self.seeds[-1], submissions), daemon=True
            )
        )
        for t in threads:
            t.start()
        self.first_ack.wait(timeout=MAX_LOAD_SECONDS)  # the kill comes after some work
        time.sleep(kill_after)
        self.server.kill()
        self.stop.set()
        for t in threads:
            t.join(timeout=MAX_LOAD_SECONDS)
        assert not any(t.is_alive() for t in threads), "a client thread did not end"


def check_everything(server: Server, uploads: list[Upload]) -> dict[str, int]:
    """Every acknowledged upload is there byte for byte; an unacknowledged one, whole or absent."""
    counts = {"acked": 0, "in_flight_seen": 0, "in_flight_absent": 0, "bytes": 0}
    # releases
    for up in (u for u in uploads if u.kind == "release"):
        try:
            got = decode(server.call("GET", up.path, INSTRUCTOR))
        except urllib.error.HTTPError as e:
            assert e.code == 404 and not up.acked, f"acknowledged release {up.path} lost"
            counts["in_flight_absent"] += 1
            continue
        assert got == up.files, f"release {up.path} is not what was sent"
        counts["acked" if up.acked else "in_flight_seen"] += 1
        counts["bytes"] += sum(map(len, got.values()))
    # submissions: what each student's list shows
    for student in STUDENTS:
        mine = [u for u in uploads if u.kind == "submit" and u.student == student]
        listed = server.call("GET", f"submissions/c1/a1/{student}", INSTRUCTOR)["submissions"]
        shown = {s["timestamp"] for s in listed}
        acked = {u.timestamp: u for u in mine if u.acked}
        assert set(acked) <= shown, f"acknowledged submissions of {student} lost"
        in_flight = [u.files for u in mine if not u.acked]
        for ts in shown:
            got = decode(
                server.call("GET", f"submission/c1/a1/{student}", INSTRUCTOR, timestamp=ts)
            )
            if ts in acked:
                assert got == acked[ts].files, f"submission {student} {ts} differs"
                counts["acked"] += 1
            else:
                assert got in in_flight, f"submission {student} {ts} was never sent whole"
                counts["in_flight_seen"] += 1
            counts["bytes"] += sum(map(len, got.values()))
        counts["in_flight_absent"] += len(in_flight) - (len(shown) - len(acked))
    # feedback: per submission, the last acknowledged upload, or one sent after it
    # (uploads to one submission are sequential: in flight at a kill, or not at all)
    by_target: dict[tuple[str, str | None], list[Upload]] = {}
    for up in (u for u in uploads if u.kind == "feedback"):
        by_target.setdefault((up.path, up.timestamp), []).append(up)
    for (path, ts), ups in by_target.items():
        got = decode(server.call("GET", path, INSTRUCTOR, timestamp=ts))
        last = max((i for i, u in enumerate(ups) if u.acked), default=None)
        allowed = [{}] if last is None else []
        allowed += [u.files for u in ups[last or 0 :]]
        assert got in allowed, f"feedback {path} {ts}: not the last acknowledged or a later upload"
        counts["acked"] += sum(u.acked for u in ups)  # each superseded in turn, in order
        counts["bytes"] += sum(map(len, got.values()))
    return counts


@pytest.fixture
def crash_database(db_url):
    """This run's kind of database, for the server subprocess: None (SQLite) or its own schema."""
    if not db_url.startswith("postgresql"):
        yield None
        return
    with own_pg_schema("crash") as url:
        yield url


def test_kill_9_during_uploads_loses_nothing_acknowledged(tmp_path, crash_database):
    print(f"crash test seed: NGSHARE_CRASH_SEED={SEED}, rounds: {ROUNDS}")
    rng = random.Random(SEED)
    server = Server(tmp_path, crash_database)
    server.start()
    uploads: list[Upload] = []
    try:
        server.call("POST", "course/c1", "root", instructors=json.dumps([INSTRUCTOR]))
        roster = [
            {"username": s, "first_name": "F", "last_name": "L", "email": "e@x"} for s in STUDENTS
        ]
        server.call("POST", "students/c1", INSTRUCTOR, students=json.dumps(roster))
        server.call("POST", "assignment/c1/a1", INSTRUCTOR, files=encode({"p1.ipynb": b"{}"}))
        # submissions that feedback goes to (every round's feedback thread uses them)
        targets = []
        for s in STUDENTS:
            up = Upload("submit", "submission/c1/a1", {"p1.ipynb": f"base {s}".encode()}, student=s)
            up.answer = server.call("POST", up.path, s, files=encode(up.files))
            up.acked, up.timestamp = True, up.answer["timestamp"]
            targets.append(up)
        uploads.extend(targets)
        for round_no in range(1, ROUNDS + 1):
            load = Load(server, rng, round_no)
            load.run(rng.uniform(*KILL_AFTER), targets)
            assert load.unexpected == [], load.unexpected
            uploads.extend(load.uploads)
            server.start()  # after the kill
            check_everything(server, uploads)
            assert sum(u.acked for u in load.uploads) > 0, "the kill came before any upload"
            # beside the running server: nothing missing or corrupt, no old leftovers
            report = server.fsck("--verify", "--json")
            assert report.returncode == 0, report.stdout + report.stderr
            assert json.loads(report.stdout)["problems"] == []
        # with the server stopped: every leftover goes, and nothing acknowledged with it
        server.stop()
        repaired = server.fsck("--verify", "--repair", "--grace=0")
        assert repaired.returncode == 0, repaired.stdout + repaired.stderr
        assert list((tmp_path / "files" / "tmp").iterdir()) == []
        server.start()
        counts = check_everything(server, uploads)
        print(
            f"crash test: {ROUNDS} kills, {counts} (acknowledged uploads verified, in flight "
            "at a kill and found whole or absent, bytes compared)"
        )
    finally:
        server.stop()
