"""The seed's JSON objects (MentorTicket, Event, Location, Announcement, times).

Ids are the rows' integer keys as strings (the seed's ids are strings).
Datetimes are :func:`ngshare_vivere.clock.iso` strings.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ngshare_vivere.clock import iso
from ngshare_vivere.models import PRIMARY_RANK, Announcement, Event, Location, Ticket

#: The buckets of GET mentorship/user/queue, in the seed's order.
CATEGORIES = ("open", "in_progress", "expired", "closed")


def ticket_state(ticket: Ticket, now: datetime, expiry: timedelta) -> str:
    """One of :data:`CATEGORIES`; expiry is computed from ``time_opened``, never stored."""
    if ticket.time_complete is not None:
        return "closed"
    if ticket.claimed_by_pk is not None:
        return "in_progress"
    if now >= ticket.time_opened + expiry:
        return "expired"
    return "open"


def ticket_json(
    ticket: Ticket, now: datetime, expiry: timedelta, viewer_pk: int | None = None
) -> dict[str, Any]:
    """A MentorTicket; ``is_mine``/``claimed_by_me`` are for ``viewer_pk`` (false for nobody)."""
    return {
        "id": str(ticket.pk),
        "description": ticket.description,
        "location": ticket.location,
        "contact": ticket.contact,
        "claimed": ticket.claimed_by_pk is not None,
        "claimed_by_me": viewer_pk is not None and ticket.claimed_by_pk == viewer_pk,
        "expired": ticket_state(ticket, now, expiry) == "expired",
        "is_mine": viewer_pk is not None and ticket.created_by_pk == viewer_pk,
        "time_created": iso(ticket.time_created),
        "time_complete": iso(ticket.time_complete),
    }


def location_json(location: Location, base_url: str) -> dict[str, Any]:
    """A Location; ``rank`` and ``is_primary`` only for primary ones (the seed's rule)."""
    out: dict[str, Any] = {
        "id": str(location.pk),
        "name": location.name,
        "map": (
            f"{base_url}location/image/{location.pk}" if location.map_sha256 is not None else None
        ),
    }
    if location.rank >= PRIMARY_RANK:
        out["rank"] = location.rank
        out["is_primary"] = True
    return out


def event_json(event: Event, location: Location | None, base_url: str) -> dict[str, Any]:
    return {
        "id": str(event.pk),
        "short_description": event.short_description,
        "long_description": event.long_description,
        "location": None if location is None else location_json(location, base_url),
        "start_time": iso(event.start_time),
        "end_time": iso(event.end_time),
    }


def announcement_json(announcement: Announcement) -> dict[str, Any]:
    return {
        "id": str(announcement.pk),
        "message": announcement.message,
        "time": iso(announcement.time),
    }


def times_json(times: dict[str, datetime]) -> dict[str, Any]:
    return {name: iso(value) for name, value in times.items()}
