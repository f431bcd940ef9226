"""The scheduler's HTTP handlers, ``GET /jobs`` and ``POST /jobs/<id>/run``, for admins."""

from __future__ import annotations

from ngshare.scheduler.core import (
    ERR_JOB_NOT_FOUND,
    ERR_JOB_RUNNING,
    ERR_NOT_ADMIN,
    JobNotFoundError,
    JobRunningError,
    Scheduler,
)
from ngshare.web import ApiError, APIHandler, authenticated


async def run_job_now(scheduler: Scheduler, job_id: str) -> dict:
    """Run ``job_id`` now (``Scheduler.run_now``); its refusals as the 404 / 409 of every page."""
    try:
        return await scheduler.run_now(job_id)
    except JobNotFoundError:
        raise ApiError(404, ERR_JOB_NOT_FOUND) from None
    except JobRunningError:
        raise ApiError(409, ERR_JOB_RUNNING) from None


class _JobsHandler(APIHandler):
    """Admins only; core envelope."""

    admins_only = True

    def scheduler_for_admin(self) -> Scheduler:
        assert self.identity is not None
        if not self.identity.is_admin:
            raise ApiError(403, ERR_NOT_ADMIN)
        if self.ctx.scheduler is None:
            raise ApiError(503, "Scheduler not running")
        return self.ctx.scheduler


class JobListHandler(_JobsHandler):
    """``/jobs``: GET (admins) -> ``{"success": true, "jobs": [job, ...]}``.

    Each job: ``id``, ``declared``, ``trigger``, ``schedule``, ``func``,
    ``next_run_at``, ``last_run_at`` (ISO 8601 UTC or null),
    ``last_duration_seconds``, ``last_success``, ``last_error``, ``run_count``,
    ``running``.
    """

    @authenticated
    async def get(self) -> None:
        scheduler = self.scheduler_for_admin()
        self.write_json({"success": True, "jobs": await scheduler.jobs()})


class JobRunHandler(_JobsHandler):
    """``/jobs/<job_id>/run``: POST (admins) runs the job now and answers when it is done.

    ``{"success": true, "job": job}``; the job's own outcome is in
    ``job.last_success``/``job.last_error``. 404 for an unknown id, 409 when the
    job is running and may not overlap itself.
    """

    @authenticated
    async def post(self, job_id: str) -> None:
        job = await run_job_now(self.scheduler_for_admin(), job_id)
        self.write_json({"success": True, "job": job})
