"""Run claims: each scheduled run of a job happens on one replica (``scheduler_run_claims``).

Package-internal database work, called through ``ctx.db.run`` by
:mod:`ngshare.scheduler.core`. A run is the pair (job id, time it was due).
Every replica whose timer fires tries :func:`claim`; the one whose
``INSERT … ON CONFLICT DO NOTHING`` adds the row runs it, the others skip.
The claimant's lease (``held_until``) is renewed while the run goes on
(:func:`renew`); if its server dies, the lease runs out and another replica
takes the run over (:func:`take_over`). A finished run keeps its row (who
ran it, how it went) until :func:`prune` forgets it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import delete, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ngshare.models import utcnow
from ngshare.scheduler.models import RunClaim

_INSERTS = {"sqlite": sqlite_insert, "postgresql": pg_insert}

#: Which finished run may be claimed again: none, a failed one, or any (a forced run).
Redo = Literal["never", "failed", "any"]


def claim(
    session: Session,
    job_id: str,
    run_at: datetime,
    holder: str,
    lease_seconds: float,
    exclusive: bool,
    func_ref: str | None = None,
    kwargs: dict[str, Any] | None = None,
    redo: Redo = "never",
) -> bool:
    """Claim the run of ``job_id`` due at ``run_at`` for ``holder``; whether it is ours.

    With ``exclusive`` the claim fails while another run of the job is held
    (the job's ``max_instances`` is 1: runs never overlap, on any replica).
    A run already claimed but abandoned (its lease ran out) is taken over.
    A finished run is claimed again if ``redo`` is ``"failed"`` and it failed,
    or if ``redo`` is ``"any"``.
    """
    now = utcnow()
    if exclusive:
        _serialise_claims_of(session, job_id)
        busy = session.scalar(
            select(RunClaim.holder)
            .where(
                RunClaim.job_id == job_id,
                RunClaim.run_at != run_at,
                RunClaim.finished_at.is_(None),
                RunClaim.held_until >= now,
            )
            .limit(1)
        )
        if busy is not None:
            return False
    insert = _INSERTS[session.get_bind().dialect.name]
    added = session.execute(
        insert(RunClaim)
        .values(
            job_id=job_id,
            run_at=run_at,
            holder=holder,
            held_until=now + timedelta(seconds=lease_seconds),
            claimed_at=now,
            attempts=1,
            func_ref=func_ref,
            kwargs=kwargs,
        )
        .on_conflict_do_nothing(index_elements=["job_id", "run_at"])
        .returning(RunClaim.job_id)  # psycopg reports no rowcount for this statement
    ).first()
    if added is not None:
        return True
    if redo != "never" and _claim_finished(session, job_id, run_at, holder, lease_seconds, redo):
        return True
    return take_over(session, job_id, run_at, holder, lease_seconds)


def _claim_finished(
    session: Session, job_id: str, run_at: datetime, holder: str, lease_seconds: float, redo: Redo
) -> bool:
    conditions = [
        RunClaim.job_id == job_id,
        RunClaim.run_at == run_at,
        RunClaim.finished_at.is_not(None),
    ]
    if redo == "failed":
        conditions.append(RunClaim.success.is_(False))
    now = utcnow()
    again = session.execute(
        update(RunClaim)
        .where(*conditions)
        .values(
            holder=holder,
            held_until=now + timedelta(seconds=lease_seconds),
            finished_at=None,
            success=None,
            attempts=RunClaim.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    return again == 1


def _serialise_claims_of(session: Session, job_id: str) -> None:
    """On PostgreSQL, one claiming transaction per job at a time (the check, then the insert).

    SQLite needs nothing: its writers take turns for the whole transaction.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": "ngshare.job:" + job_id}
        )


def take_over(
    session: Session, job_id: str, run_at: datetime, holder: str, lease_seconds: float
) -> bool:
    """Take an unfinished run whose holder's lease ran out; whether this caller won it."""
    now = utcnow()
    taken = session.execute(
        update(RunClaim)
        .where(
            RunClaim.job_id == job_id,
            RunClaim.run_at == run_at,
            RunClaim.finished_at.is_(None),
            RunClaim.held_until < now,
        )
        .values(
            holder=holder,
            held_until=now + timedelta(seconds=lease_seconds),
            attempts=RunClaim.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    return taken == 1


def _held_by(job_id: str, run_at: datetime, holder: str) -> tuple:
    """The conditions for ``holder``'s claim of one run."""
    return (RunClaim.job_id == job_id, RunClaim.run_at == run_at, RunClaim.holder == holder)


def renew(
    session: Session, job_id: str, run_at: datetime, holder: str, lease_seconds: float
) -> bool:
    """Extend the lease of a run ``holder`` is running; False if it is no longer theirs."""
    renewed = session.execute(
        update(RunClaim)
        .where(*_held_by(job_id, run_at, holder), RunClaim.finished_at.is_(None))
        .values(held_until=utcnow() + timedelta(seconds=lease_seconds))
        .execution_options(synchronize_session=False)
    ).rowcount
    return renewed == 1


def finish(session: Session, job_id: str, run_at: datetime, holder: str, error: str | None) -> None:
    """Record the end of a run ``holder`` ran (the row stays: who ran it, and how)."""
    session.execute(
        update(RunClaim)
        .where(*_held_by(job_id, run_at, holder))
        .values(finished_at=utcnow(), held_until=None, success=error is None, error=error)
        .execution_options(synchronize_session=False)
    )


def release(session: Session, job_id: str, run_at: datetime, holder: str) -> None:
    """Let the lease run out now: another replica takes the unfinished run over."""
    session.execute(
        update(RunClaim)
        .where(*_held_by(job_id, run_at, holder), RunClaim.finished_at.is_(None))
        .values(held_until=utcnow() - timedelta(seconds=1))
        .execution_options(synchronize_session=False)
    )


def outcome(session: Session, job_id: str, run_at: datetime) -> RunClaim | None:
    """The claim of one run (detached): who holds or held it, and how it went."""
    row = session.get(RunClaim, (job_id, run_at))
    if row is not None:
        session.expunge(row)
    return row


def abandoned(session: Session, limit: int = 100) -> list[RunClaim]:
    """Unfinished runs whose lease ran out (their replica died or stopped), oldest first."""
    rows = list(
        session.scalars(
            select(RunClaim)
            .where(RunClaim.finished_at.is_(None), RunClaim.held_until < utcnow())
            .order_by(RunClaim.run_at)
            .limit(limit)
        )
    )
    for row in rows:
        session.expunge(row)  # only ours: SQLite's group commit may share the session
    return rows


def supersede(session: Session, job_id: str, run_at: datetime) -> bool:
    """Close an abandoned run if a later run of the job was claimed since; whether it was.

    A periodic job's backlog collapses into its newest run (``coalesce``).
    """
    later = session.scalar(
        select(RunClaim.run_at).where(RunClaim.job_id == job_id, RunClaim.run_at > run_at).limit(1)
    )
    if later is None:
        return False
    session.execute(
        update(RunClaim)
        .where(
            RunClaim.job_id == job_id,
            RunClaim.run_at == run_at,
            RunClaim.finished_at.is_(None),
            RunClaim.held_until < utcnow(),
        )
        .values(
            finished_at=utcnow(),
            held_until=None,
            success=False,
            error="abandoned by its replica; a later run took its place",
        )
        .execution_options(synchronize_session=False)
    )
    return True


def recent(session: Session, job_id: str, limit: int) -> list[dict[str, Any]]:
    """The newest claimed runs of ``job_id``: when due, who ran it, how it went."""
    rows = session.scalars(
        select(RunClaim)
        .where(RunClaim.job_id == job_id)
        .order_by(RunClaim.run_at.desc())
        .limit(limit)
    )
    return [
        {
            "run_at": r.run_at,
            "replica": r.holder,
            "attempts": r.attempts,
            "finished_at": r.finished_at,
            "success": r.success,
        }
        for r in rows
    ]


def prune(session: Session, before: datetime) -> int:
    """Forget finished runs due before ``before``."""
    return session.execute(
        delete(RunClaim).where(RunClaim.finished_at.is_not(None), RunClaim.run_at < before)
    ).rowcount
