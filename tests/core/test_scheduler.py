"""The core scheduler: jobs fire on the running loop, dated jobs survive restarts, runs recorded.

Servers here are real contexts on the session's database (``make_config``),
started and stopped with the app's own hooks; "restarting" is stopping one and
starting another on the same database. Dated jobs name functions of this
module by reference, as a plugin's would.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from ngshare import migrations
from ngshare.app import StartupError, build, make_application, run_hooks
from ngshare.plugin import Plugin
from ngshare.scheduler import (
    ERR_JOB_NOT_FOUND,
    ERR_NOT_ADMIN,
    Job,
    JobNotFoundError,
    JobRunningError,
    SchedulerError,
)
from ngshare.scheduler.models import JobRun, ScheduledJob, SchedulerBase
from tests.conftest import ADMIN
from tests.waiting import eventually

REPO = Path(__file__).resolve().parents[2]
HERE = "tests.core.test_scheduler"

#: What the dated job functions below saw, in order (same process only).
DATED_CALLS: list[dict] = []


async def note_call(ctx, **kwargs) -> None:
    DATED_CALLS.append(kwargs)


async def touch_file(ctx, path: str) -> None:
    """Leaves a mark another process can see (the CLI tests)."""
    with open(path, "a") as f:
        f.write("ran\n")


async def fail_loudly(ctx, message: str) -> None:
    raise RuntimeError(message)


def not_async(ctx) -> None:
    pass


class Recorder:
    """A declared job function that notes when it ran; it may fail or take time."""

    def __init__(self, error: Exception | None = None, seconds: float = 0.0) -> None:
        self.times: list[float] = []
        self.error = error
        self.seconds = seconds

    async def __call__(self, ctx) -> None:
        self.times.append(time.monotonic())
        if self.seconds:
            await asyncio.sleep(self.seconds)
        if self.error is not None:
            raise self.error


def utc_in(seconds: float) -> datetime:
    return datetime.now(timezone.utc) + timedelta(seconds=seconds)


def empty_scheduler_tables(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        for table in SchedulerBase.metadata.sorted_tables[::-1]:
            conn.execute(table.delete())


def jobs_plugin(*jobs: Job) -> Plugin:
    """A plugin that only declares jobs."""
    return Plugin(name="testjobs", jobs=list(jobs))


class Servers:
    """Start and stop server contexts on the test database; clean up what a test leaves."""

    def __init__(self, make_config, db_url: str) -> None:
        self.make_config = make_config
        self.db_url = db_url
        self.running: list[tuple] = []
        self.cleaned = False

    def build(self, *jobs: Job):
        ctx, plugins = build(self.make_config())
        if not self.cleaned:  # the first build has migrated the database
            empty_scheduler_tables(ctx.db.engine)
            self.cleaned = True
        plugins = [*plugins, jobs_plugin(*jobs)]
        ctx.plugins = plugins
        return ctx, plugins

    async def start(self, *jobs: Job):
        ctx, plugins = self.build(*jobs)
        await run_hooks(ctx, plugins, "startup")
        self.running.append((ctx, plugins))
        return ctx

    async def stop(self, ctx) -> None:
        for entry in self.running:
            if entry[0] is ctx:
                self.running.remove(entry)
                await run_hooks(ctx, entry[1], "shutdown")
                ctx.close()
                return
        raise AssertionError("not running")

    async def stop_all(self) -> None:
        for ctx, _ in list(self.running):
            await self.stop(ctx)


@pytest.fixture
def servers(make_config, db_url, io_loop):
    DATED_CALLS.clear()
    servers = Servers(make_config, db_url)
    yield servers
    io_loop.run_sync(servers.stop_all)
    engine = sa.create_engine(db_url)
    try:  # leave no dated job behind for other tests' servers to run
        empty_scheduler_tables(engine)
    finally:
        engine.dispose()


async def pending_rows(ctx) -> list[str]:
    return await ctx.db.run(lambda s: list(s.scalars(sa.select(ScheduledJob.id))))


# -- declared jobs ----------------------------------------------------------------------


@pytest.mark.gen_test(timeout=30)
async def test_an_interval_job_fires_repeatedly_on_the_running_loop(servers):
    tick = Recorder()
    ctx = await servers.start(Job("testjobs.count_ticks", tick, "interval", {"seconds": 0.2}))
    assert ctx.scheduler is not None
    await eventually(lambda: len(tick.times) >= 3, what="three ticks")
    gaps = [b - a for a, b in zip(tick.times, tick.times[1:], strict=False)]
    assert all(gap > 0.1 for gap in gaps), gaps

    record = await ctx.scheduler.describe("testjobs.count_ticks")
    assert record["declared"] is True
    assert record["trigger"] == "interval"
    assert record["run_count"] >= 2
    assert record["last_success"] is True
    assert record["last_error"] is None
    assert record["last_duration_seconds"] >= 0
    assert record["next_run_at"] > record["last_run_at"]


@pytest.mark.gen_test(timeout=30)
async def test_a_cron_job_fires_on_the_running_loop(servers):
    tick = Recorder()
    ctx = await servers.start(Job("testjobs.count_seconds", tick, "cron", {"second": "*"}))
    await eventually(lambda: len(tick.times) >= 2, timeout=5, what="two cron ticks")
    record = await ctx.scheduler.describe("testjobs.count_seconds")
    assert record["schedule"].startswith("cron[")
    assert record["last_success"] is True


@pytest.mark.gen_test(timeout=30)
async def test_a_failing_job_is_recorded_and_the_scheduler_keeps_running(servers):
    broken = Recorder(error=RuntimeError("the printer is on fire"))
    healthy = Recorder()
    ctx = await servers.start(
        Job("testjobs.print_reports", broken, "interval", {"seconds": 0.2}),
        Job("testjobs.count_ticks", healthy, "interval", {"seconds": 0.2}),
    )
    await eventually(lambda: len(broken.times) >= 3, what="three failed runs")
    # the healthy job keeps running after its neighbour failed, and so does the broken one
    seen = len(healthy.times)
    await eventually(lambda: len(healthy.times) > seen and len(broken.times) >= 4, what="more")

    record = await ctx.scheduler.describe("testjobs.print_reports")
    assert record["last_success"] is False
    assert record["last_error"] == "RuntimeError: the printer is on fire"
    assert "Traceback" not in record["last_error"]
    assert record["run_count"] >= 3
    assert (await ctx.scheduler.describe("testjobs.count_ticks"))["last_success"] is True


@pytest.mark.gen_test(timeout=30)
async def test_coalesce_runs_a_backlog_once_and_no_coalesce_runs_each(servers):
    """A loop blocked for three intervals owes three runs: coalesce pays them with one."""
    once, each = Recorder(), Recorder()
    ctx = await servers.start(
        Job("testjobs.run_once", once, "interval", {"seconds": 1.0}, coalesce=True),
        Job("testjobs.run_each", each, "interval", {"seconds": 1.0}, coalesce=False),
    )
    # right after a tick (the second: the first may have been late if the start was slow)
    await eventually(lambda: len(once.times) >= 2 and len(each.times) >= 2, what="two runs")
    tick = once.times[1]
    for job_id in ("testjobs.run_once", "testjobs.run_each"):  # recorded, so not running
        while (await ctx.scheduler.describe(job_id))["running"]:
            await asyncio.sleep(0.005)
    # block the loop: the ticks at +1, +2 and +3 are missed
    time.sleep(max(0.0, tick + 3.5 - time.monotonic()))
    unblocked, next_tick = time.monotonic(), tick + 4.0

    def backlog(recorder):
        return [t for t in recorder.times if unblocked <= t < next_tick]

    # the backlog is paid at once; the next regular tick is half a second later
    while len(backlog(each)) < 3 and time.monotonic() < next_tick - 0.05:
        await asyncio.sleep(0.01)
    assert len(backlog(once)) == 1
    assert len(backlog(each)) == 3


@pytest.mark.gen_test(timeout=30)
async def test_a_declared_job_past_its_grace_time_is_skipped_and_recorded(servers):
    late = Recorder()
    declared_at = time.monotonic()
    ctx = await servers.start(
        Job(
            "testjobs.need_punctuality",
            late,
            "date",
            {"run_date": utc_in(1.5)},
            misfire_grace_time=1,
        )
    )
    time.sleep(max(0.0, declared_at + 3.0 - time.monotonic()))  # the loop is busy: 1.5 s late
    for _ in range(300):
        record = await ctx.scheduler.describe("testjobs.need_punctuality")
        if record["last_error"]:
            break
        await asyncio.sleep(0.01)
    assert late.times == []
    assert record["last_success"] is False
    assert record["last_error"].startswith("missed: ")
    assert "grace time of 1 s" in record["last_error"]
    assert record["run_count"] == 0
    assert record["next_run_at"] is None


@pytest.mark.gen_test(timeout=30)
async def test_stop_lets_a_running_job_finish(servers):
    slow = Recorder(seconds=0.5)
    ctx = await servers.start(Job("testjobs.take_time", slow, "interval", {"seconds": 0.1}))
    await eventually(lambda: slow.times, what="the run to start")
    await ctx.scheduler.stop()
    record = await ctx.scheduler.describe("testjobs.take_time")
    assert record["last_success"] is True
    assert record["last_duration_seconds"] >= 0.5
    runs = len(slow.times)
    await asyncio.sleep(0.3)
    assert len(slow.times) == runs  # stopped means no new runs


@pytest.mark.gen_test(timeout=30)
async def test_stop_cancels_a_run_that_outlasts_the_timeout_and_records_it(servers):
    stuck = Recorder(seconds=60)
    ctx = await servers.start(Job("testjobs.hang_around", stuck, "interval", {"seconds": 0.1}))
    await eventually(lambda: stuck.times, what="the run to start")
    await ctx.scheduler.stop(timeout=0.2)
    record = await ctx.scheduler.describe("testjobs.hang_around")
    assert record["last_success"] is False
    assert record["last_error"].startswith("cancelled")


@pytest.mark.gen_test(timeout=30)
async def test_a_job_cannot_be_run_by_hand_while_it_runs(servers):
    slow = Recorder(seconds=0.5)
    ctx = await servers.start(Job("testjobs.take_time", slow, "interval", {"seconds": 0.1}))
    await eventually(lambda: slow.times, what="the run to start")
    with pytest.raises(JobRunningError):
        await ctx.scheduler.run_now("testjobs.take_time")


@pytest.mark.gen_test(timeout=30)
async def test_declarations_are_checked_at_startup(servers):
    tick = Recorder()
    with pytest.raises(StartupError, match="must start with 'testjobs.'"):
        await servers.start(Job("other.count_ticks", tick, "interval", {"seconds": 1}))
    with pytest.raises(StartupError, match="two jobs"):
        await servers.start(
            Job("testjobs.count_ticks", tick, "interval", {"seconds": 1}),
            Job("testjobs.count_ticks", tick, "cron", {"second": 1}),
        )
    with pytest.raises(SchedulerError, match="bad trigger_args"):
        Job("testjobs.count_ticks", tick, "interval", {"fortnights": 1})
    with pytest.raises(SchedulerError, match="<plugin>.<verb>_<object>"):
        Job("count ticks", tick, "interval", {"seconds": 1})
    with pytest.raises(SchedulerError, match="async"):
        Job("testjobs.count_ticks", not_async, "interval", {"seconds": 1})


# -- dated jobs -------------------------------------------------------------------------


@pytest.mark.gen_test(timeout=30)
async def test_a_dated_job_survives_a_restart_and_runs_once(servers):
    first = await servers.start()
    await first.scheduler.schedule_at(
        "testjobs.note_call:1", utc_in(0.8), f"{HERE}:note_call", {"n": 1, "pair": (1, 2)}
    )
    await servers.stop(first)
    assert DATED_CALLS == []

    second = await servers.start()
    assert await pending_rows(second) == ["testjobs.note_call:1"]
    await eventually(lambda: DATED_CALLS, what="the dated job")
    await asyncio.sleep(0.5)
    assert DATED_CALLS == [{"n": 1, "pair": [1, 2]}]  # once, with its arguments as JSON gives them
    assert await pending_rows(second) == []
    record = await second.scheduler.describe("testjobs.note_call:1")
    assert record["last_success"] is True
    assert record["run_count"] == 1
    assert record["next_run_at"] is None

    await servers.stop(second)
    await servers.start()  # a third start finds nothing left to run
    await asyncio.sleep(0.3)
    assert len(DATED_CALLS) == 1


@pytest.mark.gen_test(timeout=30)
async def test_a_dated_job_due_while_the_server_was_down_runs_once_on_start(servers):
    first = await servers.start()
    due = time.monotonic() + 1.5  # far enough for the stop to finish first on a busy machine
    await first.scheduler.schedule_at(
        "testjobs.note_call:2", utc_in(1.5), f"{HERE}:note_call", {"n": 2}, misfire_grace_time=60
    )
    await servers.stop(first)
    assert time.monotonic() < due, "the stop took longer than the wait: the premise failed"
    await asyncio.sleep(due - time.monotonic() + 0.3)  # due while no server runs
    assert DATED_CALLS == []
    await servers.start()
    await eventually(lambda: DATED_CALLS, timeout=2, what="the overdue job")
    await asyncio.sleep(0.3)
    assert DATED_CALLS == [{"n": 2}]


@pytest.mark.gen_test(timeout=30)
async def test_a_dated_job_past_its_grace_time_is_skipped_for_good_and_recorded(servers):
    first = await servers.start()
    await first.scheduler.schedule_at(
        "testjobs.note_call:3", utc_in(0.2), f"{HERE}:note_call", {"n": 3}, misfire_grace_time=1
    )
    await servers.stop(first)
    await asyncio.sleep(1.6)  # 1.4 s late at the next start: past the 1 s grace

    second = await servers.start()

    async def missed_record():
        return (await second.scheduler.describe("testjobs.note_call:3"))["last_error"]

    deadline = time.monotonic() + 5
    while not await missed_record():
        assert time.monotonic() < deadline, "the miss was never recorded"
        await asyncio.sleep(0.02)
    record = await second.scheduler.describe("testjobs.note_call:3")
    assert record["last_success"] is False
    assert record["last_error"].startswith("missed: ")
    assert "grace time of 1 s" in record["last_error"]
    assert record["run_count"] == 0
    assert await pending_rows(second) == []

    await servers.stop(second)
    await servers.start()
    await asyncio.sleep(0.3)
    assert DATED_CALLS == []


@pytest.mark.gen_test(timeout=30)
async def test_two_servers_on_one_database_run_a_dated_job_once(servers):
    one = await servers.start()
    two = await servers.start()
    await one.scheduler.schedule_at("testjobs.note_call:4", utc_in(1.0), f"{HERE}:note_call")
    await two.scheduler.reload()  # what scheduler.sync_dated_jobs does every 30 s
    assert "testjobs.note_call:4" in two.scheduler._dated  # both will fire it ...
    await eventually(lambda: DATED_CALLS, what="the dated job")
    await asyncio.sleep(0.5)
    assert DATED_CALLS == [{}]  # ... and the claim lets only one run it


@pytest.mark.gen_test(timeout=30)
async def test_cancel_and_reschedule(servers):
    ctx = await servers.start()
    sched = ctx.scheduler
    await sched.schedule_at("testjobs.note_call:5", utc_in(0.3), f"{HERE}:note_call", {"n": 5})
    assert await sched.cancel("testjobs.note_call:5") is True
    assert await sched.cancel("testjobs.note_call:5") is False
    assert await sched.reschedule("testjobs.note_call:5", utc_in(0.1)) is False

    await sched.schedule_at("testjobs.note_call:6", utc_in(3600), f"{HERE}:note_call", {"n": 6})
    later = (await sched.describe("testjobs.note_call:6"))["next_run_at"]
    assert await sched.reschedule("testjobs.note_call:6", utc_in(0.3)) is True
    assert (await sched.describe("testjobs.note_call:6"))["next_run_at"] < later
    await eventually(lambda: DATED_CALLS, what="the rescheduled job")
    await asyncio.sleep(0.5)
    assert DATED_CALLS == [{"n": 6}]  # the cancelled one never ran


@pytest.mark.gen_test(timeout=30)
async def test_scheduling_again_replaces_the_pending_run(servers):
    ctx = await servers.start()
    ref = f"{HERE}:note_call"
    await ctx.scheduler.schedule_at("testjobs.note_call:7", utc_in(0.3), ref, {"v": "old"})
    await ctx.scheduler.schedule_at("testjobs.note_call:7", utc_in(0.4), ref, {"v": "new"})
    await eventually(lambda: DATED_CALLS, what="the job")
    await asyncio.sleep(0.4)
    assert DATED_CALLS == [{"v": "new"}]


@pytest.mark.gen_test(timeout=30)
async def test_a_failing_dated_job_is_recorded_and_not_retried(servers):
    ctx = await servers.start()
    await ctx.scheduler.schedule_at(
        "testjobs.fail_loudly", utc_in(0.1), f"{HERE}:fail_loudly", {"message": "no"}
    )
    for _ in range(300):
        record = await ctx.scheduler.describe("testjobs.fail_loudly")
        if record["run_count"]:
            break
        await asyncio.sleep(0.01)
    assert record["last_success"] is False
    assert record["last_error"] == "RuntimeError: no"
    assert await pending_rows(ctx) == []


@pytest.mark.gen_test(timeout=30)
async def test_schedule_at_refuses_what_it_could_not_run(servers):
    tick = Recorder()
    ctx = await servers.start(Job("testjobs.count_ticks", tick, "interval", {"seconds": 60}))
    sched, when = ctx.scheduler, utc_in(60)
    cases = [
        ("no-dot", f"{HERE}:note_call", {}, "must look like"),
        ("testjobs.count_ticks", f"{HERE}:note_call", {}, "declared job"),
        ("testjobs.note_call", f"{HERE}.note_call", {}, "package.module:function"),
        ("testjobs.note_call", f"{HERE}:no_such_function", {}, "cannot be imported"),
        ("testjobs.note_call", "no_such_module:f", {}, "cannot be imported"),
        ("testjobs.note_call", f"{HERE}:not_async", {}, "not an async function"),
        ("testjobs.note_call", f"{HERE}:note_call", {"when": datetime.now()}, "JSON"),
    ]
    for job_id, ref, kwargs, message in cases:
        with pytest.raises(SchedulerError, match=message):
            await sched.schedule_at(job_id, when, ref, kwargs)
    assert await pending_rows(ctx) == []
    with pytest.raises(SchedulerError):
        await sched.cancel("testjobs.count_ticks")


# -- HTTP -----------------------------------------------------------------------------------


@pytest.fixture
def jobs_server(servers, io_loop):
    """A server whose test plugin declares a job that succeeds and one that fails."""
    return io_loop.run_sync(
        lambda: servers.start(
            Job("testjobs.count_ticks", Recorder(), "interval", {"hours": 1}),
            Job(
                "testjobs.print_reports",
                Recorder(error=ValueError("out of paper")),
                "cron",
                {"hour": 3},
            ),
        )
    )


@pytest.fixture
def app(jobs_server):
    return make_application(jobs_server, jobs_server.plugins)


def jobs_by_id(body: dict) -> dict[str, dict]:
    return {job["id"]: job for job in body["jobs"]}


@pytest.mark.gen_test(timeout=30)
async def test_admins_list_jobs_with_their_last_and_next_run(jobs_server, api):
    await jobs_server.scheduler.schedule_at(
        "testjobs.note_call:8", utc_in(3600), f"{HERE}:note_call", {"n": 8}
    )
    status, body = await api("GET", "jobs", user=ADMIN)
    assert status == 200 and body["success"] is True
    jobs = jobs_by_id(body)
    assert {"scheduler.sync_dated_jobs", "scheduler.prune_job_runs"} <= jobs.keys()
    ticks = jobs["testjobs.count_ticks"]
    assert ticks["declared"] is True
    assert ticks["trigger"] == "interval"
    assert ticks["schedule"] == "interval[1:00:00]"
    assert ticks["next_run_at"].endswith("Z")
    assert ticks["last_run_at"] is None and ticks["run_count"] == 0
    dated = jobs["testjobs.note_call:8"]
    assert dated["declared"] is False
    assert dated["trigger"] == "date"
    assert dated["func"] == f"{HERE}:note_call"
    assert dated["next_run_at"].endswith("Z")

    status, body = await api("POST", "jobs/testjobs.count_ticks/run", user=ADMIN)
    assert status == 200, body
    assert body["job"]["run_count"] == 1 and body["job"]["last_success"] is True
    status, body = await api("GET", "jobs", user=ADMIN)
    ticks = jobs_by_id(body)["testjobs.count_ticks"]
    assert ticks["last_run_at"].endswith("Z")
    assert ticks["last_duration_seconds"] >= 0
    assert ticks["next_run_at"] > ticks["last_run_at"]


@pytest.mark.gen_test(timeout=30)
async def test_running_a_failing_job_by_hand_reports_its_error(jobs_server, api):
    status, body = await api("POST", "jobs/testjobs.print_reports/run", user=ADMIN)
    assert status == 200
    assert body["success"] is True  # the request worked; the job did not
    assert body["job"]["last_success"] is False
    assert body["job"]["last_error"] == "ValueError: out of paper"


@pytest.mark.gen_test(timeout=30)
async def test_running_a_dated_job_by_hand_uses_it_up(jobs_server, api):
    await jobs_server.scheduler.schedule_at(
        "testjobs.note_call:9", utc_in(1.0), f"{HERE}:note_call", {"n": 9}
    )
    status, body = await api("POST", "jobs/testjobs.note_call:9/run", user=ADMIN)
    assert status == 200, body
    assert DATED_CALLS == [{"n": 9}]
    assert body["job"]["next_run_at"] is None
    await asyncio.sleep(1.3)  # past its time: it does not run again
    assert DATED_CALLS == [{"n": 9}]
    status, body = await api("POST", "jobs/testjobs.note_call:9/run", user=ADMIN)
    assert (status, body) == (404, {"success": False, "message": ERR_JOB_NOT_FOUND})


@pytest.mark.gen_test(timeout=30)
async def test_unknown_jobs_get_a_json_404(jobs_server, api):
    status, body = await api("POST", "jobs/testjobs.no_such_job/run", user=ADMIN)
    assert (status, body) == (404, {"success": False, "message": ERR_JOB_NOT_FOUND})
    with pytest.raises(JobNotFoundError):
        await jobs_server.scheduler.run_now("nothing.here")


@pytest.mark.gen_test(timeout=30)
async def test_non_admins_get_403_and_anonymous_callers_401(jobs_server, api):
    denied = {"success": False, "message": ERR_NOT_ADMIN}
    assert await api("GET", "jobs", user="kevin") == (403, denied)
    assert await api("POST", "jobs/testjobs.count_ticks/run", user="kevin") == (403, denied)
    status, _ = await api("GET", "jobs")
    assert status == 401
    record = await jobs_server.scheduler.describe("testjobs.count_ticks")
    assert record["run_count"] == 0


# -- command line --------------------------------------------------------------------------


def ngshare_command(db_url: str, data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "ngshare",
            "jobs",
            *args,
            f"--database={db_url}",
            f"--data-dir={data_dir}",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,  # so that the job functions of this module import
        timeout=120,
    )


def test_the_jobs_command_lists_jobs_and_runs_one_now(servers, io_loop, db_url, tmp_path):
    mark = tmp_path / "mark"

    async def schedule():
        ctx = await servers.start()
        await ctx.scheduler.schedule_at(
            "testjobs.touch_file", utc_in(3600), f"{HERE}:touch_file", {"path": str(mark)}
        )
        await ctx.scheduler.schedule_at(
            "testjobs.fail_loudly", utc_in(3600), f"{HERE}:fail_loudly", {"message": "nope"}
        )
        await servers.stop(ctx)

    io_loop.run_sync(schedule)

    listed = ngshare_command(db_url, tmp_path, "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[0].split()[:2] == ["ID", "SCHEDULE"]
    assert "testjobs.touch_file" in listed.stdout
    assert "scheduler.prune_job_runs" in listed.stdout

    as_json = ngshare_command(db_url, tmp_path, "list", "json")
    assert as_json.returncode == 0, as_json.stderr
    jobs = {job["id"]: job for job in json.loads(as_json.stdout)}
    assert jobs["testjobs.touch_file"]["trigger"] == "date"
    assert jobs["scheduler.sync_dated_jobs"]["next_run_at"] is not None  # the server's record

    ran = ngshare_command(db_url, tmp_path, "run", "testjobs.touch_file")
    assert ran.returncode == 0, ran.stderr
    assert mark.read_text() == "ran\n"
    assert " ok" in ran.stdout

    failed = ngshare_command(db_url, tmp_path, "run", "testjobs.fail_loudly", "json")
    assert failed.returncode == 1
    assert json.loads(failed.stdout)["last_error"] == "RuntimeError: nope"

    declared = ngshare_command(db_url, tmp_path, "run", "scheduler.prune_job_runs")
    assert declared.returncode == 0, declared.stderr

    unknown = ngshare_command(db_url, tmp_path, "run", "testjobs.touch_file")
    assert unknown.returncode == 1  # it has run: a dated job runs once
    assert "no job 'testjobs.touch_file'" in unknown.stderr
    assert ngshare_command(db_url, tmp_path, "bogus").returncode == 2

    async def check():
        ctx = await servers.start()  # what the server's admins see afterwards
        records = {job["id"]: job for job in await ctx.scheduler.jobs()}
        assert records["testjobs.touch_file"]["run_count"] == 1
        assert records["testjobs.touch_file"]["last_success"] is True
        assert records["testjobs.fail_loudly"]["last_success"] is False
        assert records["scheduler.prune_job_runs"]["run_count"] == 1
        assert await pending_rows(ctx) == []
        await asyncio.sleep(0.2)
        assert mark.read_text() == "ran\n"

    io_loop.run_sync(check)


# -- schema ------------------------------------------------------------------------------


def test_the_scheduler_tables_match_their_migration(servers, io_loop):
    ctx, _ = servers.build()
    try:
        with ctx.db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), SchedulerBase.metadata)
        own = [d for d in diff if _table_name(d) in SchedulerBase.metadata.tables]
        assert own == [], own
        assert {"scheduler_jobs", "scheduler_job_runs"} <= set(
            sa.inspect(ctx.db.engine).get_table_names()
        )
    finally:
        ctx.close()


def _table_name(diff) -> str | None:
    item = diff[0] if isinstance(diff, list) else diff
    for part in item[1:]:
        table = getattr(part, "table", None)
        if table is not None:
            return table.name
        name = getattr(part, "name", None)
        if name:
            return name
    return None


def test_the_scheduler_is_its_own_branch_on_the_core(tmp_path):
    cfg = migrations.alembic_config("sqlite:///" + str(tmp_path / "x.db"), [])
    script = ScriptDirectory.from_config(cfg)
    head = script.get_revision("scheduler@head")
    assert (head.revision, head.down_revision) == ("5c0000000002", "5c0000000001")
    revision = script.get_revision("5c0000000001")
    assert revision.down_revision is None
    assert revision.dependencies == "c0de00000001"
    assert revision.branch_labels == {"scheduler"}
    assert JobRun.__tablename__ == "scheduler_job_runs"
