"""Anonymous searches answered from memory: each course's JSON, serialised once per change.

Without a session a search's answer depends only on the catalog, so each
course's JSON (with its sections, ``is_tracking`` false) is kept as text (all
of the term's courses at once when a roster is new, a course again after it
changed) and an answer is the matching texts joined: no database round trip
and no serialisation per search. A search by a signed-in person (``is_tracking``
differs per person) never uses it.

Staying correct when the catalog changes:

- a track or an untrack here drops its course at once
  (:meth:`SearchCache.forget`) and has its text made again in the
  background (:meth:`SearchCache.remake_soon`), so the next searches find it
  in memory; an ingest or a poll here syncs at once
  (:meth:`SearchCache.expire`, then :meth:`SearchCache.sync` in the job);
- a sync reads the current term's ``(pk, loaded_at)`` (a new roster: every
  course's text is made again, in the sync) and the sections whose
  ``updated_at`` is new since the last sync, drops their courses and makes
  their texts again, in the same database call;
- a sync starts once the texts are ``c.CourseGrab.search_cache_seconds``
  old (default 1 s), on the first search after that, in the background
  (:meth:`SearchCache.sync_soon`): searches go on being answered from memory
  while it runs, so another replica's change is seen within that time plus
  one sync. Texts older than twice that (a server nobody searched for a
  while), or expired by this server, are not used: the searches that arrive
  then wait for one sync together (:meth:`SearchCache.synced`), not one
  database call each. 0 syncs before every search.

Every change counts one generation up. A text read from the database is
kept only if its course did not change (and no new roster came) since the
read began, so a stale text cannot outlive a change.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from ngshare_coursegrab.course_index import CourseIndex
from ngshare_coursegrab.models import Course, Section, Term
from ngshare_coursegrab.search import sections_of
from ngshare_coursegrab.wire import course_json
from sqlalchemy import String, cast, select
from sqlalchemy.orm import Session

from ngshare.plugin_api import SingleFlight, utcnow

log = logging.getLogger(__name__)

#: ``ctx.db.run``: calls ``fn(session)`` on a database thread.
Runner = Callable[[Callable[[Session], None]], Awaitable[None]]

#: Clocks of replicas differ a little, and a transaction stamps before it commits: a sync
#: reads the stamps from this long before the previous sync started.
CLOCK_SKEW = timedelta(seconds=5)


def _course_text(course: Course, sections: list[Section]) -> str:
    return json.dumps(course_json(course, sections, set()), separators=(",", ":"))


def _all_texts(session: Session, term_pk: int) -> dict[int, str]:
    """Every course of the term as JSON text (two queries; once per new roster)."""
    courses = list(session.scalars(select(Course).where(Course.term_pk == term_pk)))
    by_course: dict[int, list[Section]] = {c.pk: [] for c in courses}
    for section in session.scalars(
        select(Section).where(Section.term_pk == term_pk).order_by(Section.catalog_num)
    ):
        by_course.setdefault(section.course_pk, []).append(section)
    return {c.pk: _course_text(c, by_course[c.pk]) for c in courses}


def _texts_of(session: Session, course_pks: list[int]) -> dict[int, str]:
    """These courses' texts, read now (two queries)."""
    if not course_pks:
        return {}
    courses = session.scalars(select(Course).where(Course.pk.in_(course_pks)))
    sections, _ = sections_of(session, course_pks, None)
    return {c.pk: _course_text(c, sections[c.pk]) for c in courses}


class SearchCache:
    """Course JSON texts of the current term, by course pk, and when they were last checked."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._texts: dict[int, str] = {}
        self._term: tuple[int, datetime] | None = None
        #: the database's stamps of recently changed sections, as of the last sync
        self._stamps: dict[int, str] = {}
        self._last_sync: datetime | None = None
        self._synced_at = float("-inf")
        self._expiries = 0
        self._lock = threading.Lock()
        #: counts every change; when each course last changed; when every text was replaced
        self._generation = 0
        self._changed_at: dict[int, int] = {}
        self._replaced_at = 0
        #: courses whose texts are to be made again (:meth:`remake`)
        self._to_remake: set[int] = set()
        self._syncs: SingleFlight[None] = SingleFlight()
        self._background: dict[str, asyncio.Future] = {}
        #: answers given without the database, fills, course texts made again, syncs
        self.hits = 0
        self.fills = 0
        self.made = 0
        self.syncs = 0

    # -- change --------------------------------------------------------------------------

    def forget(self, course_pks: list[int]) -> None:
        """Drop these courses' texts (this server changed them); :meth:`remake` makes them again."""
        with self._lock:
            self._changed(course_pks)

    def _changed(self, course_pks) -> None:
        """Under the lock: these courses' texts are gone until made again."""
        self._generation += 1
        for pk in course_pks:
            self._texts.pop(pk, None)
            self._changed_at[pk] = self._generation
            self._to_remake.add(pk)

    def _current(self, texts: dict[int, str], read_at: int) -> dict[int, str]:
        """Under the lock: those of ``texts``, read at generation ``read_at``, still current."""
        if self._replaced_at > read_at:
            return {}
        changed = self._changed_at
        return {pk: text for pk, text in texts.items() if changed.get(pk, 0) <= read_at}

    def _store(self, texts: dict[int, str], read_at: int) -> None:
        """Under the lock: keep those texts read at generation ``read_at`` still current."""
        current = self._current(texts, read_at)
        self._texts.update(current)
        self._to_remake.difference_update(current)

    def expire(self) -> None:
        """Sync before the next answer (this server ingested or polled)."""
        self._expiries += 1
        self._synced_at = float("-inf")

    def _age(self) -> float:
        return time.monotonic() - self._synced_at

    def sync(self, session: Session) -> None:
        """Catch up with changes made anywhere (other replicas included).

        A change is a section whose ``updated_at`` is new since the last sync:
        rows stamped from a little before the last sync (``CLOCK_SKEW``: other
        clocks, transactions that committed after they stamped) are read, and
        those whose stamp was not seen yet drop their course's text, which is
        then made again from what the database holds now.
        """
        started = utcnow()
        began = time.monotonic()
        expiries = self._expiries
        term = session.execute(
            select(Term.pk, Term.loaded_at).where(Term.is_current.is_(True))
        ).first()
        current = None if term is None else (term.pk, term.loaded_at)
        stamps: dict[int, tuple[int, str]] = {}
        if current is not None:
            since = (self._last_sync or started) - CLOCK_SKEW
            # the stamps as the database's text: only compared, and 10 000 rows (a sync
            # within CLOCK_SKEW of an ingest) parse as datetimes in ~20 ms, as text in ~3
            rows = session.execute(
                select(Section.pk, Section.course_pk, cast(Section.updated_at, String)).where(
                    Section.term_pk == current[0], Section.updated_at >= since
                )
            )
            stamps = {pk: (course_pk, stamp) for pk, course_pk, stamp in rows}
        rebuilt = None
        dropped: set[int] = set()
        remade: list[int] = []
        made: dict[int, str] = {}
        with self._lock:
            read_at = self._generation
            if current is not None and current == self._term:
                dropped = {
                    course_pk
                    for pk, (course_pk, stamp) in stamps.items()
                    if self._stamps.get(pk) != stamp
                }
                remade = sorted(dropped | self._to_remake)
        # read after the stamps: never older than what they say
        if current is not None and current != self._term:
            rebuilt = _all_texts(session, current[0])
        elif remade:
            made = _texts_of(session, remade)
        with self._lock:
            if current != self._term:
                self._generation += 1
                self._replaced_at = self._generation
                self._changed_at.clear()
                self._to_remake.clear()
                self._texts = rebuilt or {}
            else:
                # texts read here replace the dropped ones at once (nothing answers in
                # between without them), unless this server changed their course meanwhile
                current_texts = self._current(made, read_at)
                self._changed(dropped)
                self._texts.update(current_texts)
                self._to_remake.difference_update(current_texts)
                self._to_remake.difference_update(pk for pk in remade if pk not in made)
                self.made += len(current_texts)
            self._stamps = {pk: stamp for pk, (_, stamp) in stamps.items()}
            self._term = current
            self._last_sync = started
            if expiries == self._expiries:  # else this server changed something meanwhile
                self._synced_at = began
            self.syncs += 1

    def remake(self, session: Session) -> None:
        """Make again the texts of the courses that changed (a database call)."""
        with self._lock:
            course_pks = sorted(self._to_remake)
            read_at = self._generation
        if not course_pks:
            return
        texts = _texts_of(session, course_pks)
        with self._lock:
            self._store(texts, read_at)
            gone = [pk for pk in course_pks if pk not in texts]  # no longer in the catalog
            self._to_remake.difference_update(gone)
            self.made += len(texts)

    # -- background work -----------------------------------------------------------------

    async def synced(self, run: Runner) -> None:
        """Sync now unless the texts may be used, through ``run``; one sync for every caller.

        ``run(fn)`` calls ``fn(session)`` on a database thread (``ctx.db.run``).
        With ``seconds`` 0 every search syncs in its own call (:meth:`fill`).
        """
        if self.seconds > 0 and not self._usable():
            await self._syncs.run("sync", lambda: run(self.sync))

    def sync_soon(self, run: Runner) -> None:
        """Start a sync in the background if one is due and none is running."""
        if self.seconds > 0 and not self._fresh():
            self._in_background("sync", lambda: self._syncs.run("sync", lambda: run(self.sync)))

    def remake_soon(self, run: Runner) -> None:
        """Make the changed courses' texts again in the background (one call at a time)."""

        async def remake() -> None:
            while self._to_remake:  # courses that changed again while they were read
                generation = self._generation
                await run(self.remake)
                if self._generation == generation:
                    break

        self._in_background("remake", remake)

    def _in_background(self, name: str, work: Callable[[], Awaitable[None]]) -> None:
        if name in self._background:
            return
        task = asyncio.ensure_future(work())
        self._background[name] = task

        def done(task: asyncio.Future) -> None:
            del self._background[name]
            if not task.cancelled() and task.exception() is not None:
                log.warning("search cache %s failed: %s", name, task.exception())

        task.add_done_callback(done)

    # -- answering -----------------------------------------------------------------------

    def _fresh(self) -> bool:
        """Synced within ``seconds``: no sync due."""
        return self._age() < self.seconds

    def _usable(self) -> bool:
        """Recent enough to answer from while a sync runs (see the module's docstring)."""
        return self._age() < 2 * self.seconds

    def answer(self, index: CourseIndex, compact: str, limit: int) -> str | None:
        """The JSON list of courses for ``compact`` from memory; ``None``: ask the database."""
        term = self._term
        if not compact or term is None or not self._usable():
            return None if compact else "[]"
        pks = index.search_built(term[0], term[1], compact, limit)
        if pks is None:
            return None
        texts = self._texts
        found = [texts.get(pk) for pk in pks]
        if None in found:
            return None
        self.hits += 1
        return "[" + ",".join(found) + "]"  # type: ignore[arg-type]

    def fill(self, session: Session, index: CourseIndex, compact: str, limit: int) -> str:
        """The JSON list of courses for ``compact``, reading what memory lacks (a database call)."""
        if not self._usable():
            self.sync(session)
        term = self._term
        if term is None or not compact:
            return "[]"
        read_at = self._generation
        pks = index.search(session, term[0], term[1], compact, limit)
        with self._lock:
            texts = {pk: self._texts[pk] for pk in pks if pk in self._texts}
        made = _texts_of(session, [pk for pk in pks if pk not in texts])
        texts.update(made)
        with self._lock:
            self._store(made, read_at)
            self.made += len(made)
            self.fills += 1
        return "[" + ",".join(texts[pk] for pk in pks if pk in texts) + "]"
