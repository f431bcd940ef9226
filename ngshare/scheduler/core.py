"""The scheduler itself: :class:`Job`, :class:`Scheduler`, its errors and its service hooks.

:mod:`ngshare.scheduler` re-exports the public names; the HTTP handlers, the
``ngshare jobs`` command and the ``service`` plugin object build on this module.

Design notes (why it is built this way):

* One APScheduler 3 ``AsyncIOScheduler`` with its in-memory job store runs
  everything. Dated jobs are *persisted by ngshare*, in its own table
  ``scheduler_jobs``, and mirrored into that in-memory store. APScheduler's
  ``SQLAlchemyJobStore`` was not used because (1) APScheduler calls job stores
  synchronously from its loop callback, so every wake-up would run database
  I/O on the IOLoop; (2) it stores pickles, which tie rows to APScheduler's
  internal format (3.x and 4.x differ) and make loading a row executing code;
  (3) it cannot hold the server context, which is not picklable. Here rows hold
  a ``"module:function"`` reference and JSON arguments, every query goes
  through :meth:`Database.run`, and the context is injected when a job runs.
* Every run is *claimed* before it runs (:mod:`ngshare.scheduler.claims`):
  a row per (job id, time the run was due) in ``scheduler_run_claims``,
  inserted with ``ON CONFLICT DO NOTHING``. Replicas' timers fire together
  (interval triggers are aligned to a fixed origin, not to each server's
  start), all try to insert, one wins and runs the job; the row records its
  ``c.NgShare.replica_id``. A dated job's row in ``scheduler_jobs`` is
  deleted in the claiming transaction, only if it still holds the run time
  this process scheduled.
* The claimant holds a lease of ``c.NgShare.job_lease_seconds``, renewed
  every third of it while the run goes on. Every replica looks for runs
  whose lease ran out unfinished (their server died, or stopped in the
  middle) as often, and takes them over: a killed replica's run happens
  elsewhere within about one lease. A periodic job's abandoned run is
  dropped instead when a later run of it was claimed meanwhile (coalesce).
  So a run happens at least once, and once per claim; a run that fails is
  recorded, not retried.
* Other processes may add or move dated jobs (``ngshare jobs run`` of a job
  that schedules another, a second replica); ``scheduler.sync_dated_jobs``
  picks such changes up every :data:`SYNC_INTERVAL_SECONDS`.
* Misfires follow APScheduler's rules: a run later than its job's
  ``misfire_grace_time`` is skipped (and recorded as missed); with
  ``coalesce`` a backlog of runs collapses into one.

Only the IOLoop thread touches a :class:`Scheduler`.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import os
import pkgutil
import re
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from apscheduler.util import iscoroutinefunction_partial

from ngshare.models import utcnow
from ngshare.scheduler import claims
from ngshare.scheduler.models import JOB_ID_LENGTH, JobRun, ScheduledJob
from ngshare.scheduler.store import (
    _MISSING,
    _claim_dated_job,
    _delete_dated_job,
    _get_dated_job,
    _load_records,
    _move_dated_job,
    _pending_dated_jobs,
    _prune_job_runs,
    _record_missed,
    _record_next_runs,
    _record_run,
    _save_dated_job,
)

if TYPE_CHECKING:
    from ngshare.context import ServerContext

TriggerKind = Literal["interval", "cron", "date"]
T = TypeVar("T")
JobFunc = Callable[["ServerContext"], Awaitable[None]]

ERR_NOT_ADMIN = "Permission denied (not admin)"
ERR_JOB_NOT_FOUND = "Job not found"
ERR_JOB_RUNNING = "Job is already running"

#: How often a server looks for dated jobs added or moved by other processes.
SYNC_INTERVAL_SECONDS = 30
#: Run records of jobs that no longer exist are kept this long (then pruned).
RUN_RECORD_RETENTION = timedelta(days=30)
#: How long stopping waits for running jobs before cancelling them.
STOP_TIMEOUT_SECONDS = 10.0
#: Recorded error messages are cut to this length (the log has the rest).
MAX_ERROR_LENGTH = 2000
#: Interval triggers count from here, so that replicas' timers fire at the same moments.
INTERVAL_ORIGIN = datetime(2000, 1, 1, tzinfo=timezone.utc)
#: Claims of finished runs are kept this long (``{prefix}jobs/<id>`` shows the recent ones).
RUN_CLAIM_RETENTION = timedelta(days=2)
#: How many recent runs ``describe`` lists.
RECENT_RUNS = 10

#: ``<plugin>.<verb>_<object>``, as STYLE.md §4 asks.
DECLARED_ID_RE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
#: Dated jobs may add ``:<key>`` so that one job function has one row per object.
DATED_ID_RE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*(:[A-Za-z0-9_.:@+=-]+)?$")

_TRIGGERS: dict[str, type[BaseTrigger]] = {
    "interval": IntervalTrigger,
    "cron": CronTrigger,
    "date": DateTrigger,
}


def _is_async(func: Any) -> bool:
    return callable(func) and (
        inspect.iscoroutinefunction(func)
        or iscoroutinefunction_partial(func)
        or inspect.iscoroutinefunction(getattr(func, "__call__", None))  # noqa: B004
    )


class SchedulerError(ValueError):
    """A job declaration or request the scheduler refuses; the message says why."""


class JobNotFoundError(KeyError):
    """No declared job and no pending dated job has this id."""


class JobRunningError(RuntimeError):
    """The job already runs as many times at once as its ``max_instances`` allows."""


@dataclass(frozen=True)
class Job:
    """A job a plugin declares (``Plugin.jobs``); it runs while the server runs.

    :arg id: ``<plugin>.<verb>_<object>``; the function is named after the suffix.
    :arg func: ``async def f(ctx)``, given the server context.
    :arg trigger: ``"interval"``, ``"cron"`` or ``"date"`` (APScheduler's triggers).
    :arg trigger_args: the trigger's arguments, e.g. ``{"minutes": 5}`` or
        ``{"hour": 3, "minute": 17}``. Times are UTC unless ``"timezone"`` is given.
    :arg misfire_grace_time: seconds a late run may still start; later ones are
        skipped and recorded as missed. ``None``: no limit.
    :arg coalesce: run a backlog of missed runs (the loop was busy) once, not each.
    :arg max_instances: how many runs of this job may overlap.

    The trigger is built when the Job is made, so a bad ``trigger_args`` fails
    when the plugin is imported, not hours later.

    .. versionadded:: 0.7
    """

    id: str
    func: JobFunc
    trigger: TriggerKind
    trigger_args: dict[str, Any]
    misfire_grace_time: int | None = 60
    coalesce: bool = True
    max_instances: int = 1
    _trigger: BaseTrigger = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not DECLARED_ID_RE.match(self.id):
            raise SchedulerError(f"job id {self.id!r} must look like '<plugin>.<verb>_<object>'")
        if self.trigger not in _TRIGGERS:
            raise SchedulerError(f"job {self.id}: trigger must be one of {', '.join(_TRIGGERS)}")
        if not _is_async(self.func):
            raise SchedulerError(f"job {self.id}: func must be an async function f(ctx)")
        if self.max_instances < 1:
            raise SchedulerError(f"job {self.id}: max_instances must be at least 1")
        try:
            trigger = self.make_trigger()
        except (TypeError, ValueError) as e:
            raise SchedulerError(f"job {self.id}: bad trigger_args: {e}") from e
        object.__setattr__(self, "_trigger", trigger)

    def make_trigger(self) -> BaseTrigger:
        """A new APScheduler trigger.

        An interval counts from :data:`INTERVAL_ORIGIN` unless ``start_date``
        is given: every replica's timer then fires at the same moments, and
        their claims of one run meet on one row.
        """
        args: dict[str, Any] = {"timezone": timezone.utc, **self.trigger_args}
        if self.trigger == "interval":
            args.setdefault("start_date", INTERVAL_ORIGIN)
        return _TRIGGERS[self.trigger](**args)

    @property
    def schedule(self) -> str:
        """The trigger as APScheduler describes it, e.g. ``interval[0:05:00]``."""
        return str(self._trigger)


async def sync_dated_jobs(ctx: ServerContext) -> None:
    """Pick up dated jobs that other processes added, moved or removed."""
    await ctx.scheduler.reload()


async def prune_job_runs(ctx: ServerContext) -> None:
    """Forget run records of jobs that no longer exist, once they are old."""
    declared = list(ctx.scheduler.declared)
    n = await ctx.db.run(_prune_job_runs, declared, utcnow() - RUN_RECORD_RETENTION)
    if n:
        ctx.log.info("scheduler.prune_job_runs: removed %d old run record(s)", n)
    n = await ctx.db.run(claims.prune, utcnow() - RUN_CLAIM_RETENTION)
    if n:
        ctx.log.info("scheduler.prune_job_runs: removed %d old run claim(s)", n)


#: The scheduler's own jobs, declared like any plugin's.
CORE_JOBS: list[Job] = [
    Job(
        "scheduler.sync_dated_jobs", sync_dated_jobs, "interval", {"seconds": SYNC_INTERVAL_SECONDS}
    ),
    Job("scheduler.prune_job_runs", prune_job_runs, "cron", {"hour": 3, "minute": 17}),
]


def declared_jobs(ctx: ServerContext) -> list[Job]:
    """Every core service's and loaded plugin's ``jobs``, checked.

    Raises:
        SchedulerError: a job that is not a :class:`Job`, an id outside its
            plugin's name, or two jobs with one id.
    """
    jobs: list[Job] = []
    for plugin in [*ctx.services, *ctx.plugins]:
        for job in getattr(plugin, "jobs", None) or []:
            if not isinstance(job, Job):
                raise SchedulerError(f"plugin {plugin.name!r}: jobs must be Job objects: {job!r}")
            if not job.id.startswith(plugin.name + "."):
                raise SchedulerError(
                    f"plugin {plugin.name!r}: job id {job.id!r} must start with "
                    f"{plugin.name + '.'!r}"
                )
            jobs.append(job)
    seen: set[str] = set()
    for job in jobs:
        if job.id in seen:
            raise SchedulerError(f"two jobs are declared with the id {job.id!r}")
        seen.add(job.id)
    return jobs


class Scheduler:
    """The server's scheduler (``ctx.scheduler``): declared jobs, dated jobs, run records.

    :arg ctx: the server context, given to every job function.
    :arg jobs: the declared jobs (see :func:`declared_jobs`).
    :arg timer: ``False`` makes a scheduler that runs nothing by itself: the
        ``ngshare jobs`` command uses one to list, schedule and run jobs on request.
    """

    def __init__(self, ctx: ServerContext, jobs: list[Job], *, timer: bool = True) -> None:
        self.ctx = ctx
        self.declared: dict[str, Job] = {job.id: job for job in jobs}
        self.timer = timer
        self.started = False
        # APScheduler's own INFO lines say "executed successfully" even for runs
        # that failed (ngshare catches and records errors); ours start with the job id.
        apscheduler_log = logging.getLogger("apscheduler")
        if apscheduler_log.level == logging.NOTSET:
            apscheduler_log.setLevel(logging.WARNING)
        self._aps = AsyncIOScheduler(timezone=timezone.utc)
        self._aps.add_listener(self._on_event, EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
        #: dated jobs handed to APScheduler: id -> (run_at, misfire_grace_time)
        self._dated: dict[str, tuple[datetime, int | None]] = {}
        self._running: dict[str, int] = {}
        self._job_tasks: set[asyncio.Task] = set()
        self._bookkeeping: set[asyncio.Task] = set()
        #: Recorded as the holder of every run this server claims (``{prefix}jobs`` shows it).
        self.replica_id: str = getattr(ctx.config, "replica_id", "") or _default_replica_id()
        self.lease_seconds: float = float(getattr(ctx.config, "job_lease_seconds", 60.0))
        self._watchdog: asyncio.Task | None = None
        self._last_due: dict[str, datetime] = {}

    # -- life cycle ---------------------------------------------------------

    async def start(self) -> None:
        """Load the dated jobs from the database and start the timer on this loop."""
        if self.started:
            return
        self.started = True
        if not self.timer:
            return
        for job in self.declared.values():
            self._aps.add_job(
                self._run_declared,
                trigger=job.make_trigger(),
                args=(job.id,),
                id=job.id,
                name=job.id,
                misfire_grace_time=job.misfire_grace_time,
                coalesce=job.coalesce,
                max_instances=job.max_instances,
                replace_existing=True,
            )
        for job_id, run_at, grace in await self.ctx.db.run(_pending_dated_jobs):
            self._add_dated(job_id, run_at, grace)
        self._aps.start()
        self._watchdog = asyncio.get_running_loop().create_task(self._take_over_abandoned_runs())
        next_runs = {job_id: self._next_declared_run(job_id) for job_id in self.declared}
        await self.ctx.db.run(_record_next_runs, next_runs)
        self.ctx.log.info(
            "scheduler: started with %d declared and %d dated job(s)",
            len(self.declared),
            len(self._dated),
        )

    async def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """Start no new runs, let running ones finish (up to ``timeout``), then shut down.

        Runs still going after ``timeout`` are cancelled and recorded as such.
        """
        if not self.started:
            return
        self.started = False
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        if not self._aps.running:
            return
        self._aps.pause()
        pending = self._job_tasks | self._bookkeeping
        if pending:
            await asyncio.wait(pending, timeout=timeout)
        self._aps.shutdown(wait=False)  # runs on the next loop iteration; cancels stragglers
        await asyncio.sleep(0)
        pending = self._job_tasks | self._bookkeeping
        if pending:
            await asyncio.wait(pending, timeout=timeout)
        self.ctx.log.info("scheduler: stopped")

    # -- dated jobs -----------------------------------------------------------

    async def schedule_at(
        self,
        job_id: str,
        run_at: datetime,
        func_ref: str,
        kwargs: dict[str, Any] | None = None,
        *,
        misfire_grace_time: int | None = 60,
    ) -> None:
        """Run ``func_ref`` with ``kwargs`` once at ``run_at``, even across restarts.

        Scheduling an id again replaces its pending run.

        Args:
            job_id: ``<plugin>.<verb>_<object>``, optionally ``:<key>`` (one row per key).
            run_at: when to run; a naive datetime is UTC.
            func_ref: ``"package.module:function"`` naming ``async def f(ctx, **kwargs)``.
            kwargs: JSON-serialisable keyword arguments (they are stored as JSON,
                and the function gets them back from JSON even without a restart).
            misfire_grace_time: seconds a late run may still start (the server
                was down at ``run_at``); later it is skipped and recorded as
                missed. ``None``: run however late.

        Raises:
            SchedulerError: a bad id, a declared job's id, a reference that is not
                an async function, or arguments that are not JSON.
        """
        if len(job_id) > JOB_ID_LENGTH or not DATED_ID_RE.match(job_id):
            raise SchedulerError(
                f"job id {job_id!r} must look like '<plugin>.<verb>_<object>[:<key>]'"
            )
        if job_id in self.declared:
            raise SchedulerError(f"job id {job_id!r} belongs to a declared job")
        resolve_job_function(func_ref)
        try:
            stored_kwargs = json.loads(json.dumps(kwargs or {}))
        except (TypeError, ValueError) as e:
            raise SchedulerError(f"job {job_id}: kwargs must be JSON-serialisable: {e}") from e
        when = naive_utc(run_at)
        await self.ctx.db.run(
            _save_dated_job, job_id, func_ref, stored_kwargs, when, misfire_grace_time
        )
        self._add_dated(job_id, when, misfire_grace_time)
        self.ctx.log.info("%s: scheduled at %s UTC (%s)", job_id, when, func_ref)

    async def reschedule(self, job_id: str, run_at: datetime) -> bool:
        """Move a pending dated job to ``run_at``; False if there is none with this id."""
        when = naive_utc(run_at)
        grace = await self.ctx.db.run(_move_dated_job, job_id, when)
        if grace is _MISSING:
            return False
        self._add_dated(job_id, when, grace)
        self.ctx.log.info("%s: rescheduled to %s UTC", job_id, when)
        return True

    async def cancel(self, job_id: str) -> bool:
        """Drop a pending dated job; False if there is none with this id.

        Raises:
            SchedulerError: ``job_id`` is a declared job (those run while their
                plugin is enabled).
        """
        if job_id in self.declared:
            raise SchedulerError(f"job {job_id} is declared by a plugin and cannot be cancelled")
        found = await self.ctx.db.run(_delete_dated_job, job_id)
        self._remove_dated(job_id)
        if found:
            self.ctx.log.info("%s: cancelled", job_id)
        return found

    async def reload(self) -> None:
        """Bring the timer in line with ``scheduler_jobs`` (changed by other processes)."""
        if not self.timer or not self.started:
            return
        before = dict(self._dated)
        rows = {
            job_id: (run_at, grace)
            for job_id, run_at, grace in await self.ctx.db.run(_pending_dated_jobs)
        }
        for job_id, (run_at, grace) in rows.items():
            if self._dated.get(job_id) != before.get(job_id) or self._running.get(job_id):
                continue  # changed in this process while we read: that is newer
            if job_id not in self._dated or self._dated[job_id][0] != run_at:
                self._add_dated(job_id, run_at, grace)
        for job_id, entry in before.items():
            if job_id not in rows and self._dated.get(job_id) == entry:
                self._remove_dated(job_id)

    def _add_dated(self, job_id: str, run_at: datetime, grace: int | None) -> None:
        if not self.timer or not self.started:
            return  # start() loads it from the database
        self._dated[job_id] = (run_at, grace)
        self._aps.add_job(
            self._run_dated,
            trigger=DateTrigger(run_date=run_at.replace(tzinfo=timezone.utc)),
            args=(job_id, run_at),
            id=job_id,
            name=job_id,
            misfire_grace_time=grace,
            coalesce=True,
            max_instances=1,
            replace_existing=True,
        )

    def _remove_dated(self, job_id: str) -> None:
        if self._dated.pop(job_id, None) is None:
            return
        try:
            self._aps.remove_job(job_id)
        except JobLookupError:
            pass  # it has just fired

    # -- running --------------------------------------------------------------

    async def run_now(self, job_id: str) -> dict[str, Any]:
        """Run a declared or pending dated job at once, wait for it, return its record.

        A dated job run this way is done: it does not run again at its time.
        The job's own failure is in the returned record, not raised.

        Raises:
            JobNotFoundError: no declared job and no pending dated job has this id.
            JobRunningError: the job is running and may not overlap itself.
        """
        job = self.declared.get(job_id)
        if job is not None:
            if self._running.get(job_id, 0) >= job.max_instances:
                raise JobRunningError(job_id)
            run_at = utcnow()  # a run by hand is a run of its own, due now
            exclusive = job.max_instances == 1
            if not await self._claim(job_id, run_at, exclusive):
                raise JobRunningError(job_id)  # it runs on another replica
            await self._execute(job_id, job.func, {}, self._next_declared_run(job_id), run_at)
        else:
            if self._running.get(job_id):
                raise JobRunningError(job_id)
            pending = await self.ctx.db.run(_get_dated_job, job_id)
            if pending is None:
                raise JobNotFoundError(job_id)
            self._remove_dated(job_id)
            if not await self._run_dated(job_id, pending):
                raise JobNotFoundError(job_id)  # another process claimed it meanwhile
        return await self.describe(job_id)

    async def run_once(
        self,
        key: str,
        run_at: datetime,
        work: Callable[[], Awaitable[T]],
        *,
        redo: claims.Redo = "never",
    ) -> T | None:
        """Run ``work()`` if this server claims the run ``(key, run_at)``; ``None`` if not.

        For work with its own schedule inside a job, such as "once per poll
        window" (``run_at`` = the window's start): of all replicas, one runs
        each window, never two runs of ``key`` at once, and the claim records
        which replica ran it and whether it failed (:meth:`run_outcome`).
        ``redo="failed"`` lets a failed run be claimed again (a retry);
        ``redo="any"`` runs even a finished one again (a forced run).

        .. versionadded:: 0.7
        """
        when = naive_utc(run_at)
        claimed = await self.ctx.db.run(
            claims.claim, key, when, self.replica_id, self.lease_seconds, True, None, None, redo
        )
        if not claimed:
            return None
        renewal = asyncio.get_running_loop().create_task(self._renew(key, when))
        try:
            result = await work()
        except asyncio.CancelledError:  # stopping: another replica takes the run over
            renewal.cancel()
            await asyncio.shield(self.ctx.db.run(claims.release, key, when, self.replica_id))
            raise
        except Exception as e:
            renewal.cancel()
            error = _error_message(e)
            await asyncio.shield(self.ctx.db.run(claims.finish, key, when, self.replica_id, error))
            raise
        renewal.cancel()
        await asyncio.shield(self.ctx.db.run(claims.finish, key, when, self.replica_id, None))
        return result

    async def run_outcome(self, key: str, run_at: datetime) -> dict[str, Any] | None:
        """The claim of one :meth:`run_once` run: replica, attempts, finished, success, error."""
        row = await self.ctx.db.run(claims.outcome, key, naive_utc(run_at))
        if row is None:
            return None
        return {
            "replica": row.holder,
            "attempts": row.attempts,
            "finished_at": row.finished_at,
            "success": row.success,
            "error": row.error,
        }

    async def _run_declared(self, job_id: str) -> None:
        """APScheduler's entry point for declared jobs."""
        job = self.declared[job_id]
        if self._running.get(job_id, 0) >= job.max_instances:
            self.ctx.log.warning("%s: skipped: already running (run by hand)", job_id)
            return
        due = naive_utc(self._due(job))
        if not await self._claim(job_id, due, job.max_instances == 1):
            self.ctx.log.debug("%s: run due at %s is another replica's", job_id, due)
            return
        await self._execute(job_id, job.func, {}, self._next_declared_run(job_id), due)

    def _due(self, job: Job) -> datetime:
        """When the run APScheduler is starting now was due (the key of its claim).

        Without ``coalesce`` a backlog is paid run by run: each call is the
        next fire time after the previous one this server ran.
        """
        due = due_time(job._trigger, datetime.now(timezone.utc))
        last = self._last_due.get(job.id)
        if not job.coalesce and last is not None and last < due:
            following = job._trigger.get_next_fire_time(last, last + timedelta(microseconds=1))
            if following is not None and following <= due:
                due = following
        self._last_due[job.id] = due
        return due

    async def _claim(self, job_id: str, run_at: datetime, exclusive: bool) -> bool:
        return await self.ctx.db.run(
            claims.claim, job_id, run_at, self.replica_id, self.lease_seconds, exclusive
        )

    async def _run_dated(self, job_id: str, run_at: datetime) -> bool:
        """APScheduler's entry point for dated jobs: claim the row, then run.

        Returns False when the job was not run: cancelled, moved, or run by
        another process since this one scheduled it.
        """
        if self._dated.get(job_id, (None,))[0] == run_at:
            del self._dated[job_id]
        with self._tracked(job_id):  # from the claim on, so that reload() leaves it alone
            claimed = await self.ctx.db.run(
                _claim_dated_job, job_id, run_at, self.replica_id, self.lease_seconds
            )
            if claimed is None:
                self.ctx.log.debug("%s: not run: cancelled, moved or run elsewhere", job_id)
                return False
            func_ref, kwargs = claimed
            try:
                func = resolve_job_function(func_ref)
            except SchedulerError as e:
                self.ctx.log.error("%s: not run: %s", job_id, e)
                await self._record(job_id, utcnow(), 0.0, str(e), None, run_at)
                return True
            await self._execute(job_id, func, kwargs, None, run_at)
            return True

    # -- runs abandoned by other replicas ----------------------------------------

    async def _take_over_abandoned_runs(self) -> None:
        """Every third of a lease: run the runs whose replica died holding them."""
        period = max(0.5, self.lease_seconds / 3)
        while True:
            await asyncio.sleep(period)
            try:
                await self._take_over_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database may be away for a moment: try again later
                self.ctx.log.exception("scheduler: could not look for abandoned runs")

    async def _take_over_once(self) -> None:
        for row in await self.ctx.db.run(claims.abandoned):
            job = self.declared.get(row.job_id)
            if job is None and row.func_ref is None:
                continue  # a declared job of a plugin this server does not run
            if self._running.get(row.job_id, 0) >= (job.max_instances if job else 1):
                continue
            if job is not None and job.coalesce:
                if await self.ctx.db.run(claims.supersede, row.job_id, row.run_at):
                    continue
            taken = await self.ctx.db.run(
                claims.take_over,
                row.job_id,
                row.run_at,
                self.replica_id,
                self.lease_seconds,
            )
            if not taken:
                continue  # another replica was quicker
            self.ctx.log.warning(
                "%s: taking over the run due at %s UTC from %s, whose lease ran out",
                row.job_id,
                row.run_at,
                row.holder,
            )
            if job is not None:
                run = self._execute(
                    row.job_id, job.func, {}, self._next_declared_run(row.job_id), row.run_at
                )
            else:
                run = self._execute_taken_dated(row.job_id, row.func_ref, row.kwargs, row.run_at)
            task = asyncio.get_running_loop().create_task(run)
            self._bookkeeping.add(task)
            task.add_done_callback(self._bookkeeping.discard)

    async def _execute_taken_dated(
        self, job_id: str, func_ref: str, kwargs: dict[str, Any] | None, run_at: datetime
    ) -> None:
        try:
            func = resolve_job_function(func_ref)
        except SchedulerError as e:
            self.ctx.log.error("%s: not run: %s", job_id, e)
            await self._record(job_id, utcnow(), 0.0, str(e), None, run_at)
            return
        await self._execute(job_id, func, dict(kwargs or {}), None, run_at)

    async def _execute(
        self,
        job_id: str,
        func: Callable[..., Awaitable[Any]],
        kwargs: dict[str, Any],
        next_run_at: datetime | None,
        run_at: datetime | None = None,
    ) -> None:
        """Run one job function with the context, then record how it went.

        ``run_at`` names this server's claim of the run: its lease is renewed
        while the function runs, and the claim is closed with the record.
        """
        started_at, t0 = utcnow(), time.monotonic()
        error: str | None = None
        self.ctx.log.debug("%s: started", job_id)
        renewal = None
        if run_at is not None:
            renewal = asyncio.get_running_loop().create_task(self._renew(job_id, run_at))
        with self._tracked(job_id):
            try:
                await func(self.ctx, **kwargs)
            except asyncio.CancelledError:
                error = "cancelled: the server stopped while the job ran"
                self.ctx.log.warning("%s: %s", job_id, error)
                if renewal is not None:
                    renewal.cancel()
                    # another replica takes the unfinished run over
                    await asyncio.shield(
                        self.ctx.db.run(claims.release, job_id, run_at, self.replica_id)
                    )
                await self._record(job_id, started_at, time.monotonic() - t0, error, next_run_at)
                raise
            except Exception as e:
                error = _error_message(e)
                self.ctx.log.error(
                    "%s: failed after %.3fs: %s",
                    job_id,
                    time.monotonic() - t0,
                    error,
                    exc_info=True,
                )
            else:
                self.ctx.log.debug("%s: done in %.3fs", job_id, time.monotonic() - t0)
            finally:
                if renewal is not None:
                    renewal.cancel()
            duration = time.monotonic() - t0
            await self._record(job_id, started_at, duration, error, next_run_at, run_at)

    async def _renew(self, job_id: str, run_at: datetime) -> None:
        """Keep this server's lease on a run alive while it runs."""
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            try:
                mine = await self.ctx.db.run(
                    claims.renew, job_id, run_at, self.replica_id, self.lease_seconds
                )
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - try again; the lease outlasts two misses
                self.ctx.log.warning("%s: could not renew the run's lease", job_id, exc_info=True)
                continue
            if not mine:
                self.ctx.log.error(
                    "%s: the run due at %s UTC was taken over by another replica "
                    "(this server missed its lease renewals)",
                    job_id,
                    run_at,
                )
                return

    async def _record(
        self,
        job_id: str,
        started_at: datetime,
        duration: float,
        error: str | None,
        next_run_at: datetime | None,
        run_at: datetime | None = None,
    ) -> None:
        # A scheduler that runs no timer does not know the next run: keep the server's.
        keep_next = job_id in self.declared and not self.timer
        try:
            await self.ctx.db.run(
                _record_run,
                job_id,
                started_at,
                duration,
                error,
                next_run_at,
                keep_next,
                self.replica_id,
                run_at,
            )
        except Exception:  # a lost record must not take the scheduler down
            self.ctx.log.exception("%s: could not record the run", job_id)

    @contextmanager
    def _tracked(self, job_id: str) -> Iterator[None]:
        """Count a run of ``job_id`` (for max_instances) and remember its task (for stop)."""
        task = asyncio.current_task()
        self._running[job_id] = self._running.get(job_id, 0) + 1
        if task is not None:
            self._job_tasks.add(task)
        try:
            yield
        finally:
            self._running[job_id] -= 1
            if not self._running[job_id]:
                del self._running[job_id]
            if task is not None and job_id not in self._running:
                self._job_tasks.discard(task)

    def _on_event(self, event: JobExecutionEvent) -> None:
        """APScheduler listener: record missed runs, log skipped ones."""
        if event.code == EVENT_JOB_MAX_INSTANCES:
            self.ctx.log.warning("%s: skipped: the previous run is still going", event.job_id)
            return
        due = naive_utc(event.scheduled_run_time)
        declared = self.declared.get(event.job_id)
        dated_run_at: datetime | None = None
        if declared is not None:
            grace = declared.misfire_grace_time
        else:
            dated_run_at = due  # the run time this process scheduled, which the claim checks
            entry = self._dated.get(event.job_id)
            grace = entry[1] if entry is not None and entry[0] == due else None
            if grace is not None:
                del self._dated[event.job_id]
        late = (utcnow() - due).total_seconds()
        message = (
            f"missed: due at {due.isoformat(sep=' ')} UTC, {late:.1f} s late, "
            "past its misfire grace time" + (f" of {grace} s" if grace is not None else "")
        )
        self.ctx.log.warning("%s: %s", event.job_id, message)
        next_run_at = self._next_declared_run(event.job_id) if declared else None
        task = asyncio.get_running_loop().create_task(
            self.ctx.db.run(_record_missed, event.job_id, due, message, next_run_at, dated_run_at)
        )
        self._bookkeeping.add(task)
        task.add_done_callback(self._bookkeeping_done)

    def _bookkeeping_done(self, task: asyncio.Task) -> None:
        self._bookkeeping.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.ctx.log.error("scheduler: could not record a missed run: %r", task.exception())

    def _next_declared_run(self, job_id: str) -> datetime | None:
        if not self._aps.running:
            return None
        aps_job = self._aps.get_job(job_id)
        if aps_job is None or aps_job.next_run_time is None:
            return None
        return naive_utc(aps_job.next_run_time)

    # -- what admins see ------------------------------------------------------

    async def jobs(self) -> list[dict[str, Any]]:
        """Every known job id: declared, pending dated, or with a run record."""
        runs, pending = await self.ctx.db.run(_load_records, None)
        ids = sorted(set(self.declared) | set(pending) | set(runs))
        return [self._describe(job_id, runs.get(job_id), pending.get(job_id)) for job_id in ids]

    async def describe(self, job_id: str) -> dict[str, Any]:
        """One job as :meth:`jobs` lists it."""
        runs, pending = await self.ctx.db.run(_load_records, job_id)
        return self._describe(job_id, runs.get(job_id), pending.get(job_id))

    async def recent_runs(self, job_id: str, limit: int = RECENT_RUNS) -> list[dict[str, Any]]:
        """The newest claimed runs of ``job_id``: when due, which replica ran it, how it went."""
        rows = await self.ctx.db.run(claims.recent, job_id, limit)
        for row in rows:
            row["run_at"], row["finished_at"] = iso_utc(row["run_at"]), iso_utc(row["finished_at"])
        return rows

    def _describe(
        self, job_id: str, run: JobRun | None, pending: ScheduledJob | None
    ) -> dict[str, Any]:
        job = self.declared.get(job_id)
        next_run_at = run.next_run_at if run is not None else None
        if job is not None:
            trigger, schedule = job.trigger, job.schedule
            func = _func_ref_of(job.func)
            if self.timer and self.started:
                next_run_at = self._next_declared_run(job_id)
        elif pending is not None:
            trigger, func = "date", pending.func_ref
            schedule = f"date[{pending.run_at.isoformat(sep=' ')} UTC]"
            next_run_at = pending.run_at
        else:
            trigger = schedule = func = None  # a dated job that has run, or a removed plugin's
            next_run_at = None
        return {
            "id": job_id,
            "declared": job is not None,
            "trigger": trigger,
            "schedule": schedule,
            "func": func,
            "next_run_at": iso_utc(next_run_at),
            "last_run_at": iso_utc(run.last_run_at) if run else None,
            "last_duration_seconds": run.last_duration_seconds if run else None,
            "last_success": run.last_success if run else None,
            "last_error": run.last_error if run else None,
            "run_count": run.run_count if run else 0,
            "running": bool(self._running.get(job_id)),
            "last_replica": run.last_replica if run else None,
        }


# -- core service hooks (see ngshare.app.CORE_SERVICES) -------------------------


async def start(ctx: ServerContext) -> None:
    """Create ``ctx.scheduler`` from the plugins' declared jobs (the timer starts in :func:`ready`).

    A scheduler already on the context (the ``ngshare jobs`` command's) is kept.
    Plugins' startup hooks may already call ``schedule_at``: the rows are
    written and picked up when the timer starts.
    """
    if ctx.scheduler is None:
        ctx.scheduler = Scheduler(ctx, declared_jobs(ctx))


async def ready(ctx: ServerContext) -> None:
    """Start the timer once every plugin has started, so no job runs before its plugin is up."""
    await ctx.scheduler.start()


async def stop(ctx: ServerContext) -> None:
    """Stop the scheduler: let running jobs finish, then shut the timer down."""
    if ctx.scheduler is not None:
        await ctx.scheduler.stop()


# -- small conversions --------------------------------------------------------------


def resolve_job_function(func_ref: str) -> Callable[..., Awaitable[Any]]:
    """The ``async def`` that ``"package.module:function"`` names.

    Raises:
        SchedulerError: the reference is malformed, cannot be imported, or is not async.
    """
    if func_ref.count(":") != 1 or len(func_ref) > 255:
        raise SchedulerError(f"func_ref {func_ref!r} must look like 'package.module:function'")
    try:
        func = pkgutil.resolve_name(func_ref)
    except (ImportError, AttributeError, ValueError) as e:
        raise SchedulerError(f"func_ref {func_ref!r} cannot be imported: {e!r}") from e
    if not _is_async(func):
        raise SchedulerError(f"func_ref {func_ref!r} is not an async function f(ctx, **kwargs)")
    return func


def due_time(trigger: BaseTrigger, now: datetime) -> datetime:
    """When the run that ``trigger`` fires at ``now`` (aware) was due: its latest fire time <= now.

    Every replica computes the same answer for one run, which is the key of its claim.
    """
    if isinstance(trigger, IntervalTrigger):
        elapsed = (now - trigger.start_date).total_seconds()
        steps = int(elapsed // trigger.interval_length)
        return trigger.start_date + timedelta(seconds=steps * trigger.interval_length)
    due = None
    when = trigger.get_next_fire_time(None, now - timedelta(hours=1))
    for _ in range(100_000):
        if when is None or when > now:
            break
        due = when
        when = trigger.get_next_fire_time(when, when + timedelta(microseconds=1))
    return due if due is not None else now.replace(microsecond=0)


def _default_replica_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def naive_utc(value: datetime) -> datetime:
    """Naive UTC, as ngshare stores datetimes; a naive value is taken to be UTC already."""
    if value.tzinfo is None:
        return value
    return value.astimezone(timezone.utc).replace(tzinfo=None)


def iso_utc(value: datetime | None) -> str | None:
    """ISO 8601 with a ``Z``, from naive UTC."""
    return None if value is None else value.isoformat(timespec="microseconds") + "Z"


def _func_ref_of(func: Any) -> str:
    """``module:qualname`` of a function, or of a callable object's class."""
    named = func if hasattr(func, "__qualname__") else type(func)
    return f"{named.__module__}:{named.__qualname__}"


def _error_message(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return text[:MAX_ERROR_LENGTH]
