"""Run claims (ngshare/scheduler/claims.py) and take-overs, on the test run's database.

Several claimants here are several calls through the server's database
workers (real concurrency on PostgreSQL); tests/replicas/ runs the same
with real server processes.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone

import pytest
from apscheduler.triggers.cron import CronTrigger

from ngshare.models import utcnow
from ngshare.scheduler import Job
from ngshare.scheduler.claims import claim, finish, outcome, renew
from ngshare.scheduler.core import INTERVAL_ORIGIN, due_time

RUN = datetime(2026, 1, 2, 3, 4, 5)

#: What the dated job below saw, in this process.
DATED_RUNS: list[str] = []


async def note_dated_run(ctx, label: str) -> None:
    DATED_RUNS.append(f"{label} by {ctx.scheduler.replica_id}")


async def claim_as(server, holder, run_at=RUN, lease=60.0, exclusive=True, redo="never"):
    return await server.db.run(
        claim, "tests.some_job", run_at, holder, lease, exclusive, None, None, redo
    )


@pytest.mark.gen_test
async def test_of_replicas_claiming_one_run_together_exactly_one_wins(server):
    won = await asyncio.gather(*(claim_as(server, f"replica-{i}") for i in range(6)))
    assert sorted(won) == [False] * 5 + [True]
    row = await server.db.run(outcome, "tests.some_job", RUN)
    assert row.holder == f"replica-{won.index(True)}" and row.attempts == 1


@pytest.mark.gen_test
async def test_an_exclusive_job_does_not_start_another_run_while_one_is_held(server):
    assert await claim_as(server, "a")
    later = RUN + timedelta(seconds=10)
    assert not await claim_as(server, "b", later)
    assert await claim_as(server, "b", later, exclusive=False)


@pytest.mark.gen_test
async def test_a_run_is_taken_over_only_once_its_lease_ran_out(server):
    # leases long enough that a loaded machine's slow database call cannot outlast them
    assert await claim_as(server, "dead", lease=1.5)
    assert not await claim_as(server, "alive")
    await asyncio.sleep(1.7)
    assert await claim_as(server, "alive")
    assert not await claim_as(server, "third")
    row = await server.db.run(outcome, "tests.some_job", RUN)
    assert (row.holder, row.attempts) == ("alive", 2)


@pytest.mark.gen_test
async def test_a_renewed_lease_is_not_taken_over(server):
    # three renewals, 1 s apart, outlast the 2 s lease they renew; each leaves 1 s to spare
    assert await claim_as(server, "a", lease=2.0)
    for _ in range(3):
        await asyncio.sleep(1.0)
        assert await server.db.run(renew, "tests.some_job", RUN, "a", 2.0)
        assert not await claim_as(server, "b")
    # a holder that lost its run cannot renew it
    assert not await server.db.run(renew, "tests.some_job", RUN, "b", 2.0)


@pytest.mark.gen_test
async def test_a_finished_run_is_claimed_again_only_as_redo_allows(server):
    assert await claim_as(server, "a")
    await server.db.run(finish, "tests.some_job", RUN, "a", None)
    assert not await claim_as(server, "b")
    assert not await claim_as(server, "b", redo="failed")
    assert await claim_as(server, "b", redo="any")
    await server.db.run(finish, "tests.some_job", RUN, "b", "RosterError: down")
    assert not await claim_as(server, "c")
    assert await claim_as(server, "c", redo="failed")
    row = await server.db.run(outcome, "tests.some_job", RUN)
    assert (row.holder, row.attempts, row.finished_at) == ("c", 3, None)


async def abandon(server, job_id, run_at, func_ref=None, kwargs=None):
    assert await server.db.run(claim, job_id, run_at, "dead", 0.01, False, func_ref, kwargs)
    await asyncio.sleep(0.05)


@pytest.mark.gen_test(timeout=20)
async def test_the_scheduler_takes_over_an_abandoned_run_of_a_declared_job(server):
    run_at = utcnow().replace(microsecond=0) - timedelta(seconds=5)
    await abandon(server, "scheduler.prune_job_runs", run_at)
    await server.scheduler._take_over_once()
    deadline = time.monotonic() + 10
    while (row := await server.db.run(outcome, "scheduler.prune_job_runs", run_at)).success is None:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    assert (row.holder, row.attempts, row.success) == (server.scheduler.replica_id, 2, True)
    record = await server.scheduler.describe("scheduler.prune_job_runs")
    assert record["last_replica"] == server.scheduler.replica_id


@pytest.mark.gen_test(timeout=20)
async def test_an_abandoned_periodic_run_gives_way_to_a_later_one(server):
    run_at = utcnow().replace(microsecond=0) - timedelta(seconds=5)
    await abandon(server, "scheduler.prune_job_runs", run_at)
    later = run_at + timedelta(seconds=1)
    assert await server.db.run(claim, "scheduler.prune_job_runs", later, "x", 60.0, False)
    await server.scheduler._take_over_once()
    row = await server.db.run(outcome, "scheduler.prune_job_runs", run_at)
    assert (row.holder, row.attempts, row.success) == ("dead", 1, False)
    assert "later run" in row.error


@pytest.mark.gen_test(timeout=20)
async def test_an_abandoned_dated_run_is_run_with_its_arguments(server):
    DATED_RUNS.clear()
    run_at = utcnow().replace(microsecond=0)
    ref = "tests.core.test_scheduler_claims:note_dated_run"
    await abandon(server, "tests.note_dated_run:1", run_at, ref, {"label": "one"})
    await server.scheduler._take_over_once()
    deadline = time.monotonic() + 10
    while not DATED_RUNS:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    assert DATED_RUNS == [f"one by {server.scheduler.replica_id}"]
    await server.scheduler._take_over_once()  # finished: not again
    await asyncio.sleep(0.2)
    assert len(DATED_RUNS) == 1


@pytest.mark.gen_test
async def test_run_once_runs_the_work_on_the_claiming_server_only(server):
    ran = []

    async def work():
        ran.append(1)
        return "result"

    when = datetime(2026, 5, 1)
    assert await server.scheduler.run_once("tests.window", when, work) == "result"
    assert await server.scheduler.run_once("tests.window", when, work) is None
    assert ran == [1]

    async def failing():
        raise ValueError("source down")

    with pytest.raises(ValueError):
        await server.scheduler.run_once("tests.window", when, failing, redo="any")
    result = await server.scheduler.run_outcome("tests.window", when)
    assert (result["success"], result["error"]) == (False, "ValueError: source down")
    assert await server.scheduler.run_once("tests.window", when, work, redo="failed") == "result"
    assert (await server.scheduler.run_outcome("tests.window", when))["success"] is True


def test_interval_runs_are_due_at_the_same_moments_on_every_server():
    job = Job("tests.tick", note_dated_run, "interval", {"seconds": 10})
    now = datetime(2026, 12, 6, 12, 0, 7, 250000, tzinfo=timezone.utc)
    assert due_time(job.make_trigger(), now) == datetime(2026, 12, 6, 12, 0, 0, tzinfo=timezone.utc)
    assert job.make_trigger().start_date == INTERVAL_ORIGIN
    # two servers started at different moments build triggers that fire together
    a, b = job.make_trigger(), job.make_trigger()
    assert a.get_next_fire_time(None, now) == b.get_next_fire_time(None, now + timedelta(seconds=1))


def test_a_cron_run_is_due_at_its_latest_fire_time():
    trigger = CronTrigger(minute="*/15", timezone=timezone.utc)
    now = datetime(2026, 12, 6, 12, 31, 2, tzinfo=timezone.utc)
    assert due_time(trigger, now) == datetime(2026, 12, 6, 12, 30, tzinfo=timezone.utc)
