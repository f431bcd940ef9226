"""The mentorship queue's rules, as database functions (run through ``ctx.db.run``).

A ticket is, at any moment ``now``:

* **closed** — ``time_complete`` is set (by its mentee or its mentor);
* **in progress** — claimed by a mentor and not closed;
* **expired** — unclaimed, not closed, and ``now >= time_opened + expiry``;
* **open** — otherwise: it is in the queue.

Expiry is computed from ``now``, never stored. Re-opening sets ``time_opened``
again (a fresh expiry) but the queue is ordered by ``time_created``, so the
ticket keeps its place. Claim, re-open and close lock the ticket's row
(``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite has one writer), so of two
mentors claiming one ticket exactly one gets it.

Every change is announced on :data:`~ngshare_vivere.channels.MENTOR` after
its commit; ``announce_expired_tickets`` announces each expiry once per opening.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ngshare_vivere import channels, errors
from ngshare_vivere.models import Ticket
from ngshare_vivere.wire import CATEGORIES, ticket_json, ticket_state
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from ngshare.plugin_api import ApiError, User, get_or_create_user

if TYPE_CHECKING:
    from ngshare.plugin_api import EventBus

#: Most expiries announced by one run of the job (the rest wait for the next run).
EXPIRY_BATCH = 500


@dataclass(frozen=True)
class Moment:
    """``now`` and the expiry period, as the request saw them."""

    now: datetime
    expiry: timedelta


def user_pk(session: Session, name: str | None) -> int | None:
    """The core user's key, or ``None`` (unknown users have no tickets)."""
    if name is None:
        return None
    return session.scalar(select(User.pk).where(User.name == name))


def _publish(session: Session, bus: EventBus, event: str, ticket: Ticket, at: Moment) -> None:
    # one payload for every subscriber: no viewer, so is_mine/claimed_by_me are false
    payload = ticket_json(ticket, at.now, at.expiry)
    bus.publish_after_commit(session, channels.MENTOR, event, payload)


def create_ticket(
    session: Session,
    bus: EventBus,
    user_name: str,
    fields: dict[str, str],
    at: Moment,
) -> dict[str, Any]:
    me = get_or_create_user(session, user_name)
    ticket = Ticket(
        description=fields["description"],
        location=fields["location"],
        contact=fields["contact"],
        created_by_pk=me.pk,
        time_created=at.now,
        time_opened=at.now,
    )
    session.add(ticket)
    session.flush()
    _publish(session, bus, channels.TICKET_CREATED, ticket, at)
    return ticket_json(ticket, at.now, at.expiry, me.pk)


def open_queue(session: Session, viewer: str | None, at: Moment) -> list[dict[str, Any]]:
    """Open tickets, oldest first."""
    me = user_pk(session, viewer)
    tickets = session.scalars(
        select(Ticket)
        .where(
            Ticket.time_complete.is_(None),
            Ticket.claimed_by_pk.is_(None),
            Ticket.time_opened > at.now - at.expiry,
        )
        .order_by(Ticket.time_created, Ticket.pk)
    )
    return [ticket_json(t, at.now, at.expiry, me) for t in tickets]


def user_queue(session: Session, user_name: str, at: Moment) -> dict[str, Any]:
    """The caller's own tickets in the four buckets, each newest first."""
    me = user_pk(session, user_name)
    buckets: dict[str, list[dict[str, Any]]] = {name: [] for name in CATEGORIES}
    if me is not None:
        tickets = session.scalars(
            select(Ticket)
            .where(Ticket.created_by_pk == me)
            .order_by(Ticket.time_created.desc(), Ticket.pk.desc())
        )
        for t in tickets:
            bucket = buckets[ticket_state(t, at.now, at.expiry)]
            bucket.append(ticket_json(t, at.now, at.expiry, me))
    return {"categories": list(CATEGORIES), "tickets": buckets}


def claimed_tickets(session: Session, user_name: str, at: Moment) -> list[dict[str, Any]]:
    """Tickets the caller claimed and nobody has closed, oldest first."""
    me = user_pk(session, user_name)
    if me is None:
        return []
    tickets = session.scalars(
        select(Ticket)
        .where(Ticket.claimed_by_pk == me, Ticket.time_complete.is_(None))
        .order_by(Ticket.time_created, Ticket.pk)
    )
    return [ticket_json(t, at.now, at.expiry, me) for t in tickets]


def board_queue(session: Session, at: Moment) -> list[tuple[str, dict[str, Any]]]:
    """The live board's queue: open and claimed tickets not yet closed, oldest first,
    each with its state (``open`` or ``claimed``). Expired ones are left out."""
    tickets = session.scalars(
        select(Ticket)
        .where(Ticket.time_complete.is_(None))
        .where((Ticket.claimed_by_pk.is_not(None)) | (Ticket.time_opened > at.now - at.expiry))
        .order_by(Ticket.time_created, Ticket.pk)
    )
    return [
        ("claimed" if t.claimed_by_pk is not None else "open", ticket_json(t, at.now, at.expiry))
        for t in tickets
    ]


def _locked(session: Session, ticket_pk: int) -> Ticket:
    ticket = session.get(Ticket, ticket_pk, with_for_update=True)
    if ticket is None:
        raise ApiError(404, errors.ERR_TICKET_NOT_FOUND)
    return ticket


def claim_ticket(
    session: Session, bus: EventBus, user_name: str, ticket_pk: int, at: Moment
) -> dict[str, Any]:
    """Take an open ticket off the queue for the caller.

    :raises ApiError: 404 unknown; 403 the caller's own ticket; 409 claimed,
        closed or expired.
    """
    ticket = _locked(session, ticket_pk)
    me = get_or_create_user(session, user_name).pk
    state = ticket_state(ticket, at.now, at.expiry)
    if state == "closed":
        raise ApiError(409, errors.ERR_TICKET_CLOSED)
    if state == "in_progress":
        raise ApiError(409, errors.ERR_TICKET_CLAIMED)
    if state == "expired":
        raise ApiError(409, errors.ERR_TICKET_EXPIRED)
    if ticket.created_by_pk == me:
        raise ApiError(403, errors.ERR_CLAIM_OWN)
    ticket.claimed_by_pk, ticket.time_claimed = me, at.now
    session.flush()
    _publish(session, bus, channels.TICKET_CLAIMED, ticket, at)
    return ticket_json(ticket, at.now, at.expiry, me)


def reopen_ticket(
    session: Session, bus: EventBus, user_name: str, ticket_pk: int, at: Moment
) -> dict[str, Any]:
    """Put a claimed, closed or expired ticket back in the queue, at its old place.

    :raises ApiError: 404 unknown; 403 neither mentee nor mentor; 409 already open.
    """
    ticket = _locked(session, ticket_pk)
    me = user_pk(session, user_name)
    if me is None or me not in (ticket.created_by_pk, ticket.claimed_by_pk):
        raise ApiError(403, errors.ERR_CANNOT_REOPEN)
    if ticket_state(ticket, at.now, at.expiry) == "open":
        raise ApiError(409, errors.ERR_TICKET_OPEN)
    ticket.claimed_by_pk = ticket.time_claimed = ticket.time_complete = None
    ticket.time_opened = at.now
    session.flush()
    _publish(session, bus, channels.TICKET_REOPENED, ticket, at)
    return ticket_json(ticket, at.now, at.expiry, me)


def close_ticket(
    session: Session, bus: EventBus, user_name: str, ticket_pk: int, at: Moment
) -> dict[str, Any]:
    """Mark a ticket done (the mentor finished, or the mentee needs no more help).

    :raises ApiError: 404 unknown; 403 neither mentee nor mentor; 409 already closed.
    """
    ticket = _locked(session, ticket_pk)
    me = user_pk(session, user_name)
    if me is None or me not in (ticket.created_by_pk, ticket.claimed_by_pk):
        raise ApiError(403, errors.ERR_CANNOT_CLOSE)
    if ticket.time_complete is not None:
        raise ApiError(409, errors.ERR_TICKET_CLOSED)
    ticket.time_complete = at.now
    session.flush()
    _publish(session, bus, channels.TICKET_CLOSED, ticket, at)
    return ticket_json(ticket, at.now, at.expiry, me)


def announce_expired_tickets(session: Session, bus: EventBus, at: Moment) -> int:
    """Publish ``ticket.expired`` for tickets that expired since they were last opened.

    Each (ticket, opening) is announced once, even with several server
    processes: the row is marked with a conditional UPDATE, and only the
    process whose UPDATE matched publishes. How many were announced.
    """
    not_announced = or_(
        Ticket.expiry_announced_for.is_(None),
        Ticket.expiry_announced_for != Ticket.time_opened,
    )
    due = session.scalars(
        select(Ticket)
        .where(
            Ticket.time_complete.is_(None),
            Ticket.claimed_by_pk.is_(None),
            Ticket.time_opened <= at.now - at.expiry,
            not_announced,
        )
        .order_by(Ticket.time_opened, Ticket.pk)
        .limit(EXPIRY_BATCH)
    ).all()
    announced = 0
    for ticket in due:
        marked = session.execute(
            update(Ticket)
            .where(
                Ticket.pk == ticket.pk,
                Ticket.time_opened == ticket.time_opened,
                Ticket.time_complete.is_(None),
                Ticket.claimed_by_pk.is_(None),
                not_announced,
            )
            .values(expiry_announced_for=ticket.time_opened)
            .execution_options(synchronize_session=False)
        ).rowcount
        if marked == 1:
            _publish(session, bus, channels.TICKET_EXPIRED, ticket, at)
            announced += 1
    return announced
