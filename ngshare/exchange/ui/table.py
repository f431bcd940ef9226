"""Sorting, filtering and CSV of an assignment's table, driven by query arguments.

The page works without JavaScript: the server sorts and filters by
``sort``, ``order``, ``q`` and ``status``; the page's script only does the
same in the browser without a reload. Unknown values are a 400, not a guess.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ngshare.exchange.ui.data import Member, StudentRow
from ngshare.exchange.wire import format_timestamp

#: Sort keys: how each orders rows (None sorts first).
SORT_KEYS: dict[str, Callable[[StudentRow], Any]] = {
    "student": lambda r: r.username,
    "name": lambda r: ((r.last_name or "").lower(), (r.first_name or "").lower(), r.username),
    "fetched": lambda r: (r.fetched_at is not None, r.fetched_at or 0, r.username),
    "submissions": lambda r: (len(r.submissions), r.username),
    "latest": lambda r: (r.latest is not None, r.latest or 0, r.username),
    "feedback": lambda r: (r.feedback, r.username),
}

#: Status filters: which rows each keeps.
STATUS_FILTERS: dict[str, Callable[[StudentRow], bool]] = {
    "all": lambda r: True,
    "fetched": lambda r: r.fetched_at is not None,
    "not-fetched": lambda r: r.fetched_at is None,
    "submitted": lambda r: bool(r.submissions),
    "not-submitted": lambda r: not r.submissions,
    "feedback": lambda r: r.feedback,
    "no-feedback": lambda r: bool(r.submissions) and not r.feedback,
}

ORDERS = ("asc", "desc")


class BadQuery(ValueError):
    """A query argument with a value the table does not know."""


@dataclass(frozen=True)
class TableQuery:
    sort: str = "student"
    order: str = "asc"
    q: str = ""
    status: str = "all"

    @classmethod
    def parse(cls, get: Callable[[str, str], str]) -> TableQuery:
        """From query arguments (``get(name, default)``); :class:`BadQuery` for unknown values."""
        query = cls(
            sort=get("sort", "student"),
            order=get("order", "asc"),
            q=get("q", "").strip(),
            status=get("status", "all"),
        )
        if query.sort not in SORT_KEYS:
            raise BadQuery(f"sort must be one of {', '.join(SORT_KEYS)}")
        if query.order not in ORDERS:
            raise BadQuery("order must be asc or desc")
        if query.status not in STATUS_FILTERS:
            raise BadQuery(f"status must be one of {', '.join(STATUS_FILTERS)}")
        if len(query.q) > 200:
            raise BadQuery("q is longer than 200 characters")
        return query

    def apply(self, rows: list[StudentRow]) -> list[StudentRow]:
        keep = STATUS_FILTERS[self.status]
        needle = self.q.lower()
        kept = [r for r in rows if keep(r) and (not needle or needle in _haystack(r))]
        return sorted(kept, key=SORT_KEYS[self.sort], reverse=self.order == "desc")


def _haystack(row: StudentRow) -> str:
    return " ".join(
        x for x in (row.username, row.first_name, row.last_name, row.email) if x
    ).lower()


CSV_COLUMNS = [
    "student_id",
    "first_name",
    "last_name",
    "email",
    "enrolled",
    "fetched_at",
    "submissions",
    "latest",
    "feedback_released",
    "all_timestamps",
]


def _stamp(ts) -> str:
    return "" if ts is None else format_timestamp(ts)


def to_csv(rows: list[StudentRow]) -> str:
    """The table as CSV (timestamps in the API's form, all of them ``;``-separated)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        writer.writerow(
            [
                _safe(r.username),
                _safe(r.first_name or ""),
                _safe(r.last_name or ""),
                _safe(r.email or ""),
                "yes" if r.enrolled else "no",
                _stamp(r.fetched_at),
                len(r.submissions),
                _stamp(r.latest),
                "yes" if r.feedback else "no",
                ";".join(format_timestamp(t) for t in r.submissions),
            ]
        )
    return out.getvalue()


def _safe(text: str) -> str:
    """Keep spreadsheets from running a cell as a formula (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def roster_csv(members: list[Member]) -> str:
    """A course's roster as CSV (the columns the roster API takes, and the role)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["username", "role", "first_name", "last_name", "email"])
    for m in members:
        names = (m.username, m.role, m.first_name or "", m.last_name or "", m.email or "")
        writer.writerow([_safe(x) for x in names])
    return out.getvalue()
