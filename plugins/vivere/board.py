"""``{prefix}vivere/board``: the live board — schedule, announcements, mentorship queue.

A page in the server's shared layout (the plugin pages API). It is rendered
complete on the server, so it is useful without JavaScript; ``board.js``
then keeps it current from Vivere's channels (WebSocket, or Server-Sent
Events where WebSocket does not get through). Organisers (and admins) post
an announcement from it through an XSRF-checked form; it is published like
one from the organiser API (``admin/announcements``), by the same function.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ngshare_vivere import announcements, channels, errors, tickets, venue
from ngshare_vivere.clock import Clock
from ngshare_vivere.config import Vivere
from ngshare_vivere.handlers.base import MOUNT, is_storable
from ngshare_vivere.models import MAX_MESSAGE, SOURCE_ORGANISER

from ngshare.plugin_api import ApiError, NavEntry, PageHandler, page

HERE = Path(__file__).parent
TEMPLATES = str(HERE / "templates")
STATIC = str(HERE / "static")
EPOCH = datetime(1970, 1, 1)
#: Announcements the board shows when it loads (newest first; live ones are added).
ANNOUNCEMENTS_SHOWN = 50
ERR_EMPTY_MESSAGE = f"Write a message of 1 to {MAX_MESSAGE} characters."


def short_time(value: str | None) -> str:
    """``2026-04-01T09:30:00.000Z`` -> ``2026-04-01 09:30`` (UTC, as the API gives it)."""
    if not value:
        return ""
    return value.replace("T", " ")[:16]


class _BoardPage(PageHandler):
    @property
    def vivere(self) -> Vivere:
        return self.ctx.state(Vivere)

    def now(self) -> datetime:
        return self.ctx.state(Clock).now()


class BoardPage(_BoardPage):
    """``vivere/board``: GET (signed in) — the board; organisers also get the announcement form."""

    title = "Live board"

    @page
    async def get(self) -> None:
        now = self.now()
        moment = tickets.Moment(now, timedelta(seconds=self.vivere.ticket_expiry_seconds))
        origin = self.vivere.public_url or f"{self.request.protocol}://{self.request.host}"
        base_url = origin + self.ctx.config.prefix + MOUNT

        def read(session) -> dict[str, Any]:
            return {
                "times": venue.get_times(session, self.vivere.default_times()),
                "events": venue.list_events(session, base_url),
                "announcements": announcements.visible_announcements(session, EPOCH, now)[
                    :ANNOUNCEMENTS_SHOWN
                ],
                "queue": tickets.board_queue(session, moment),
            }

        data = await self.ctx.db.run(read)
        self.render_page(
            "board.html",
            short_time=short_time,
            organiser=self.vivere.is_organiser(self.identity),
            channel_names=[channels.ANNOUNCEMENTS, channels.MENTOR, channels.EVENTS],
            max_message=MAX_MESSAGE,
            notice=self.get_query_argument("notice", ""),
            **data,
        )


class BoardAnnouncementPage(_BoardPage):
    """``vivere/board/announcements``: POST ``message`` (organisers, XSRF) — announce now."""

    @page
    async def post(self) -> None:
        if not self.vivere.is_organiser(self.identity):
            raise ApiError(403, errors.ERR_NOT_ORGANISER)
        message = (self.argument("message") or "").strip()
        if not message or len(message) > MAX_MESSAGE:
            raise ApiError(400, ERR_EMPTY_MESSAGE)
        if not is_storable(message):
            raise ApiError(400, errors.ERR_BAD_CHARACTER.format(name="message"))
        now = self.now()
        assert self.identity is not None
        author = self.identity.name
        await self.ctx.db.run(
            lambda session: announcements.create_announcement(
                session,
                self.ctx.events,
                message=message,
                time=now,
                source=SOURCE_ORGANISER,
                created_by=author,
                now=now,
                push=self.ctx.notifications,
            )
        )
        self.redirect(self.page_url(MOUNT + "board", notice="Announcement posted"), status=303)


pages = [
    (r"board/?", BoardPage),
    (r"board/announcements", BoardAnnouncementPage),
]
nav = [NavEntry("Live board", "board")]
