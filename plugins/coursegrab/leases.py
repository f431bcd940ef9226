"""Job leases in the database: one run per window across replicas, never two at once.

A run claims its job's row with one conditional ``UPDATE``: only if no one
holds it (or the holder's lease ran out: it died) and, unless forced, only if
this window (``now // interval``) has not run yet. Of several replicas whose
schedulers fire together exactly one wins; the others skip. The row also
records the last success and the last failure, which admins read in the docs'
``GET {prefix}jobs`` records and the logs.
"""

from __future__ import annotations

from datetime import timedelta

from ngshare_coursegrab.models import JobLease
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ngshare.plugin_api import utcnow

MAX_ERROR = 2000


def claim(
    session: Session, job_id: str, window: int, holder: str, hold_seconds: float, force: bool
) -> bool:
    """Take the lease of ``job_id`` for ``window``; whether this caller won it."""
    if session.get(JobLease, job_id) is None:
        try:
            with session.begin_nested():
                session.add(JobLease(job_id=job_id, run_window=-1))
        except IntegrityError:
            pass  # another replica created it at the same moment
    now = utcnow()
    conditions = [
        JobLease.job_id == job_id,
        or_(JobLease.held_until.is_(None), JobLease.held_until < now),
    ]
    if not force:
        conditions.append(JobLease.run_window < window)
    result = session.execute(
        update(JobLease)
        .where(*conditions)
        .values(run_window=window, holder=holder, held_until=now + timedelta(seconds=hold_seconds))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def release(
    session: Session, job_id: str, holder: str, error: str | None, retry: bool = False
) -> None:
    """Give the lease back, recording success or the failure's text.

    With ``retry``, a failed run gives its window back: the next tick tries again.
    """
    now = utcnow()
    values: dict = {"holder": None, "held_until": None}
    if error is None:
        values["last_ok_at"] = now
    else:
        values["last_error"], values["last_error_at"] = error[:MAX_ERROR], now
        if retry:
            values["run_window"] = -1
    session.execute(
        update(JobLease)
        .where(JobLease.job_id == job_id, JobLease.holder == holder)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def lease_of(session: Session, job_id: str) -> JobLease | None:
    lease = session.scalar(select(JobLease).where(JobLease.job_id == job_id))
    if lease is not None:
        session.expunge(lease)
    return lease
