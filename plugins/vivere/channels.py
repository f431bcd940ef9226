"""Vivere's live channels (the seed's Pusher channels, on the core event bus).

Clients subscribe at ``{prefix}events/ws?channel=NAME`` or
``{prefix}events/sse?channel=NAME``. Every payload is the seed's object JSON;
one payload goes to every subscriber, so the per-viewer fields of a
MentorTicket (``is_mine``, ``claimed_by_me``) are always ``false`` there —
a client that needs them reloads ``mentorship/user/queue``.

Events are published with ``ctx.events.publish_after_commit``: they go out
only once the change they announce is committed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ngshare.plugin_api import Channel

if TYPE_CHECKING:
    from ngshare.plugin_api import Identity, ServerContext

MENTOR = "com.vivere.mentorchannel"
ANNOUNCEMENTS = "com.vivere.announcement"
EVENTS = "com.vivere.events"

TICKET_CREATED = "ticket.created"
TICKET_CLAIMED = "ticket.claimed"
TICKET_REOPENED = "ticket.reopened"
TICKET_CLOSED = "ticket.closed"
TICKET_EXPIRED = "ticket.expired"

ANNOUNCEMENT_CREATED = "announcement.created"
ANNOUNCEMENT_UPDATED = "announcement.updated"
ANNOUNCEMENT_DELETED = "announcement.deleted"

EVENT_CREATED = "event.created"
EVENT_UPDATED = "event.updated"
EVENT_DELETED = "event.deleted"
LOCATION_CREATED = "location.created"
LOCATION_UPDATED = "location.updated"
LOCATION_DELETED = "location.deleted"
TIMES_UPDATED = "times.updated"


def anyone_signed_in(identity: Identity, ctx: ServerContext) -> bool:
    """The seed's data is public; the core asks subscribers to identify themselves."""
    return True


CHANNELS = [
    Channel(
        MENTOR,
        anyone_signed_in,
        "Mentorship tickets: ticket.created / claimed / reopened / closed / expired",
    ),
    Channel(
        ANNOUNCEMENTS,
        anyone_signed_in,
        "Announcements, as they become visible: announcement.created / updated / deleted",
    ),
    Channel(
        EVENTS,
        anyone_signed_in,
        "The schedule: event.*, location.* (created / updated / deleted) and times.updated",
    ),
]
