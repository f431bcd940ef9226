"""Ekatra's notion of now: one replaceable clock.

The engine, the handlers and the webhook ask ``ctx.state(Clock).now()``
(naive UTC, as every table stores times). Tests install a clock of their own
and move it across days and DST changes instead of sleeping.
"""

from __future__ import annotations

from datetime import datetime, timezone


class Clock:
    """The real clock: naive UTC, whole seconds."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
