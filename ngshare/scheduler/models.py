"""Tables of the core job scheduler (:mod:`ngshare.scheduler`): dated jobs, run records, claims.

They live on their own MetaData, like a feature set's, because the scheduler's
schema is its own alembic branch (``scheduler``, revision ``5c0000000001``).
Every datetime is naive UTC, as everywhere else in ngshare.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ngshare.db import make_metadata
from ngshare.models import utcnow

#: Longest job id; 191 characters fit a unique index on every backend (as in APScheduler).
JOB_ID_LENGTH = 191


class SchedulerBase(DeclarativeBase):
    metadata = make_metadata()


class ScheduledJob(SchedulerBase):
    """A dated job that must survive a restart: what to call, with what, and when.

    The function is stored as a ``"package.module:function"`` reference and the
    arguments as JSON, not pickled: rows stay readable, safe to load, and
    independent of APScheduler's internal job format.
    """

    __tablename__ = "scheduler_jobs"

    id: Mapped[str] = mapped_column(String(JOB_ID_LENGTH), primary_key=True)
    func_ref: Mapped[str] = mapped_column(String(255))
    kwargs: Mapped[dict[str, Any]] = mapped_column(JSON)
    run_at: Mapped[datetime] = mapped_column(index=True)
    #: Seconds a late run is still allowed; ``None``: always run, however late.
    misfire_grace_time: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class JobRun(SchedulerBase):
    """What an admin needs to know about one job id: its last run and its next one.

    One row per job id (declared or dated), updated in place: a history would
    grow without bound for periodic jobs, and the last outcome is what matters.
    """

    __tablename__ = "scheduler_job_runs"

    job_id: Mapped[str] = mapped_column(String(JOB_ID_LENGTH), primary_key=True)
    #: When the last run started (or, for a missed run, when it was due).
    last_run_at: Mapped[datetime | None]
    last_duration_seconds: Mapped[float | None] = mapped_column(Float)
    last_success: Mapped[bool | None]
    #: The exception's type and message (never a traceback), or why the run was missed.
    last_error: Mapped[str | None] = mapped_column(Text)
    next_run_at: Mapped[datetime | None]
    run_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The ``c.NgShare.replica_id`` of the server that ran the last run.
    last_replica: Mapped[str | None] = mapped_column(String(JOB_ID_LENGTH))


class RunClaim(SchedulerBase):
    """One scheduled run of one job, claimed by the replica that runs it.

    The key is (job id, the time the run was due): replicas whose timers fire
    together all try to insert it and exactly one succeeds. The claimant holds
    a lease (``held_until``) that it renews while the run goes on; a run whose
    lease ran out before it finished is taken over by another replica. A
    dated job's function and arguments travel with its claim, since its row
    in ``scheduler_jobs`` is gone once claimed.
    """

    __tablename__ = "scheduler_run_claims"

    job_id: Mapped[str] = mapped_column(String(JOB_ID_LENGTH), primary_key=True)
    run_at: Mapped[datetime] = mapped_column(primary_key=True)
    holder: Mapped[str] = mapped_column(String(JOB_ID_LENGTH))
    held_until: Mapped[datetime | None] = mapped_column(index=True)
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    success: Mapped[bool | None]
    error: Mapped[str | None] = mapped_column(Text)
    #: 1, plus one per take-over after a replica died holding it.
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    func_ref: Mapped[str | None] = mapped_column(String(255))
    kwargs: Mapped[dict[str, Any] | None] = mapped_column(JSON)
