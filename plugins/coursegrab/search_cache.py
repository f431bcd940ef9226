"""Anonymous searches answered from memory: each course's JSON, serialised once per change.

Without a session a search's answer depends only on the catalog, so each
course's JSON (with its sections, ``is_tracking`` false) is kept as text (all
of the term's courses at once when a roster is new, a course again after it
changed) and an answer is the matching texts joined: no database round trip
and no serialisation per search. A search by a signed-in person (``is_tracking``
differs per person) never uses it.

Staying correct when the catalog changes:

- a track or an untrack here drops its course at once
  (:meth:`SearchCache.forget`); an ingest or a poll here syncs at once
  (:meth:`SearchCache.expire`, then :meth:`SearchCache.sync` in the job);
- a sync reads the current term's ``(pk, loaded_at)`` (a new roster: every
  course's text is made again, in the sync) and the sections whose
  ``updated_at`` is new since the last sync, and drops their courses. Syncs
  also happen at most every ``c.CourseGrab.search_cache_seconds`` (default
  1 s) before an answer, so another replica's change is seen within that
  time; 0 syncs before every search.

A fill that read the database while something was forgotten does not store
what it read (the generation counter), so a stale text cannot outlive a change.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta

from ngshare_coursegrab.course_index import CourseIndex
from ngshare_coursegrab.models import Course, Section, Term
from ngshare_coursegrab.search import sections_of
from ngshare_coursegrab.wire import course_json
from sqlalchemy import select
from sqlalchemy.orm import Session

from ngshare.plugin_api import utcnow

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


class SearchCache:
    """Course JSON texts of the current term, by course pk, and when they were last checked."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._texts: dict[int, str] = {}
        self._term: tuple[int, datetime] | None = None
        #: the database's stamps of recently changed sections, as of the last sync
        self._stamps: dict[int, datetime] = {}
        self._last_sync: datetime | None = None
        self._synced_at = float("-inf")
        self._generation = 0
        self._lock = threading.Lock()
        #: answers given without the database, fills, course texts a fill had to make
        self.hits = 0
        self.fills = 0
        self.made = 0

    # -- change --------------------------------------------------------------------------

    def forget(self, course_pks: list[int]) -> None:
        """Drop these courses' texts (this server changed them)."""
        with self._lock:
            self._generation += 1
            for pk in course_pks:
                self._texts.pop(pk, None)

    def expire(self) -> None:
        """Sync before the next answer (this server ingested or polled)."""
        self._synced_at = float("-inf")

    def sync(self, session: Session) -> None:
        """Catch up with changes made anywhere (other replicas included).

        A change is a section whose ``updated_at`` is new since the last sync:
        rows stamped from a little before the last sync (``CLOCK_SKEW``: other
        clocks, transactions that committed after they stamped) are read, and
        those whose stamp was not seen yet drop their course's text.
        """
        started = utcnow()
        term = session.execute(
            select(Term.pk, Term.loaded_at).where(Term.is_current.is_(True))
        ).first()
        current = None if term is None else (term.pk, term.loaded_at)
        stamps: dict[int, tuple[int, datetime]] = {}
        if current is not None:
            since = (self._last_sync or started) - CLOCK_SKEW
            rows = session.execute(
                select(Section.pk, Section.course_pk, Section.updated_at).where(
                    Section.term_pk == current[0], Section.updated_at >= since
                )
            )
            stamps = {pk: (course_pk, stamp) for pk, course_pk, stamp in rows}
        rebuilt = None
        if current is not None and current != self._term:
            rebuilt = _all_texts(session, current[0])  # read after the stamps: never older
        with self._lock:
            self._generation += 1
            if current != self._term:
                self._texts = rebuilt or {}
            else:
                for pk, (course_pk, stamp) in stamps.items():
                    if self._stamps.get(pk) != stamp:
                        self._texts.pop(course_pk, None)
            self._stamps = {pk: stamp for pk, (_, stamp) in stamps.items()}
            self._term = current
            self._last_sync = started
            self._synced_at = time.monotonic()

    # -- answering -----------------------------------------------------------------------

    def _fresh(self) -> bool:
        return time.monotonic() - self._synced_at < self.seconds

    def answer(self, index: CourseIndex, compact: str, limit: int) -> str | None:
        """The JSON list of courses for ``compact`` from memory; ``None``: ask the database."""
        term = self._term
        if not compact or term is None or not self._fresh():
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
        if not self._fresh():
            self.sync(session)
        term = self._term
        if term is None or not compact:
            return "[]"
        generation = self._generation
        pks = index.search(session, term[0], term[1], compact, limit)
        with self._lock:
            texts = {pk: self._texts[pk] for pk in pks if pk in self._texts}
        missing = [pk for pk in pks if pk not in texts]
        if missing:
            courses = session.scalars(select(Course).where(Course.pk.in_(missing)))
            sections, _ = sections_of(session, missing, None)
            for course in courses:
                texts[course.pk] = _course_text(course, sections[course.pk])
                self.made += 1
        with self._lock:
            if generation == self._generation:
                self._texts.update(texts)
            self.fills += 1
        return "[" + ",".join(texts[pk] for pk in pks if pk in texts) + "]"
