"""Gauges read from the database when a scraper asks: job runs and the notifications outbox.

These are plain reads on the core's own tables (``scheduler_job_runs``,
``notifications_messages``); nothing here changes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ngshare.notifications.models import OutboxMessage
from ngshare.scheduler.models import JobRun


@dataclass
class DatabaseGauges:
    #: job id -> (run count, last run succeeded: True / False / None if it never ran)
    jobs: dict[str, tuple[int, bool | None]] = field(default_factory=dict)
    #: outbox status (pending, sending, sent, failed ...) -> messages
    outbox: dict[str, int] = field(default_factory=dict)


def read_database_gauges(session: Session) -> DatabaseGauges:
    """Job runs and the outbox depth by status, in one read transaction."""
    jobs = {
        job_id: (runs or 0, success)
        for job_id, runs, success in session.execute(
            select(JobRun.job_id, JobRun.run_count, JobRun.last_success)
        )
    }
    outbox = dict(
        session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        ).all()
    )
    return DatabaseGauges(jobs=jobs, outbox=outbox)


def pool_gauges(engine: Any) -> dict[str, int]:
    """Connections in use and the pool's size (0 where the pool does not say, e.g. SQLite's)."""
    pool = engine.pool
    out = {}
    for key, method in (("checked_out", "checkedout"), ("size", "size")):
        fn = getattr(pool, method, None)
        try:
            out[key] = int(fn()) if fn is not None else 0
        except Exception:  # noqa: BLE001 - a pool class without the number
            out[key] = 0
    return out
