"""``{prefix}ui/admin``: the admin console (admins only).

One page over the services that already exist: the loaded plugins
(:func:`ngshare.admin.describe`), the scheduler's jobs with a *run now*
button (:meth:`Scheduler.run_now`), the live channels and their subscribers
(:class:`EventBus`), the notification outbox by status with a *retry*
button for failed messages (:class:`NotificationService`), the database and
storage sizes, the version and the uptime. The buttons are plain forms
(XSRF-checked POSTs answered with a redirect back), so they work without
JavaScript.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ngshare import __version__
from ngshare.admin import describe
from ngshare.db import MAX_KEY
from ngshare.notifications.models import FAILED, STATUSES
from ngshare.notifications.store import count_by_status, message_status
from ngshare.scheduler.handlers import run_job_now
from ngshare.ui.handler import PageHandler, page
from ngshare.ui.server_facts import (
    ServerStart,
    StorageSizeCache,
    database_size_bytes,
    folder_size_bytes,
    human_bytes,
    human_duration,
)
from ngshare.web import ApiError

ERR_SCHEDULER_STOPPED = "The scheduler is not running."
ERR_NOTIFICATIONS_STOPPED = "The notification service is not running."
ERR_MESSAGE_NOT_FOUND = "There is no such message."
ERR_NOT_FAILED = "Only failed messages can be retried."
#: Failed messages listed on the console (the newest).
FAILED_SHOWN = 10


class _AdminPage(PageHandler):
    admins_only = True

    def back(self, **query: str) -> None:
        """303 to the console (the browser GETs it again), with a one-line notice."""
        self.redirect(self.page_url("ui/admin", **query), status=303)


class AdminConsolePage(_AdminPage):
    """``{prefix}ui/admin``: GET (admins) — the console."""

    title = "Admin console"

    @page
    async def get(self) -> None:
        ctx = self.ctx
        prefix = ctx.config.prefix
        bus = ctx.events
        channels = []
        if bus is not None:
            for name, (owner, channel) in sorted(bus.channels.items()):
                channels.append((name, owner, channel.description, bus.subscriber_count(name)))
        # independent reads, side by side
        jobs, outbox, failed, db_bytes, storage = await asyncio.gather(
            self._jobs(),
            ctx.db.run(count_by_status),
            self._failed(),
            ctx.db.run(database_size_bytes),
            self._storage_size(),
        )
        start = ctx.state(ServerStart) if ctx.has_state(ServerStart) else None
        self.render_page(
            "admin.html",
            plugins=[describe(p, prefix) for p in ctx.plugins],
            jobs=jobs,
            channels=channels,
            subscribers=bus.subscriber_count() if bus is not None else 0,
            outbox=[(s, outbox.get(s, 0)) for s in STATUSES],
            failed=failed,
            database_size=human_bytes(db_bytes),
            database_kind=ctx.db.engine.dialect.name,
            storage_size=human_bytes(storage[0]),
            storage_files=storage[1],
            server_version=__version__,
            uptime=human_duration(start.uptime_seconds()) if start else "unknown",
            notice=self.get_query_argument("notice", ""),
        )

    async def _jobs(self) -> list[dict[str, Any]]:
        return await self.ctx.scheduler.jobs() if self.ctx.scheduler is not None else []

    async def _failed(self) -> list[dict[str, Any]]:
        if self.ctx.notifications is None:
            return []
        return await self.ctx.notifications.messages(status=FAILED, limit=FAILED_SHOWN)

    async def _storage_size(self) -> tuple[int, int]:
        """Bytes and files of the blob store's folder (a walk, reused for a minute)."""
        ctx = self.ctx
        if not ctx.has_state(StorageSizeCache):
            ctx.set_state(StorageSizeCache())
        cache = ctx.state(StorageSizeCache)
        fresh = cache.fresh()
        if fresh is not None:
            return fresh
        return cache.keep(await ctx.run_blocking(folder_size_bytes, ctx.storage.root))


class AdminRunJobPage(_AdminPage):
    """``{prefix}ui/admin/jobs/<job_id>/run``: POST (admins, XSRF) — run a job now, then back."""

    @page
    async def post(self, job_id: str) -> None:
        scheduler = self.ctx.scheduler
        if scheduler is None:
            raise ApiError(503, ERR_SCHEDULER_STOPPED)
        job = await run_job_now(scheduler, job_id)
        outcome = "succeeded" if job.get("last_success") else f"failed: {job.get('last_error')}"
        self.back(notice=f"Ran {job_id}: {outcome}")


class AdminRetryMessagePage(_AdminPage):
    """``{prefix}ui/admin/notifications/<message_id>/retry``: POST (admins, XSRF) — retry one."""

    @page
    async def post(self, message_id: str) -> None:
        service = self.ctx.notifications
        if service is None:
            raise ApiError(503, ERR_NOTIFICATIONS_STOPPED)
        digits = message_id.isascii() and message_id.isdigit() and len(message_id) <= 10
        pk = int(message_id) if digits else 0
        status = await self.ctx.db.run(message_status, pk) if 0 < pk <= MAX_KEY else None
        if status is None:
            raise ApiError(404, ERR_MESSAGE_NOT_FOUND)
        if status != FAILED or not await service.retry([pk]):
            raise ApiError(409, ERR_NOT_FAILED)
        self.back(notice=f"Message {pk} will be sent again")


def routes(ctx) -> list[tuple]:
    prefix = ctx.config.prefix
    return [
        (prefix + r"ui/admin/?", AdminConsolePage, {"ctx": ctx}),
        (
            prefix + r"ui/admin/jobs/(?P<job_id>[^/]+)/run",
            AdminRunJobPage,
            {"ctx": ctx},
        ),
        (
            prefix + r"ui/admin/notifications/(?P<message_id>[^/]+)/retry",
            AdminRetryMessagePage,
            {"ctx": ctx},
        ),
    ]
