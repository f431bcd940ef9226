"""The core job scheduler: periodic and dated jobs on the server's own asyncio/Tornado loop.

Plugins declare periodic jobs on their :class:`~ngshare.plugin.Plugin`; the
scheduler starts them with the server and stops them with it::

    async def expire_mentor_tickets(ctx: ServerContext) -> None:
        await ctx.db.run(delete_expired_tickets)

    expire = Job("vivere.expire_mentor_tickets", expire_mentor_tickets, "interval", {"minutes": 5})
    plugin = Plugin(name="vivere", jobs=[expire])

Work due at one moment, which must happen even if the server restarts in
between, is a *dated job*, stored in the database::

    await ctx.scheduler.schedule_at(
        "vivere.close_poll:17", closes_at, "ngshare_vivere.jobs:close_poll", {"poll_id": 17}
    )

    # ngshare_vivere/jobs.py
    async def close_poll(ctx: ServerContext, poll_id: int) -> None: ...

Every run, declared or dated, is recorded in ``scheduler_job_runs`` (last run,
duration, success, error message, next run, the replica that ran it). On
several replicas sharing a database each run is claimed by one of them
(``scheduler_run_claims``, :mod:`~ngshare.scheduler.claims`) and taken over
by another if its replica dies while running it. Admins see the records at
``GET {prefix}jobs`` and run a job at once with ``POST {prefix}jobs/<id>/run``;
``ngshare jobs list`` and ``ngshare jobs run ID`` do the same from a shell.

The package: :mod:`~ngshare.scheduler.core` (``Job``, ``Scheduler``, errors,
service hooks, and the design notes), :mod:`~ngshare.scheduler.handlers`,
:mod:`~ngshare.scheduler.openapi`, :mod:`~ngshare.scheduler.cli` (``ngshare
jobs``), :mod:`~ngshare.scheduler.store` (database work),
:mod:`~ngshare.scheduler.claims` (run claims and their leases) and
:mod:`~ngshare.scheduler.models` (tables). This module assembles ``service``,
the core-service :class:`~ngshare.plugin.Plugin` that ``ngshare.app`` loads.
"""

from __future__ import annotations

from ngshare.plugin import Plugin
from ngshare.scheduler.cli import JOBS_USAGE, format_jobs, jobs_command
from ngshare.scheduler.core import (
    CORE_JOBS,
    DATED_ID_RE,
    DECLARED_ID_RE,
    ERR_JOB_NOT_FOUND,
    ERR_JOB_RUNNING,
    ERR_NOT_ADMIN,
    INTERVAL_ORIGIN,
    MAX_ERROR_LENGTH,
    RUN_CLAIM_RETENTION,
    RUN_RECORD_RETENTION,
    STOP_TIMEOUT_SECONDS,
    SYNC_INTERVAL_SECONDS,
    Job,
    JobFunc,
    JobNotFoundError,
    JobRunningError,
    Scheduler,
    SchedulerError,
    TriggerKind,
    declared_jobs,
    due_time,
    iso_utc,
    naive_utc,
    prune_job_runs,
    ready,
    resolve_job_function,
    start,
    stop,
    sync_dated_jobs,
)
from ngshare.scheduler.handlers import JobListHandler, JobRunHandler
from ngshare.scheduler.openapi import openapi_paths

__all__ = [
    "CORE_JOBS",
    "DATED_ID_RE",
    "DECLARED_ID_RE",
    "ERR_JOB_NOT_FOUND",
    "ERR_JOB_RUNNING",
    "ERR_NOT_ADMIN",
    "INTERVAL_ORIGIN",
    "JOBS_USAGE",
    "MAX_ERROR_LENGTH",
    "RUN_CLAIM_RETENTION",
    "RUN_RECORD_RETENTION",
    "STOP_TIMEOUT_SECONDS",
    "SYNC_INTERVAL_SECONDS",
    "Job",
    "JobFunc",
    "JobListHandler",
    "JobNotFoundError",
    "JobRunHandler",
    "JobRunningError",
    "Scheduler",
    "SchedulerError",
    "TriggerKind",
    "declared_jobs",
    "due_time",
    "format_jobs",
    "iso_utc",
    "jobs_command",
    "naive_utc",
    "openapi_paths",
    "prune_job_runs",
    "ready",
    "resolve_job_function",
    "service",
    "start",
    "stop",
    "sync_dated_jobs",
]

service = Plugin(
    name="scheduler",
    mount="",
    description="Periodic and dated jobs of every feature set, with run records.",
    handlers=[
        (r"jobs/?", JobListHandler),
        (r"jobs/(?P<job_id>[^/]+)/run/?", JobRunHandler),
    ],
    jobs=CORE_JOBS,
    startup=start,
    ready=ready,
    shutdown=stop,
    openapi=openapi_paths(),
    commands={"jobs": jobs_command},
)
