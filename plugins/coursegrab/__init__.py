"""CourseGrab: track course sections, get told the moment one opens — the ngshare plugin
``coursegrab`` (mounted at ``{prefix}coursegrab/``).

It rebuilds the CourseGrab backend (Flask + SQLite, Cornell AppDev) on
ngshare's core services: people sign in with an OpenID Connect ID token
(Google's, or any configured issuer), a JupyterHub identity or, under
``vngshare``, the dev ``user=``; sessions are core tokens; the roster comes
from a source speaking the Cornell Class Roster API or a JSON file, loaded and
polled by jobs on the core scheduler; trackers are told through the core
notifications service. See ``docs/coursegrab.md``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from ngshare_coursegrab import jobs, sessions
from ngshare_coursegrab.config import CourseGrab
from ngshare_coursegrab.course_index import CourseIndex
from ngshare_coursegrab.handlers import handlers
from ngshare_coursegrab.models import CourseGrabBase
from ngshare_coursegrab.oidc import IdTokenVerifier
from ngshare_coursegrab.openapi import PATHS
from ngshare_coursegrab.search_cache import SearchCache

from ngshare.plugin_api import InvalidRecipient, Job, Plugin, ServerContext

__version__ = "1.0.0"

#: Ranked search answers the course index keeps per term (with the search cache on).
RANKED_ANSWERS = 20_000


class StartupIngest:
    """The start-up ingest of one server, kept so that it can be awaited and cancelled."""

    def __init__(self, task: asyncio.Task) -> None:
        self.task = task

    async def wait(self) -> None:
        """Until the roster is loaded (or the load failed; the failure is recorded)."""
        await asyncio.shield(self.task)


async def startup(ctx: ServerContext) -> None:
    """Install the ID-token verifier (and its key cache), the course index and search cache."""
    settings = ctx.state(CourseGrab)
    if not ctx.has_state(CourseIndex):
        memo = RANKED_ANSWERS if settings.search_cache_enabled else 0
        ctx.set_state(CourseIndex(memo_size=memo, grams=settings.search_grams_enabled))
    if not ctx.has_state(SearchCache):
        ctx.set_state(SearchCache(settings.search_cache_seconds))
    if not ctx.has_state(IdTokenVerifier):
        ctx.set_state(
            IdTokenVerifier(
                refresh_seconds=settings.jwks_refresh_seconds,
                max_age_seconds=settings.jwks_max_age_seconds,
            )
        )


async def ready(ctx: ServerContext) -> None:
    """Load the roster in the background at start-up (the seed's "first start" ingest)."""
    ctx.set_state(StartupIngest(asyncio.ensure_future(jobs.ingest_at_start(ctx))))


async def shutdown(ctx: ServerContext) -> None:
    """A start-up ingest still running stops with the server."""
    if ctx.has_state(StartupIngest):
        task = ctx.state(StartupIngest).task
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def invalid_recipient(ctx: ServerContext, recipient: InvalidRecipient) -> None:
    """A push provider said a device token is dead: end the sessions of that device."""
    if recipient.channel in ("apns", "fcm"):
        n = await ctx.db.run(
            sessions.drop_sessions_of_address, ctx.notifications, recipient.address
        )
        if n:
            ctx.log.info("coursegrab: ended %d session(s) of a dead device token", n)


plugin = Plugin(
    name="coursegrab",
    version=__version__,
    description="CourseGrab: track course sections, get told the moment one opens.",
    handlers=handlers,
    metadata=CourseGrabBase.metadata,
    migrations=str(Path(__file__).parent / "migrations" / "versions"),
    config=CourseGrab,
    startup=startup,
    ready=ready,
    shutdown=shutdown,
    invalid_recipient=invalid_recipient,
    jobs=[
        Job(jobs.INGEST_ID, jobs.ingest, "interval", {"seconds": jobs.INGEST_TICK_SECONDS}),
        Job(jobs.POLL_ID, jobs.poll, "interval", {"seconds": jobs.TICK_SECONDS}),
        Job(
            jobs.CLEAN_ID, jobs.clean_sessions, "interval", {"seconds": jobs.CLEAN_INTERVAL_SECONDS}
        ),
    ],
    openapi=PATHS,
)
