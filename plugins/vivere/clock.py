"""Vivere's notion of time: one replaceable clock, and ISO 8601 in and out.

Every rule that depends on the time (ticket expiry, announcements becoming
due) asks ``ctx.state(Clock).now()``, computed on the IOLoop and
handed to the database functions as an argument. Tests put a clock of their
own there and move it, instead of sleeping.

Times are stored as naive UTC (as the core stores them), cut to whole
milliseconds, and sent as ``2017-02-25T15:55:05.978Z`` — the precision that
is sent is the precision that is stored, so a client that passes the newest
announcement's ``time`` back as ``since_date`` does not get it again.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

#: Earliest and latest times accepted from clients (datetime's range, with room for offsets).
_MIN = datetime(1, 1, 2)
_MAX = datetime(9999, 12, 30)

# "2017-01-01T00:00:00+01:00" sent unencoded in a query string arrives with a space for "+"
_SPACE_OFFSET = re.compile(r"(T[\d:.,]+) (\d{2}(?::?\d{2})?)$")


def to_ms(value: datetime) -> datetime:
    """``value`` without its sub-millisecond digits."""
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


class Clock:
    """The real clock: naive UTC, whole milliseconds."""

    def now(self) -> datetime:
        return to_ms(datetime.now(timezone.utc).replace(tzinfo=None))


def iso(value: datetime | None) -> str | None:
    """Naive UTC -> ``YYYY-MM-DDTHH:MM:SS.mmmZ`` (``None`` stays ``None``)."""
    if value is None:
        return None
    return value.isoformat(timespec="milliseconds") + "Z"


def parse_iso(text: str) -> datetime:
    """An ISO 8601 date or date-time -> naive UTC, whole milliseconds.

    Accepts ``2017-02-22``, ``2017-02-22T21:44:27``, fractions, ``Z`` and
    ``+hh:mm`` offsets; a time without offset is UTC.

    :raises ValueError: anything else, or a date outside datetime's range.
    """
    if not isinstance(text, str):
        raise ValueError("not a string")
    text = _SPACE_OFFSET.sub(r"\1+\2", text.strip())
    if not text or len(text) > 64:
        raise ValueError("not an ISO 8601 date")
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not an ISO 8601 date: {text!r}") from None
    if value.tzinfo is not None:
        if not (_MIN < value.replace(tzinfo=None) < _MAX):
            raise ValueError("date out of range")
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return to_ms(value)
