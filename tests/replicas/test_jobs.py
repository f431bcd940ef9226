"""Scheduled runs across three real replicas on one PostgreSQL database.

- a periodic job (the example plugin's ``example.count_notes``, every second)
  runs once per tick, not once per replica: the shared run record counts
  the executions and matches the claims, and ``{prefix}jobs`` names the replica;
- a long dated job whose replica is killed (SIGKILL) is taken over by another
  replica once its lease has run out, and runs to its end there, once.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from tests.replicas.cluster import fresh_postgresql_database, replica_cluster

LEASE = 3.0


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def migrate(db_url: str) -> None:
    subprocess.run(
        [
            sys.executable,
            "-c",
            "from ngshare.cli import main; main()",
            "db",
            "upgrade",
            f"--database={db_url}",
            "--plugins=example",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )


def wait_for(predicate, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_a_periodic_job_runs_once_per_tick_across_three_replicas(tmp_path):
    with fresh_postgresql_database() as db_url:
        engine = sa.create_engine(db_url)
        try:
            with replica_cluster(
                tmp_path, db_url, 3, "--plugins=example", f"--NgShare.job_lease_seconds={LEASE}"
            ) as cluster:
                time.sleep(6)  # about six ticks of the one-second job, all three replicas up
                status, body = cluster[1].get("/api/jobs?user=root")
                assert status == 200
                job = next(j for j in json.loads(body)["jobs"] if j["id"] == "example.count_notes")
            # stopped: no run is in flight
            with engine.connect() as conn:
                claims = conn.execute(
                    sa.text(
                        "SELECT run_at, holder, finished_at FROM scheduler_run_claims"
                        " WHERE job_id = 'example.count_notes' ORDER BY run_at"
                    )
                ).all()
                run_count = conn.execute(
                    sa.text(
                        "SELECT run_count FROM scheduler_job_runs"
                        " WHERE job_id = 'example.count_notes'"
                    )
                ).scalar_one()
        finally:
            engine.dispose()
    names = {r.name for r in cluster.replicas}
    assert job["last_replica"] in names
    finished = [c for c in claims if c.finished_at is not None]
    assert len(finished) >= 5, claims
    # each run happened once: executions (counted in the one shared record) = claimed runs
    assert run_count == len(finished), (run_count, claims)
    assert all(c.run_at.microsecond == 0 for c in claims)  # ticks aligned across replicas
    span = (claims[-1].run_at - claims[0].run_at).total_seconds()
    assert len(claims) <= span + 1
    assert {c.holder for c in claims} <= names


def test_a_killed_replicas_run_is_taken_over_after_its_lease(tmp_path):
    marker = tmp_path / "runs.txt"
    with fresh_postgresql_database() as db_url:
        migrate(db_url)
        engine = sa.create_engine(db_url)
        try:
            run_at = utcnow().replace(microsecond=0) + timedelta(seconds=4)
            with engine.begin() as conn:
                conn.execute(
                    sa.text(
                        "INSERT INTO scheduler_jobs"
                        " (id, func_ref, kwargs, run_at, misfire_grace_time, created_at)"
                        " VALUES (:id, :f, :k, :r, NULL, :now)"
                    ),
                    {
                        "id": "tests.hold_the_run",
                        "f": "tests.replicas.jobs:hold_the_run",
                        "k": json.dumps({"marker": str(marker), "seconds": 60}),
                        "r": run_at,
                        "now": utcnow(),
                    },
                )
            with replica_cluster(
                tmp_path, db_url, 3, f"--NgShare.job_lease_seconds={LEASE}"
            ) as cluster:
                first = wait_for(
                    lambda: marker.exists() and marker.read_text().split(), 30, "the run"
                )[1]
                victim = next(r for r in cluster.replicas if r.name == first)
                time.sleep(LEASE)  # its lease is renewed while it runs
                assert marker.read_text().count("start") == 1
                victim.kill()
                killed_at = time.monotonic()
                lines = wait_for(
                    lambda: "done" in marker.read_text() and marker.read_text().splitlines(),
                    LEASE * 4,
                    "the take-over",
                )
                took = time.monotonic() - killed_at

                def finished_claim():
                    with engine.connect() as conn:
                        row = conn.execute(
                            sa.text(
                                "SELECT holder, attempts, finished_at, success"
                                " FROM scheduler_run_claims WHERE job_id = 'tests.hold_the_run'"
                            )
                        ).one()
                    return row if row.finished_at is not None else None

                # the job wrote "done"; its claim is closed in the next transaction
                claim = wait_for(finished_claim, 10, "the run's claim to be closed")
                time.sleep(LEASE)  # nobody starts it a third time
                final = marker.read_text().splitlines()
        finally:
            engine.dispose()
    second = lines[1].split()[1]
    assert lines[0] == f"start {first}" and second != first
    assert final == [f"start {first}", f"start {second}", f"done {second}"], final
    assert (claim.holder, claim.attempts, claim.success) == (second, 2, True)
    assert claim.finished_at is not None
    assert took < LEASE * 3, took
    assert "taking over the run" in next(r for r in cluster.replicas if r.name == second).log()
