"""SQLAlchemy session listeners behind :meth:`EventBus.publish_after_commit`.

Events wait in ``session.info[_PENDING_KEY]`` until the outermost transaction
commits; a savepoint that rolls back drops its own, and a transaction that
ends without committing drops them all. Registered on import (the bus module
imports this one); they run on whichever thread commits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session, SessionTransaction

if TYPE_CHECKING:
    from ngshare.events.bus import EventBus, _Pending

_PENDING_KEY = "ngshare.events.pending"

if TYPE_CHECKING:
    _Entry = tuple[EventBus, "SessionTransaction | None", _Pending]


def _within(txn: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while txn is not None:
        if txn is ancestor:
            return True
        txn = txn.parent
    return ancestor.parent is None  # no transaction at the time: belongs to the next root


def write_before_commit() -> None:
    """Turn on :func:`_before_commit` (the postgres backend; the local one never pays for it)."""
    if not sa_event.contains(Session, "before_commit", _before_commit):
        sa_event.listen(Session, "before_commit", _before_commit)


def _before_commit(session: Session) -> None:
    # The postgres backend writes its rows and NOTIFYs in the committing transaction.
    entries: list[_Entry] | None = session.info.get(_PENDING_KEY)
    if not entries or session.get_nested_transaction() is not None:
        return
    by_bus: dict[EventBus, list[_Pending]] = {}
    for bus, _, pending in entries:
        if bus.relay is not None:
            by_bus.setdefault(bus, []).append(pending)
    for bus, pendings in by_bus.items():
        bus._write_before_commit(session, pendings)


@sa_event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    # Fires for savepoint releases too; only the outermost commit publishes.
    if session.get_nested_transaction() is not None:
        return
    entries: list[_Entry] = session.info.pop(_PENDING_KEY, [])
    by_bus: dict[EventBus, list[_Pending]] = {}
    for bus, _, pending in entries:
        by_bus.setdefault(bus, []).append(pending)
    for bus, pendings in by_bus.items():
        bus._hand_over(pendings)


@sa_event.listens_for(Session, "after_soft_rollback")
def _after_soft_rollback(session: Session, previous: SessionTransaction) -> None:
    entries: list[_Entry] | None = session.info.get(_PENDING_KEY)
    if entries:
        session.info[_PENDING_KEY] = [e for e in entries if not _within(e[1], previous)]


@sa_event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, txn: SessionTransaction) -> None:
    if txn.parent is None:  # closed without commit (commit has taken its events already)
        session.info.pop(_PENDING_KEY, None)
