"""CourseGrab's scheduled work, on the core scheduler, each run under a database lease.

* ``coursegrab.ingest`` (daily, and at start-up when no roster is loaded yet):
  loads the source's newest roster; a new term archives the old one's tracking.
  It ticks hourly and ingests once per UTC day.
* ``coursegrab.poll`` (every ``poll_interval_seconds``): refreshes the current
  term's section statuses and tells trackers of each change. It ticks every
  :data:`TICK_SECONDS` and polls once per window of ``poll_interval_seconds``
  (the setting is read at run time, so it needs no restart of the scheduler).
* ``coursegrab.clean_sessions`` (hourly): ends sessions whose update token expired.

A source that answers badly raises :class:`~ngshare_coursegrab.roster.RosterError`
before anything is written: the last good data stays, the failure is recorded
on the lease row and in the scheduler's run record (the job fails).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from ngshare_coursegrab import catalog, leases, sessions
from ngshare_coursegrab.config import CourseGrab
from ngshare_coursegrab.roster import HttpRosterSource, JsonFileRosterSource, RosterSource
from ngshare_coursegrab.search_cache import SearchCache

if TYPE_CHECKING:
    from ngshare.plugin_api import ServerContext

T = TypeVar("T")

INGEST_ID = "coursegrab.ingest"
POLL_ID = "coursegrab.poll"
CLEAN_ID = "coursegrab.clean_sessions"
INGEST_INTERVAL_SECONDS = 86400
CLEAN_INTERVAL_SECONDS = 3600
#: How often the ingest job wakes to see whether the day's ingest is due (or failed).
INGEST_TICK_SECONDS = 3600
#: How often the poll job wakes to see whether a new poll window has begun.
TICK_SECONDS = 10
#: A lease outlives any sane run; a replica that died holding one frees it after this.
HOLD_SECONDS = 3600.0


def roster_source(settings: CourseGrab) -> RosterSource | None:
    """The configured source: the HTTP roster API if ``roster_url`` is set, else the file."""
    if settings.roster_url:
        return HttpRosterSource(
            settings.roster_url,
            timeout=settings.roster_timeout_seconds,
            subjects=settings.roster_subjects,
            min_interval=settings.roster_min_interval_seconds,
        )
    if settings.roster_file:
        return JsonFileRosterSource(settings.roster_file)
    return None


def _holder() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{secrets.token_hex(4)}"


async def run_exclusive(
    ctx: ServerContext,
    job_id: str,
    window: int,
    force: bool,
    work: Callable[[], Awaitable[T]],
    retry_on_failure: bool = False,
) -> T | None:
    """Run ``work`` if this process wins the job's lease for ``window``; ``None`` if not.

    With ``retry_on_failure`` a failed run does not use up its window (the
    daily ingest tries again at its next hourly tick; a failed poll waits for
    its next window rather than hammering a source that is down).
    """
    holder = _holder()
    if not await ctx.db.run(leases.claim, job_id, window, holder, HOLD_SECONDS, force):
        ctx.log.info("%s: skipped, another run has or had this window", job_id)
        return None
    error = None
    try:
        return await work()
    except Exception as e:
        error = f"{type(e).__name__}: {e}"
        ctx.log.warning("%s: failed, the last good data stays: %s", job_id, error)
        raise
    finally:
        await asyncio.shield(ctx.db.run(leases.release, job_id, holder, error, retry_on_failure))


async def ingest_now(ctx: ServerContext, force: bool = False) -> catalog.Outcome | None:
    """Load the newest roster (once per day unless ``force``); what it did, or ``None``."""
    source = roster_source(ctx.state(CourseGrab))
    if source is None:
        ctx.log.info("%s: no roster source configured (c.CourseGrab.roster_url)", INGEST_ID)
        return None

    async def work() -> catalog.Outcome:
        term, description = await source.newest_term()
        roster = await source.fetch(term)
        roster.description = roster.description or description
        outcome = await ctx.db.run(catalog.apply_roster, ctx.notifications, roster)
        await _sync_search_cache(ctx)
        ctx.log.info(
            "%s: %s: %d courses, %d sections, %d changes, %d archived, %d messages",
            INGEST_ID,
            outcome.term,
            outcome.courses,
            outcome.sections,
            outcome.changes,
            outcome.archived,
            outcome.messages,
        )
        return outcome

    window = int(time.time() // INGEST_INTERVAL_SECONDS)
    return await run_exclusive(ctx, INGEST_ID, window, force, work, retry_on_failure=True)


async def poll_now(ctx: ServerContext, force: bool = False) -> catalog.Outcome | None:
    """Refresh statuses (once per poll window unless ``force``); what it did, or ``None``."""
    settings = ctx.state(CourseGrab)
    source = roster_source(settings)
    if source is None:
        return None

    async def work() -> catalog.Outcome | None:
        term = await ctx.db.run(_current_slug)
        if term is None:
            ctx.log.info("%s: no roster loaded yet", POLL_ID)
            return None
        roster = await source.fetch(term)
        outcome = await ctx.db.run(catalog.apply_statuses, ctx.notifications, roster)
        await _sync_search_cache(ctx)
        ctx.log.info(
            "%s: %s: %d sections, %d changes, %d messages",
            POLL_ID,
            outcome.term,
            outcome.sections,
            outcome.changes,
            outcome.messages,
        )
        return outcome

    window = int(time.time() // settings.poll_interval_seconds)
    return await run_exclusive(ctx, POLL_ID, window, force, work)


async def _sync_search_cache(ctx: ServerContext) -> None:
    """Searches see the new data now (not at the next sync), and the first pays no rebuild."""
    cache = ctx.state(SearchCache)
    cache.expire()
    if ctx.state(CourseGrab).search_cache_enabled:
        await ctx.db.run(cache.sync)


def _current_slug(session) -> str | None:
    term = catalog.current_term(session)
    return None if term is None else term.slug


async def ingest(ctx: ServerContext) -> None:
    """The ``coursegrab.ingest`` job."""
    await ingest_now(ctx)


async def poll(ctx: ServerContext) -> None:
    """The ``coursegrab.poll`` job."""
    await poll_now(ctx)


async def clean_sessions(ctx: ServerContext) -> None:
    """The ``coursegrab.clean_sessions`` job."""
    n = await ctx.db.run(sessions.clean_sessions, ctx.notifications)
    if n:
        ctx.log.info("%s: ended %d expired session(s)", CLEAN_ID, n)


async def ingest_at_start(ctx: ServerContext) -> None:
    """At start-up: ingest now if no roster is loaded, else the day's ingest if not done."""
    try:
        loaded = await ctx.db.run(_current_slug)
        await ingest_now(ctx, force=loaded is None)
    except Exception:  # recorded on the lease row and logged by run_exclusive
        pass
