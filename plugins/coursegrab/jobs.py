"""CourseGrab's scheduled work, on the core scheduler; each window's run claimed once.

* ``coursegrab.ingest`` (daily, and at start-up when no roster is loaded yet):
  loads the source's newest roster; a new term archives the old one's tracking.
  It ticks hourly and ingests once per UTC day.
* ``coursegrab.poll`` (every ``poll_interval_seconds``): refreshes the current
  term's section statuses and tells trackers of each change. It ticks every
  :data:`TICK_SECONDS` and polls once per window of ``poll_interval_seconds``
  (the setting is read at run time, so it needs no restart of the scheduler).
* ``coursegrab.clean_sessions`` (hourly): ends sessions whose update token expired.

Each window's work is claimed through the core scheduler
(``ctx.scheduler.run_once``, key ``<job id>:window``, run time = the window's
start): on several replicas one of them runs each window, runs never
overlap, and a replica that dies mid-run is replaced within the scheduler's
lease time. A source that answers badly raises
:class:`~ngshare_coursegrab.roster.RosterError` before anything is written:
the last good data stays, the failure is recorded on the window's claim and
in the scheduler's run record (the job fails).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, TypeVar

from ngshare_coursegrab import catalog, sessions
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


def window_key(job_id: str) -> str:
    """The key of ``job_id``'s per-window claims (not the job's own per-tick claims)."""
    return f"{job_id}:window"


def window_start(interval_seconds: float, now: float | None = None) -> datetime:
    """The start of the current window of ``interval_seconds`` (naive UTC), the claim's run time."""
    now = time.time() if now is None else now
    start = (now // interval_seconds) * interval_seconds
    return datetime.fromtimestamp(start, timezone.utc).replace(tzinfo=None)


async def run_exclusive(
    ctx: ServerContext,
    job_id: str,
    window: datetime,
    force: bool,
    work: Callable[[], Awaitable[T]],
    retry_on_failure: bool = False,
) -> T | None:
    """Run ``work`` if this server claims the job's ``window``; ``None`` if not.

    ``force`` runs even if the window ran already (never while a run goes
    on). With ``retry_on_failure`` a failed run does not use up its window
    (the daily ingest tries again at its next hourly tick; a failed poll
    waits for its next window rather than hammering a source that is down).
    """

    async def logged() -> T:
        try:
            return await work()
        except Exception as e:
            reason = f"{type(e).__name__}: {e}"
            ctx.log.warning("%s: failed, the last good data stays: %s", job_id, reason)
            raise

    redo = "any" if force else ("failed" if retry_on_failure else "never")
    claimed = False

    async def claimed_work() -> T:
        nonlocal claimed
        claimed = True
        return await logged()

    result = await ctx.scheduler.run_once(window_key(job_id), window, claimed_work, redo=redo)
    if not claimed:
        ctx.log.info("%s: skipped, another run has or had this window", job_id)
    return result


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

    window = window_start(INGEST_INTERVAL_SECONDS)
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

    window = window_start(settings.poll_interval_seconds)
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
    except Exception:  # recorded on the window's claim and logged by run_exclusive
        pass
