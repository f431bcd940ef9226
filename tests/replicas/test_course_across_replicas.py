"""A whole course through three replicas on PostgreSQL and an S3-compatible store.

Three real ``vngshare`` processes share one fresh PostgreSQL database and one
bucket on the local S3 server (moto's, tests/standins/s3.py), with the secrets
and the live channels in the database, as docs/replicas.md sets them up. Each
step of the course goes through the next replica in turn. Then a replica is
killed with SIGKILL while students upload through it: every submission it
acknowledged is collected whole through another replica, and ``ngshare fsck``
finds the database and the bucket consistent.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

from tests.replicas.cluster import ROOT, fresh_postgresql_database, replica_cluster

#: A SIGKILLed replica must have acknowledged this many uploads first, and fewer than all.
UPLOADS = 48
KILL_AFTER = 8


def form(**fields) -> bytes:
    return urlencode(fields).encode()


def files(**contents: bytes) -> str:
    return json.dumps(
        [{"path": p, "content": base64.b64encode(c).decode()} for p, c in contents.items()]
    )


def answer(reply) -> dict:
    status, body = reply
    data = json.loads(body)
    assert status == 200 and data["success"], body
    return data


def contents(data: dict) -> dict[str, bytes]:
    out = {}
    for f in data["files"]:
        raw = base64.b64decode(f["content"])
        assert f["checksum"] == hashlib.md5(raw).hexdigest()
        out[f["path"]] = raw
    return out


def s3_args(s3_server, bucket: str) -> list[str]:
    return [f"--NgShare.{name}={value}" for name, value in s3_server.settings(bucket).items()]


REPLICA_ARGS = ["--NgShare.secrets_in_database=True", "--EventBus.backend=postgres"]


def enrol(cluster, students: list[str]) -> None:
    a, b = cluster[0], cluster[1]
    answer(a.post("/api/course/c1", form(user="root", instructors=json.dumps(["kevin"]))))
    roster = [{"username": s, "first_name": s, "last_name": "X", "email": ""} for s in students]
    status = answer(b.post("/api/students/c1", form(user="kevin", students=json.dumps(roster))))
    assert all(entry["success"] for entry in status["status"])


def test_a_course_goes_through_three_replicas_in_turn(tmp_path, s3_server, s3_bucket):
    notebook = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
    with fresh_postgresql_database() as db_url:
        args = [*REPLICA_ARGS, *s3_args(s3_server, s3_bucket)]
        with replica_cluster(tmp_path, db_url, 3, *args) as cluster:
            a, b, c = cluster[0], cluster[1], cluster[2]
            enrol(cluster, ["alice", "bob"])
            answer(
                c.post(
                    "/api/assignment/c1/ps1",
                    form(user="kevin", files=files(**{"ps1.ipynb": notebook})),
                )
            )
            assert contents(answer(a.get("/api/assignment/c1/ps1?user=alice"))) == {
                "ps1.ipynb": notebook
            }
            work = {"ps1.ipynb": notebook + b" alice", "data/extra.csv": b"1,2,3\n" * 100_000}
            stamp = answer(
                b.post("/api/submission/c1/ps1", form(user="alice", files=files(**work)))
            )
            listed = answer(c.get("/api/submissions/c1/ps1?user=kevin"))["submissions"]
            assert [(s["student_id"], s["timestamp"]) for s in listed] == [
                ("alice", stamp["timestamp"])
            ]
            collected = answer(a.get("/api/submission/c1/ps1/alice?user=kevin"))
            assert contents(collected) == work
            html = b"<html>feedback for alice</html>"
            answer(
                b.post(
                    "/api/feedback/c1/ps1/alice",
                    form(
                        user="kevin",
                        timestamp=collected["timestamp"],
                        files=files(**{"ps1.html": html}),
                    ),
                )
            )
            query = urlencode({"user": "alice", "timestamp": collected["timestamp"]})
            assert contents(answer(c.get(f"/api/feedback/c1/ps1/alice?{query}"))) == {
                "ps1.html": html
            }
            # the data file is above the inline size (256 KiB): it went to the bucket
            assert s3_server.keys(s3_bucket), "no object in the bucket"


def test_a_replica_killed_during_uploads_loses_no_acknowledged_submission(
    tmp_path, s3_server, s3_bucket
):
    students = [f"s{i:02d}" for i in range(UPLOADS)]
    with fresh_postgresql_database() as db_url:
        args = [*REPLICA_ARGS, *s3_args(s3_server, s3_bucket)]
        with replica_cluster(tmp_path, db_url, 3, *args) as cluster:
            victim, survivor = cluster[0], cluster[1]
            enrol(cluster, students)
            answer(
                survivor.post(
                    "/api/assignment/c1/ps1",
                    form(user="kevin", files=files(**{"ps1.ipynb": b"{}"})),
                )
            )

            def work_of(student: str) -> dict[str, bytes]:
                # above the inline limit, so each upload also writes to the bucket
                return {"ps1.ipynb": (student.encode() + b" ") * 80_000}

            acknowledged: list[str] = []
            lock = threading.Lock()

            def submit(student: str) -> None:
                body = form(user=student, files=files(**work_of(student)))
                request = urllib.request.Request(victim.base + "/api/submission/c1/ps1", data=body)
                try:
                    with urllib.request.urlopen(request, timeout=30) as r:
                        if r.status == 200 and json.loads(r.read())["success"]:
                            with lock:
                                acknowledged.append(student)
                except OSError:
                    pass  # the replica died under this upload: not acknowledged

            with ThreadPoolExecutor(max_workers=6) as pool:
                for student in students:
                    pool.submit(submit, student)
                deadline = time.monotonic() + 60
                while len(acknowledged) < KILL_AFTER and time.monotonic() < deadline:
                    time.sleep(0.01)
                victim.kill()
            assert KILL_AFTER <= len(acknowledged) < UPLOADS, len(acknowledged)

            listed = answer(survivor.get("/api/submissions/c1/ps1?user=kevin"))["submissions"]
            stored = {s["student_id"] for s in listed}
            assert set(acknowledged) <= stored
            for student in sorted(stored):  # acknowledged or not, what is listed is whole
                got = answer(survivor.get(f"/api/submission/c1/ps1/{student}?user=kevin"))
                assert contents(got) == work_of(student), student


def test_fsck_finds_the_database_and_the_bucket_consistent_after_a_kill(
    tmp_path, s3_server, s3_bucket
):
    with fresh_postgresql_database() as db_url:
        args = [*REPLICA_ARGS, *s3_args(s3_server, s3_bucket)]
        with replica_cluster(tmp_path, db_url, 2, *args) as cluster:
            victim, survivor = cluster[0], cluster[1]
            enrol(cluster, ["alice"])
            answer(
                survivor.post(
                    "/api/assignment/c1/ps1",
                    form(user="kevin", files=files(**{"ps1.ipynb": b"x" * 200_000})),
                )
            )
            threads = [
                threading.Thread(
                    target=victim.post,
                    args=(
                        "/api/submission/c1/ps1",
                        form(user="alice", files=files(**{"ps1.ipynb": bytes([i]) * 300_000})),
                    ),
                    daemon=True,
                )
                for i in range(1, 7)
            ]
            for thread in threads:
                thread.start()
            time.sleep(0.3)
            victim.kill()
            for thread in threads:
                thread.join(35)
        check = subprocess.run(
            [
                sys.executable,
                "-c",
                "from ngshare.cli import main; main()",
                "fsck",
                "--json",
                f"--database={db_url}",
                f"--data-dir={tmp_path / 'fsck'}",
                *s3_args(s3_server, s3_bucket),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=ROOT,
        )
        # 0: no blob a row refers to is missing, no row half-written
        assert check.returncode == 0, check.stdout + check.stderr
