"""When each message of a delivery is due: pure functions, no database.

A delivery starts at ``start`` (naive UTC): the welcome message (step 0) is
due then. Day N (step N) is due at the delivery's local time of day in the
*learner's* timezone, on the learner's local date ``anchor + N - 1 + shift``,
where ``anchor`` is the first local date whose time of day is not before the
start. The closing message (step n+1) is due with the last day.

Local times are turned into instants with :mod:`zoneinfo`, so daylight-saving
changes keep the local time of day: 09:00 in New York is 13:00 UTC in
summer and 14:00 UTC in winter. A time that does not exist on a spring-forward
day (02:30) is taken with the offset before the change (03:30 local); a time
that occurs twice on a fall-back day is the first one.

A shortened day (``day_seconds`` < 86400) compresses the whole real schedule
around its start: an instant ``t`` becomes ``start + (t - start) x day_seconds / 86400``,
so each learner's messages keep their order and their place in the day.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ngshare_ekatra.config import DAY_SECONDS

UTC = timezone.utc
_DAY = timedelta(days=1)


def zone(name: str) -> ZoneInfo:
    """The IANA timezone ``name``; ``ValueError`` if there is none."""
    if not isinstance(name, str) or not name or len(name) > 64 or name != name.strip():
        raise ValueError(name)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(name) from None


def local_to_utc(day: date, at: time, tz: ZoneInfo) -> datetime:
    """Naive UTC of local ``day`` ``at`` in ``tz`` (DST rules in the module docstring)."""
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC).replace(tzinfo=None)


def utc_to_local(instant: datetime, tz: ZoneInfo) -> datetime:
    """Naive local time in ``tz`` of naive-UTC ``instant``."""
    return instant.replace(tzinfo=UTC).astimezone(tz).replace(tzinfo=None)


def exists_locally(value: datetime, tz: ZoneInfo) -> bool:
    """Whether naive local ``value`` is a real time in ``tz`` (not in a DST gap)."""
    there = value.replace(tzinfo=tz)
    back = there.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    return back == value


def anchor_date(start: datetime, at: time, tz: ZoneInfo) -> date:
    """The learner's local date of day 1: the first with ``at`` not before ``start``."""
    day = utc_to_local(start, tz).date()
    if local_to_utc(day, at, tz) < start:
        day += _DAY
    return day


def compress(instant: datetime, start: datetime, day_seconds: int) -> datetime:
    """``instant`` on a schedule whose days last ``day_seconds`` (identity for real days)."""
    if day_seconds == DAY_SECONDS:
        return instant
    seconds = (instant - start).total_seconds() * day_seconds / DAY_SECONDS
    return start + timedelta(seconds=round(seconds))


def due_at(
    step: int,
    *,
    start: datetime,
    at: time,
    tz: ZoneInfo,
    anchor: date,
    shift_days: int,
    total_days: int,
    day_seconds: int,
) -> datetime:
    """Naive UTC when ``step`` (0 welcome, 1..n days, n+1 closing) is due for one learner."""
    if step == 0:
        real = start + shift_days * _DAY
    else:
        day = min(step, total_days)
        real = local_to_utc(anchor + (day - 1 + shift_days) * _DAY, at, tz)
    return compress(real, start, day_seconds)


def days_to_shift(due: datetime, resumed_at: datetime, day_seconds: int) -> int:
    """Whole (maybe shortened) days that move a step due at ``due`` to ``resumed_at`` or later."""
    if due >= resumed_at:
        return 0
    return math.ceil((resumed_at - due).total_seconds() / day_seconds)
