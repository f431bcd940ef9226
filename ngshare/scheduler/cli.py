"""The ``ngshare jobs`` command (``service.commands``) and its plain-text job table."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import TYPE_CHECKING, Any

from ngshare.lifecycle import StartupError, run_hooks
from ngshare.scheduler.core import (
    ERR_JOB_RUNNING,
    JobNotFoundError,
    JobRunningError,
    Scheduler,
    SchedulerError,
    declared_jobs,
)

if TYPE_CHECKING:
    from ngshare.context import ServerContext

JOBS_USAGE = "usage: ngshare jobs list [json] | ngshare jobs run JOB_ID [json]"


def jobs_command(ctx: ServerContext, argv: list[str]) -> int:
    """``ngshare jobs list`` and ``ngshare jobs run JOB_ID``, against the configured database.

    ``run`` starts the core services and the plugins' startup hooks first, so
    the job gets the same context as in the server (without its timer), and
    records the run where the server's admins see it. Exit status: 0 if the
    job succeeded, 1 if it failed or is unknown, 2 for a usage error.
    """
    # a word, not "--json": the traitlets command line would take that for an option
    args = [a for a in argv if a not in ("json", "--json")]
    as_json = len(args) != len(argv)
    action = args[0] if args else "list"
    if not ((action == "list" and len(args) <= 1) or (action == "run" and len(args) == 2)):
        print(JOBS_USAGE, file=sys.stderr)
        return 2
    try:
        return asyncio.run(_jobs_command(ctx, [action, *args[1:]], as_json))
    except (StartupError, SchedulerError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


async def _jobs_command(ctx: ServerContext, args: list[str], as_json: bool) -> int:
    ctx.scheduler = Scheduler(ctx, declared_jobs(ctx), timer=False)
    if args[0] == "list":
        jobs = await ctx.scheduler.jobs()
        print(json.dumps(jobs, indent=2) if as_json else format_jobs(jobs))
        return 0
    job_id = args[1]
    await run_hooks(ctx, ctx.plugins, "startup")
    try:
        job = await ctx.scheduler.run_now(job_id)
    except JobNotFoundError:
        known = ", ".join(j["id"] for j in await ctx.scheduler.jobs() if j["trigger"])
        print(f"error: no job {job_id!r}; jobs: {known}", file=sys.stderr)
        return 1
    except JobRunningError:
        print(f"error: {ERR_JOB_RUNNING}", file=sys.stderr)
        return 1
    finally:
        await run_hooks(ctx, ctx.plugins, "shutdown")
    print(json.dumps(job, indent=2) if as_json else format_jobs([job]))
    return 0 if job["last_success"] else 1


def format_jobs(jobs: list[dict[str, Any]]) -> str:
    """A plain-text table of :meth:`Scheduler.jobs` records, for the shell."""
    header = ("ID", "SCHEDULE", "NEXT RUN (UTC)", "LAST RUN (UTC)", "SECONDS", "RESULT")
    rows = [header]
    for job in jobs:
        if job["last_success"] is None:
            result = "-"
        elif job["last_success"]:
            result = "ok"
        else:
            result = "failed: " + (job["last_error"] or "").splitlines()[0][:120]
        duration = job["last_duration_seconds"]
        rows.append(
            (
                job["id"],
                job["schedule"] or "-",
                _short_time(job["next_run_at"]),
                _short_time(job["last_run_at"]),
                "-" if duration is None else f"{duration:.3f}",
                result,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=True)) + "  " + row[-1]
        for row in rows
    )


def _short_time(value: str | None) -> str:
    return "-" if value is None else value.replace("T", " ").rstrip("Z")[:19]
