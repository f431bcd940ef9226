"""The interface every notification provider implements, and what it answers per message.

A provider serves one or more *channels* (``email``, ``sms``, ``whatsapp``,
``webpush``, ``apns``, ``fcm``). The service's workers hand it a batch of
messages of one channel and it answers, per message and in the same order,
one :class:`Outcome`:

* ``Outcome.delivered(provider_id)`` — accepted by the provider;
* ``Outcome.retry(error, retry_after=None)`` — try again later (429, 5xx,
  timeouts); ``retry_after`` in seconds when the provider said so;
* ``Outcome.failed(error)`` — will never work as sent (a 400, bad credentials);
* ``Outcome.invalid(error)`` — the *address* is dead (unregistered token,
  unsubscribed number): it is disabled and its plugin told.

An exception escaping :meth:`Provider.send` (a connection refused, a timeout)
counts as ``retry`` for the whole batch. Providers never touch the database:
the service records what they answer.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar, Literal

from traitlets import Float, Integer
from traitlets.config import LoggingConfigurable

OutcomeKind = Literal["delivered", "retry", "failed", "invalid"]


@dataclass(frozen=True)
class Outgoing:
    """One message as a provider sees it (``to`` is the channel's address)."""

    id: int
    channel: str
    to: str
    body: str
    subject: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    #: 1 for the first try.
    attempt: int = 1


@dataclass(frozen=True)
class Outcome:
    """What became of one :class:`Outgoing`; build it with the class methods."""

    kind: OutcomeKind
    provider_id: str | None = None
    error: str | None = None
    retry_after: float | None = None

    @classmethod
    def delivered(cls, provider_id: str | None = None) -> Outcome:
        """Accepted by the provider, which calls it ``provider_id``."""
        return cls("delivered", provider_id=provider_id)

    @classmethod
    def retry(cls, error: str, retry_after: float | None = None) -> Outcome:
        """A passing failure: try again, not before ``retry_after`` seconds if given."""
        return cls("retry", error=error, retry_after=retry_after)

    @classmethod
    def failed(cls, error: str) -> Outcome:
        """A failure that retrying will not fix."""
        return cls("failed", error=error)

    @classmethod
    def invalid(cls, error: str) -> Outcome:
        """The recipient's address is dead: disable it, tell its plugin."""
        return cls("invalid", error=error)


class Provider(LoggingConfigurable):
    """Base of every provider: its settings of pace, and the :meth:`send` to implement.

    Subclasses set :attr:`name` and :attr:`channels`, and are configured as
    ``c.<ClassName>.<trait>``. One instance per server serves every channel
    that names it in ``c.NotificationService.channels``.
    """

    #: How ``c.NotificationService.channels`` names it ("smtp", "twilio", "log").
    name: ClassVar[str] = ""
    #: The channels it can serve.
    channels: ClassVar[tuple[str, ...]] = ()

    max_batch = Integer(50, help="Most messages handed to one send() call.").tag(config=True)
    concurrency = Integer(
        4, help="send() calls of this provider running at once (per server process)."
    ).tag(config=True)
    rate_per_second = Float(
        0.0,
        help="""Most messages per second this process hands to the provider (0: no
        limit). Several replicas each keep to it on their own.""",
    ).tag(config=True)
    timeout_seconds = Float(
        30.0, help="A send() call taking longer is abandoned and its batch retried."
    ).tag(config=True)

    def check(self) -> None:
        """Refuse a configuration that cannot work (raise ``ValueError`` saying what to set)."""

    def normalize_address(self, channel: str, address: str) -> str:
        """The address in the form the provider needs; ``ValueError`` if it cannot be one."""
        return address

    async def start(self) -> None:
        """Open what the provider keeps between batches (HTTP clients, key files)."""

    async def send(self, batch: list[Outgoing]) -> list[Outcome]:
        """Send ``batch`` (one channel) and answer one :class:`Outcome` per message, in order."""
        raise NotImplementedError

    async def close(self) -> None:
        """Release what :meth:`start` opened."""


def parse_retry_after(value: str | None) -> float | None:
    """Seconds a ``Retry-After`` header asks for (seconds or an HTTP date); ``None`` if none."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


class RateLimiter:
    """A token bucket: at most ``rate`` messages a second, bursts of up to one second's worth."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate)
        self.tokens = self.capacity
        self.updated = time.monotonic()
        self._lock = asyncio.Lock()

    async def take(self, count: int) -> None:
        """Wait until ``count`` messages may go (no wait when the rate is 0: unlimited)."""
        if self.rate <= 0:
            return
        async with self._lock:
            needed = float(count)
            while True:
                now = time.monotonic()
                self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
                self.updated = now
                step = min(needed, self.capacity)
                if self.tokens >= step:
                    self.tokens -= step
                    needed -= step
                    if needed <= 0:
                        return
                    continue
                await asyncio.sleep((step - self.tokens) / self.rate)
