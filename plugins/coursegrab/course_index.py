"""An in-memory index of the current term's courses, so that a search is not a table scan.

Courses change only when a roster is ingested, which stamps the term's
``loaded_at``. Each search reads the current term's ``(pk, loaded_at)`` (one
indexed row) and reuses the index while that stamp is unchanged, so every
replica sees a new ingest on its next search. Matching and ranking over the
cached keys follow the same rules as the SQL query of :mod:`ngshare_coursegrab.search`
(which is used instead when ``c.CourseGrab.search_index_enabled`` is off); the
sections, with their live statuses and counts, always come from the database.
"""

from __future__ import annotations

import re
import threading
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import datetime

from ngshare_coursegrab.models import Course
from sqlalchemy import select
from sqlalchemy.orm import Session

#: ``CS3110`` -> subject ``CS``, number ``3110`` (the rank-0 form of a query).
SUBJECT_NUMBER = re.compile(r"^([A-Z][A-Z0-9]*?)([0-9]{1,6})$")
#: Length of the substrings the gram table is keyed by (queries shorter than this scan).
GRAM = 3


@dataclass(frozen=True)
class _Entry:
    pk: int
    subject_code: str
    course_num: int
    search_key: str


@dataclass(frozen=True)
class _Snapshot:
    term_pk: int
    stamp: datetime
    entries: tuple[_Entry, ...]  # in (subject, number, pk) order
    #: every key, joined by newlines (a query has no whitespace, so no match spans two keys)
    blob: str
    #: where each entry's key starts in ``blob``
    starts: tuple[int, ...]
    #: answers already ranked: (query, limit) -> course pks (see ``CourseIndex.memo_size``)
    answers: dict[tuple[str, int], list[int]] = field(default_factory=dict, compare=False)
    #: every ``GRAM``-character substring of the keys -> positions of the entries that
    #: have it, ascending (``None``: not built, every query scans ``blob``)
    grams: dict[str, list[int]] | None = field(default=None, compare=False)

    def matching(self, compact: str) -> list[int]:
        """Positions of the entries whose key contains ``compact``, ascending.

        With the gram table only the entries holding the query's rarest
        ``GRAM``-character piece are checked (a few dozen keys instead of the
        whole blob); without it, or for a shorter query, ``blob`` is scanned
        (str.find: C speed, but every key each time).
        """
        if self.grams is not None and len(compact) >= GRAM:
            pieces = {compact[i : i + GRAM] for i in range(len(compact) - GRAM + 1)}
            rarest = min((self.grams.get(p, ()) for p in pieces), key=len)
            entries = self.entries
            return [i for i in rarest if compact in entries[i].search_key]
        return self.scan(compact)

    def scan(self, compact: str) -> list[int]:
        """:meth:`matching` by scanning ``blob`` (the reference the gram table must equal)."""
        found = []
        pos = self.blob.find(compact)
        while pos != -1:
            i = bisect_right(self.starts, pos) - 1
            found.append(i)
            if i + 1 == len(self.starts):
                break
            pos = self.blob.find(compact, self.starts[i + 1])
        return found


def _snapshot(
    term_pk: int, stamp: datetime, entries: tuple[_Entry, ...], grams: bool = False
) -> _Snapshot:
    starts, offset = [], 0
    for entry in entries:
        starts.append(offset)
        offset += len(entry.search_key) + 1
    blob = "\n".join(e.search_key for e in entries)
    table = _gram_table(entries) if grams else None
    return _Snapshot(term_pk, stamp, entries, blob, tuple(starts), grams=table)


def _gram_table(entries: tuple[_Entry, ...]) -> dict[str, list[int]]:
    """Each ``GRAM``-character substring of the keys -> the entries having it (ascending)."""
    table: dict[str, list[int]] = {}
    for position, entry in enumerate(entries):
        key = entry.search_key
        for piece in {key[i : i + GRAM] for i in range(len(key) - GRAM + 1)}:
            table.setdefault(piece, []).append(position)
    return table


def rank_of(entry: _Entry, compact: str, pair: re.Match | None) -> int:
    """The search rank of a course whose key contains ``compact`` (0 best)."""
    key = entry.search_key
    if pair and entry.subject_code == pair[1] and entry.course_num == int(pair[2]):
        return 0
    number = compact.isdigit() and len(compact) <= 9 and entry.course_num == int(compact)
    if entry.subject_code == compact or number:
        return 1
    return 2 if key.startswith(compact) else 3


class CourseIndex:
    """The current term's course keys, rebuilt when the term's ``loaded_at`` changes."""

    def __init__(self, memo_size: int = 0, grams: bool = False) -> None:
        #: how many ranked answers to keep per term (0: rank every search); the keys
        #: change only with a new roster, so a kept answer stays right until then
        self.memo_size = memo_size
        #: build the gram table with each snapshot (``c.CourseGrab.search_grams_enabled``)
        self.grams = grams
        self._snapshot: _Snapshot | None = None
        self._lock = threading.Lock()
        #: How many times the index was built (for tests and logs).
        self.builds = 0

    def _current(self, session: Session, term_pk: int, stamp: datetime) -> _Snapshot:
        snapshot = self._snapshot
        if snapshot is not None and (snapshot.term_pk, snapshot.stamp) == (term_pk, stamp):
            return snapshot
        with self._lock:
            snapshot = self._snapshot
            if snapshot is None or (snapshot.term_pk, snapshot.stamp) != (term_pk, stamp):
                rows = session.execute(
                    select(Course.pk, Course.subject_code, Course.course_num, Course.search_key)
                    .where(Course.term_pk == term_pk)
                    .order_by(Course.subject_code, Course.course_num, Course.pk)
                ).all()
                entries = tuple(_Entry(*row) for row in rows)
                snapshot = _snapshot(term_pk, stamp, entries, self.grams)
                self._snapshot = snapshot
                self.builds += 1
        return snapshot

    def search(
        self, session: Session, term_pk: int, stamp: datetime, compact: str, limit: int
    ) -> list[int]:
        """Course pks matching ``compact`` best first, ``limit`` at most."""
        return self._ranked(self._current(session, term_pk, stamp), compact, limit)

    def search_built(
        self, term_pk: int, stamp: datetime, compact: str, limit: int
    ) -> list[int] | None:
        """As :meth:`search` without touching the database; ``None`` if not built for that term."""
        snapshot = self._snapshot
        if snapshot is None or (snapshot.term_pk, snapshot.stamp) != (term_pk, stamp):
            return None
        return self._ranked(snapshot, compact, limit)

    def _ranked(self, snapshot: _Snapshot, compact: str, limit: int) -> list[int]:
        if not self.memo_size:
            return _ranked(snapshot, compact, limit)
        found = snapshot.answers.get((compact, limit))
        if found is None:
            found = _ranked(snapshot, compact, limit)
            if len(snapshot.answers) >= self.memo_size:
                snapshot.answers.clear()  # bounded; the common queries come back at once
            snapshot.answers[(compact, limit)] = found
        return found


def _ranked(snapshot: _Snapshot, compact: str, limit: int) -> list[int]:
    pair = SUBJECT_NUMBER.match(compact)
    ranked = []
    for position in snapshot.matching(compact):
        entry = snapshot.entries[position]
        ranked.append((rank_of(entry, compact, pair), position, entry.pk))
    ranked.sort()
    return [pk for _, _, pk in ranked[:limit]]
