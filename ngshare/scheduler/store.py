"""The scheduler's database work, run on the database's worker threads via ``ctx.db.run``.

Package-internal: only :mod:`ngshare.scheduler.core` calls these.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ngshare.models import utcnow
from ngshare.scheduler import claims
from ngshare.scheduler.models import JobRun, RunClaim, ScheduledJob

_MISSING: Any = object()


def _job_run_row(session: Session, job_id: str) -> JobRun:
    """The run record of ``job_id``, created on first sight (another process may race us)."""
    run = session.get(JobRun, job_id)
    if run is not None:
        return run
    try:
        with session.begin_nested():
            run = JobRun(job_id=job_id, run_count=0)
            session.add(run)
    except IntegrityError:
        run = session.get(JobRun, job_id)
        assert run is not None
    return run


def _pending_dated_jobs(session: Session) -> list[tuple[str, datetime, int | None]]:
    rows = session.execute(
        select(ScheduledJob.id, ScheduledJob.run_at, ScheduledJob.misfire_grace_time)
    )
    return [(job_id, run_at, grace) for job_id, run_at, grace in rows]


def _get_dated_job(session: Session, job_id: str) -> datetime | None:
    return session.scalar(select(ScheduledJob.run_at).where(ScheduledJob.id == job_id))


def _save_dated_job(
    session: Session,
    job_id: str,
    func_ref: str,
    kwargs: dict[str, Any],
    run_at: datetime,
    grace: int | None,
) -> None:
    row = session.get(ScheduledJob, job_id)
    if row is None:
        try:
            with session.begin_nested():
                row = ScheduledJob(id=job_id, func_ref=func_ref, kwargs=kwargs, run_at=run_at)
                row.misfire_grace_time = grace
                session.add(row)
        except IntegrityError:
            row = session.get(ScheduledJob, job_id)
            assert row is not None
    row.func_ref, row.kwargs, row.run_at, row.misfire_grace_time = func_ref, kwargs, run_at, grace
    row.created_at = utcnow()
    run = _job_run_row(session, job_id)
    run.next_run_at, run.updated_at = run_at, utcnow()


def _move_dated_job(session: Session, job_id: str, run_at: datetime) -> Any:
    """Returns the job's misfire grace time, or ``_MISSING`` if there is no such job."""
    row = session.get(ScheduledJob, job_id)
    if row is None:
        return _MISSING
    row.run_at = run_at
    run = _job_run_row(session, job_id)
    run.next_run_at, run.updated_at = run_at, utcnow()
    return row.misfire_grace_time


def _delete_dated_job(session: Session, job_id: str) -> bool:
    deleted = session.execute(delete(ScheduledJob).where(ScheduledJob.id == job_id)).rowcount
    run = session.get(JobRun, job_id)
    if run is not None:
        run.next_run_at, run.updated_at = None, utcnow()
    return deleted == 1


def _claim_dated_job(
    session: Session,
    job_id: str,
    run_at: datetime,
    holder: str | None = None,
    lease_seconds: float = 60.0,
) -> tuple[str, dict[str, Any]] | None:
    """Delete the job's row if it still holds ``run_at``; the deleter is the one that runs it.

    With ``holder``, the run is claimed for it in the same transaction (with
    the function and arguments), so that another replica can take it over if
    this one dies while running it.
    """
    row = session.execute(
        select(ScheduledJob.func_ref, ScheduledJob.kwargs).where(
            ScheduledJob.id == job_id, ScheduledJob.run_at == run_at
        )
    ).first()
    if row is None:
        return None
    deleted = session.execute(
        delete(ScheduledJob).where(ScheduledJob.id == job_id, ScheduledJob.run_at == run_at)
    ).rowcount
    if deleted != 1:
        return None  # another process claimed it between our two statements
    if holder is not None:
        # a finished run of an earlier schedule of this id at the same time: a new run now
        session.execute(
            delete(RunClaim).where(
                RunClaim.job_id == job_id,
                RunClaim.run_at == run_at,
                RunClaim.finished_at.is_not(None),
            )
        )
        args = (job_id, run_at, holder, lease_seconds, False, row.func_ref, dict(row.kwargs))
        if not claims.claim(session, *args):
            return None
    return row.func_ref, dict(row.kwargs)


def _record_run(
    session: Session,
    job_id: str,
    started_at: datetime,
    duration: float,
    error: str | None,
    next_run_at: datetime | None,
    keep_next: bool = False,
    holder: str | None = None,
    claimed_run_at: datetime | None = None,
) -> None:
    if holder is not None and claimed_run_at is not None:
        claims.finish(session, job_id, claimed_run_at, holder, error)
    run = _job_run_row(session, job_id)
    run.last_replica = holder
    run.last_run_at, run.last_duration_seconds = started_at, duration
    run.last_success, run.last_error = error is None, error
    run.run_count += 1
    # the job may have scheduled its own id again while it ran
    pending = session.scalar(select(ScheduledJob.run_at).where(ScheduledJob.id == job_id))
    if pending is not None:
        run.next_run_at = pending
    elif not keep_next:
        run.next_run_at = next_run_at
    run.updated_at = utcnow()


def _record_missed(
    session: Session,
    job_id: str,
    due: datetime,
    message: str,
    next_run_at: datetime | None,
    dated_run_at: datetime | None,
) -> None:
    if dated_run_at is not None:
        if _claim_dated_job(session, job_id, dated_run_at) is None:
            return  # not ours: moved, cancelled, or run by another process
    elif session.get(RunClaim, (job_id, due)) is not None:
        return  # another replica ran it in time: not missed
    run = _job_run_row(session, job_id)
    run.last_run_at, run.last_duration_seconds = due, None
    run.last_success, run.last_error = False, message
    run.next_run_at, run.updated_at = next_run_at, utcnow()


def _record_next_runs(session: Session, next_runs: dict[str, datetime | None]) -> None:
    for job_id, next_run_at in next_runs.items():
        run = _job_run_row(session, job_id)
        run.next_run_at, run.updated_at = next_run_at, utcnow()


def _load_records(
    session: Session, job_id: str | None
) -> tuple[dict[str, JobRun], dict[str, ScheduledJob]]:
    runs_q, pending_q = select(JobRun), select(ScheduledJob)
    if job_id is not None:
        runs_q = runs_q.where(JobRun.job_id == job_id)
        pending_q = pending_q.where(ScheduledJob.id == job_id)
    runs = {run.job_id: run for run in session.scalars(runs_q)}
    pending = {row.id: row for row in session.scalars(pending_q)}
    return runs, pending


def _prune_job_runs(session: Session, declared: list[str], before: datetime) -> int:
    is_pending = exists().where(ScheduledJob.id == JobRun.job_id)
    return session.execute(
        delete(JobRun).where(
            JobRun.updated_at < before,
            JobRun.job_id.not_in(declared),
            ~is_pending,
        )
    ).rowcount
