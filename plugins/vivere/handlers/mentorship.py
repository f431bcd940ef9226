"""The mentorship queue: create, list, claim, re-open and close tickets.

The rules live in :mod:`ngshare_vivere.tickets`; these handlers read the
parameters, take ``now`` from the plugin's clock and shape the answer.
"""

from __future__ import annotations

from ngshare_vivere import tickets
from ngshare_vivere.handlers.base import VivereHandler
from ngshare_vivere.models import MAX_DESCRIPTION, MAX_NAME

from ngshare.plugin_api import authenticated, public


class TicketCreateHandler(VivereHandler):
    """``vivere/mentorship/create``: POST ``{description, location, contact}`` (login) -> 201."""

    @authenticated
    async def post(self) -> None:
        fields = {
            "description": self.text("description", MAX_DESCRIPTION),
            "location": self.text("location", MAX_NAME),
            "contact": self.text("contact", MAX_NAME),
        }
        assert self.identity is not None
        ticket = await self.ctx.db.run(
            tickets.create_ticket, self.ctx.events, self.identity.name, fields, self.moment()
        )
        self.success(ticket, 201)


class QueueHandler(VivereHandler):
    """``vivere/mentorship/queue``: GET -> open tickets, oldest first.

    Login is optional; with it, ``is_mine`` and ``claimed_by_me`` are the caller's.
    """

    @public
    async def get(self) -> None:
        identity = await self.optional_identity()
        name = identity.name if identity is not None else None
        self.success(await self.ctx.db.run(tickets.open_queue, name, self.moment()))


class UserQueueHandler(VivereHandler):
    """``vivere/mentorship/user/queue``: GET (login) -> ``{categories, tickets: {...}}``."""

    @authenticated
    async def get(self) -> None:
        assert self.identity is not None
        self.success(await self.ctx.db.run(tickets.user_queue, self.identity.name, self.moment()))


class ClaimedHandler(VivereHandler):
    """``vivere/mentorship/user/claimed``: GET (login) -> tickets the caller is working on."""

    @authenticated
    async def get(self) -> None:
        assert self.identity is not None
        self.success(
            await self.ctx.db.run(tickets.claimed_tickets, self.identity.name, self.moment())
        )


class _TicketActionHandler(VivereHandler):
    """POST ``{id}`` (login) -> the ticket after the action."""

    action = staticmethod(tickets.claim_ticket)

    @authenticated
    async def post(self) -> None:
        ticket_pk = self.object_id("id", "Ticket")
        assert self.identity is not None
        ticket = await self.ctx.db.run(
            self.action, self.ctx.events, self.identity.name, ticket_pk, self.moment()
        )
        self.success(ticket)


class ClaimHandler(_TicketActionHandler):
    """``vivere/mentorship/claim``: 404 unknown, 403 own ticket, 409 claimed/closed/expired."""

    action = staticmethod(tickets.claim_ticket)


class ReopenHandler(_TicketActionHandler):
    """``vivere/mentorship/reopen``: mentee or mentor; 403 others, 409 if already open.

    Restarts the expiry clock; the ticket keeps its place in the queue.
    """

    action = staticmethod(tickets.reopen_ticket)


class CloseHandler(_TicketActionHandler):
    """``vivere/mentorship/close``: mentee or mentor; 403 others, 409 if already closed."""

    action = staticmethod(tickets.close_ticket)


handlers = [
    (r"mentorship/create/?", TicketCreateHandler),
    (r"mentorship/queue/?", QueueHandler),
    (r"mentorship/user/queue/?", UserQueueHandler),
    (r"mentorship/user/claimed/?", ClaimedHandler),
    (r"mentorship/claim/?", ClaimHandler),
    (r"mentorship/reopen/?", ReopenHandler),
    (r"mentorship/close/?", CloseHandler),
]
