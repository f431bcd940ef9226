"""``ctx.notifications``: :class:`NotificationService` — the durable outbox and its workers.

Design notes (why it is built this way):

* ``send`` only writes a row, in the caller's transaction: the message exists
  if and only if the change that caused it committed, and the request path
  never waits on a provider. The commit wakes this process's workers (an
  SQLAlchemy ``after_commit`` hook), so a message usually leaves within
  milliseconds; other replicas find it on their next poll.
* Workers run on the IOLoop: one loop claims due rows in batches (see
  :mod:`ngshare.notifications.store`) as long as fewer than ``max_in_flight``
  messages are out, and hands them to their provider in batches of the
  provider's ``max_batch``, at most ``concurrency`` batches per provider at
  once and at most ``rate_per_second`` messages a second. Outcomes are
  written back in batches too (one transaction for whatever finished
  meanwhile), so 10 000 messages cost a few hundred transactions, not 20 000.
* Retries back off exponentially with jitter (``retry_base_seconds`` doubled
  per attempt, capped at ``retry_max_seconds``, times a random factor in
  [0.5, 1]), never sooner than the provider's ``Retry-After``; after
  ``max_attempts`` attempts the message is ``failed`` and admins may retry it.
* A dead address (``Outcome.invalid``) is disabled in the transaction that
  records the outcome; after that commit, the ``invalid_recipient`` hooks of
  the plugin that sent the message and of those that registered the address
  are called.

Only the IOLoop thread touches the service's worker state.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import random
import secrets
import time
from collections import defaultdict
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session
from traitlets import Bool, Dict, Float, Integer, Unicode, default
from traitlets.config import LoggingConfigurable

from ngshare.models import get_or_create_user, utcnow
from ngshare.notifications import store, subscribers
from ngshare.notifications.addresses import CHANNELS, NotificationError, normalize_address
from ngshare.notifications.models import (
    FAILED,
    INVALID,
    KEY_LENGTH,
    PENDING,
    SENT,
    SKIPPED,
    STATUSES,
)
from ngshare.notifications.providers import PROVIDER_CLASSES, Outcome, Provider, RateLimiter
from ngshare.notifications.providers.webpush import WebPushProvider, vapid_key_for
from ngshare.notifications.store import Claimed, Decision, InvalidRecipient

if TYPE_CHECKING:
    from ngshare.context import ServerContext
    from ngshare.notifications.vapid import VapidKey

#: Longest body accepted (an e-mail's text; SMS are split by the provider).
MAX_BODY_CHARS = 64 * 1024
#: Longest JSON of ``data`` accepted.
MAX_DATA_BYTES = 16 * 1024
#: The longest ``Retry-After`` honoured; a provider asking for more is asked again then.
MAX_RETRY_AFTER_SECONDS = 86400.0

_WAKE_KEY = "ngshare.notifications.wake"


class NotificationService(LoggingConfigurable):
    """``ctx.notifications``: send through the durable outbox; addresses and preferences.

    Configurable as ``c.NotificationService.<trait>``; each provider as
    ``c.<ProviderClass>.<trait>`` (``c.SmtpProvider.host``). The methods taking a
    ``session`` run inside the caller's transaction (call them from a function
    given to ``ctx.db.run``); the coroutines run their own.
    """

    channels = Dict(
        key_trait=Unicode(),
        value_trait=Unicode(),
        help="""The provider of each channel, e.g. {"email": "smtp", "sms": "twilio",
        "whatsapp": "twilio", "webpush": "webpush"}. Channels: email, sms, whatsapp,
        webpush, apns, fcm; providers: log (records, sends nothing), smtp, twilio,
        webpush, apns, fcm. A channel not listed is off: messages to it are recorded
        as skipped. Default: none for ngshare, every channel to 'log' for vngshare.""",
    ).tag(config=True)

    @default("channels")
    def _default_channels(self) -> dict[str, str]:
        if getattr(self.parent, "dev_mode", False):
            return {c: "log" for c in CHANNELS}
        return {}

    send_messages = Bool(
        True,
        help="""Run the sending workers in this process. A replica that should only
        enqueue (messages are sent by the others) sets it to False.""",
    ).tag(config=True)
    max_attempts = Integer(8, help="Attempts before a message is recorded as failed.").tag(
        config=True
    )
    retry_base_seconds = Float(
        30.0, help="Delay before the second attempt; doubled for each further one (with jitter)."
    ).tag(config=True)
    retry_max_seconds = Float(3600.0, help="Longest delay between attempts (backoff cap).").tag(
        config=True
    )
    max_in_flight = Integer(
        1000, help="Messages claimed and not yet recorded, at most, in this process."
    ).tag(config=True)
    claim_batch = Integer(200, help="Messages claimed per database round trip.").tag(config=True)
    lease_seconds = Float(
        300.0,
        help="""A claimed message not recorded within this time (its process died) is
        due again. Longer than any provider's timeout.""",
    ).tag(config=True)
    poll_interval_seconds = Float(
        2.0,
        help="""How often workers look for due messages besides being woken by this
        process's commits (retries, other replicas' messages).""",
    ).tag(config=True)
    retention_days = Float(
        30.0, help="Messages in a final state are deleted after this many days (0: kept)."
    ).tag(config=True)
    stop_timeout_seconds = Float(
        10.0, help="How long stopping waits for sends in progress before abandoning them."
    ).tag(config=True)

    def __init__(self, ctx: ServerContext, **kwargs: Any) -> None:
        super().__init__(parent=ctx.config, **kwargs)
        self.ctx = ctx
        self.providers: dict[str, Provider] = {}
        self._by_channel: dict[str, Provider] = {}
        # several replicas share one VAPID key through the database (ngshare.shared_secrets)
        shared_secrets_engine = (
            ctx.db.engine if getattr(ctx.config, "secrets_in_database", False) else None
        )
        for channel, name in self.channels.items():
            if channel not in CHANNELS:
                raise ValueError(
                    f"c.NotificationService.channels: unknown channel {channel!r} "
                    f"(channels: {', '.join(CHANNELS)})"
                )
            cls = PROVIDER_CLASSES.get(name)
            if cls is None:
                raise ValueError(
                    f"c.NotificationService.channels: unknown provider {name!r} for {channel!r} "
                    f"(providers: {', '.join(sorted(PROVIDER_CLASSES))})"
                )
            if channel not in cls.channels:
                raise ValueError(
                    f"c.NotificationService.channels: provider {name!r} cannot send {channel!r}"
                )
            provider = self.providers.get(name)
            if provider is None:
                provider = self.providers[name] = cls(parent=ctx.config)
                if isinstance(provider, WebPushProvider):
                    provider.database = shared_secrets_engine
                try:
                    provider.check()
                except ValueError as e:
                    raise ValueError(f"notifications: {channel} through {name}: {e}") from e
            self._by_channel[channel] = provider
        self._semaphores = {
            n: asyncio.Semaphore(max(1, p.concurrency)) for n, p in self.providers.items()
        }
        self._limiters = {n: RateLimiter(p.rate_per_second) for n, p in self.providers.items()}
        #: The VAPID key browsers subscribe with; set whenever ``webpush`` is on (even to log).
        self.vapid: VapidKey | None = None
        if "webpush" in self._by_channel:
            try:
                self.vapid = vapid_key_for(
                    ctx.config, self._by_channel["webpush"], shared_secrets_engine
                )
            except ValueError as e:
                raise ValueError(f"notifications: webpush: {e}") from e
        #: Claim tokens start with this: a clean stop releases this process's claims.
        self.worker_id = secrets.token_hex(6)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self._sending: set[asyncio.Task] = set()
        self._in_flight = 0
        self._decisions: list[Decision] = []
        self._recorder: asyncio.Task | None = None
        self._next_due: float | None = None
        self._stopping = False
        self._claims = 0

    # -- sending (plugins) ----------------------------------------------------------------

    def enabled_channels(self) -> list[str]:
        """The channels that have a provider (the others record messages as skipped)."""
        return [c for c in CHANNELS if c in self._by_channel]

    def send(
        self,
        session: Session,
        *,
        plugin: str,
        channel: str,
        to: str,
        body: str,
        subject: str | None = None,
        data: dict[str, Any] | None = None,
        user: str | None = None,
        key: str | None = None,
    ) -> int:
        """Queue one message in the caller's transaction; its id. Sent after the commit.

        :arg plugin: the sending feature set's name (its ``invalid_recipient`` hook hears of
            dead addresses).
        :arg channel: ``email``, ``sms``, ``whatsapp``, ``webpush``, ``apns`` or ``fcm``.
        :arg to: the address on that channel (E.164 phone numbers; ``whatsapp:`` is added).
        :arg data: extra content, JSON: ``html`` and ``reply_to`` for e-mail, a push payload's data.
        :arg user: the core user it is for: their preferences apply, admins can filter by it.
        :arg key: idempotency key (``ekatra:delivery:7:day:3:learner:42``): a key used
            before sends nothing and answers the first message's id.
        :raises NotificationError: an unknown channel, a malformed address or an oversized field.
        """
        to = normalize_address(channel, to)
        self._check_fields(plugin, body, subject, data, key)
        user_pk = get_or_create_user(session, user).pk if user else None
        # the user's preference and the address's state are checked when it is about to go
        status, error = PENDING, None
        if channel not in self._by_channel:
            status, error = SKIPPED, f"channel {channel!r} is not configured"
        pk, created = store.insert_message(
            session,
            plugin=plugin,
            channel=channel,
            to=to,
            body=body,
            subject=subject,
            data=data,
            user_pk=user_pk,
            key=key,
            status=status,
            error=error,
        )
        if created and status == PENDING:
            session.info.setdefault(_WAKE_KEY, set()).add(self)
        return pk

    async def submit(
        self,
        *,
        plugin: str,
        channel: str,
        to: str,
        body: str,
        subject: str | None = None,
        data: dict[str, Any] | None = None,
        user: str | None = None,
        key: str | None = None,
    ) -> int:
        """:meth:`send` in a transaction of its own (for code that has none); the message's id."""
        return await self.ctx.db.run(
            self.send,
            plugin=plugin,
            channel=channel,
            to=to,
            body=body,
            subject=subject,
            data=data,
            user=user,
            key=key,
        )

    def send_to_user(
        self,
        session: Session,
        *,
        plugin: str,
        user: str,
        body: str,
        subject: str | None = None,
        data: dict[str, Any] | None = None,
        key: str | None = None,
        channels: list[str] | None = None,
    ) -> list[int]:
        """Queue one message to each of ``user``'s enabled addresses (of ``channels``); the ids.

        Channels the user turned off, disabled addresses and channels without a
        provider are left out. With ``key``, each address gets the key
        ``{key}#{address id}``, so sending again sends nothing twice.
        """
        wanted = [c for c in (channels or CHANNELS) if c in self._by_channel]
        for c in channels or ():
            if c not in CHANNELS:
                raise NotificationError(f"unknown channel {c!r}: one of {', '.join(CHANNELS)}")
        owner = get_or_create_user(session, user)
        ids = []
        for address in store.user_addresses_for_sending(session, owner.pk, wanted):
            ids.append(
                self.send(
                    session,
                    plugin=plugin,
                    channel=address.channel,
                    to=address.address,
                    body=body,
                    subject=subject,
                    data=data,
                    user=user,
                    key=None if key is None else f"{key}#{address.pk}",
                )
            )
        return ids

    def send_to_subscribers(
        self,
        session: Session,
        *,
        plugin: str,
        channel: str,
        body: str,
        subject: str | None = None,
        data: dict[str, Any] | None = None,
        key: str | None = None,
    ) -> list[int]:
        """Queue one message to every enabled address ``plugin`` registered on ``channel``.

        For a broadcast to everyone who subscribed through the plugin (Vivere's
        announcements by Web Push). Each owner's preferences apply; with
        ``key``, each address gets ``{key}#{address id}``, so sending again
        sends nothing twice.
        """
        if channel not in CHANNELS:
            raise NotificationError(f"unknown channel {channel!r}: one of {', '.join(CHANNELS)}")
        if channel not in self._by_channel:
            return []
        return [
            self.send(
                session,
                plugin=plugin,
                channel=channel,
                to=address.address,
                body=body,
                subject=subject,
                data=data,
                user=user,
                key=None if key is None else f"{key}#{address.pk}",
            )
            for address, user in subscribers.registered_by(session, plugin, channel)
        ]

    def _check_fields(
        self,
        plugin: str,
        body: str,
        subject: str | None,
        data: dict[str, Any] | None,
        key: str | None,
    ) -> None:
        if not plugin or len(plugin) > 64:
            raise NotificationError("plugin must be the sending feature set's name")
        if not isinstance(body, str) or len(body) > MAX_BODY_CHARS:
            raise NotificationError(f"body must be a string of at most {MAX_BODY_CHARS} characters")
        if subject is not None and (not isinstance(subject, str) or len(subject) > 255):
            raise NotificationError("subject must be a string of at most 255 characters")
        if key is not None and (not isinstance(key, str) or not key or len(key) > KEY_LENGTH):
            raise NotificationError(f"key must be a string of 1 to {KEY_LENGTH} characters")
        if data is not None:
            if not isinstance(data, dict):
                raise NotificationError("data must be a JSON object")
            try:
                size = len(json.dumps(data))
            except (TypeError, ValueError) as e:
                raise NotificationError(f"data must be JSON: {e}") from None
            if size > MAX_DATA_BYTES:
                raise NotificationError(f"data must be at most {MAX_DATA_BYTES} bytes of JSON")

    # -- addresses and preferences ------------------------------------------------------

    def add_address(
        self,
        session: Session,
        *,
        user: str,
        channel: str,
        address: str,
        plugin: str | None = None,
        label: str | None = None,
    ) -> dict[str, Any]:
        """Register where ``user`` can be reached (enabling it again if it was disabled).

        ``plugin`` (CourseGrab registering a device token) hears through its
        ``invalid_recipient`` hook when the address dies.
        """
        address = normalize_address(channel, address)
        if label is not None and len(label) > 255:
            raise NotificationError("label must be at most 255 characters")
        if channel == "webpush":  # one row per browser: new keys replace the old
            subscribers.drop_replaced_subscriptions(session, user, address)
        return store.add_address(
            session, user=user, channel=channel, address=address, plugin=plugin, label=label
        )

    def remove_address(self, session: Session, *, user: str, address_id: int) -> bool:
        """Delete one of ``user``'s addresses; ``False`` if it is not theirs."""
        return store.remove_address(session, user=user, address_id=address_id)

    def remove_push_subscription(self, session: Session, *, user: str, endpoint: str) -> int:
        """Delete ``user``'s Web Push subscription of ``endpoint``; 1, or 0 if there is none."""
        return subscribers.remove_subscription(session, user, endpoint)

    def addresses(self, session: Session, user: str) -> list[dict[str, Any]]:
        """``user``'s addresses, disabled ones included with the reason."""
        return store.list_addresses(session, user)

    def set_preference(self, session: Session, *, user: str, channel: str, enabled: bool) -> None:
        """Turn ``channel`` on or off for ``user`` (messages to it are then skipped)."""
        if channel not in CHANNELS:
            raise NotificationError(f"unknown channel {channel!r}: one of {', '.join(CHANNELS)}")
        store.set_preference(session, user=user, channel=channel, enabled=enabled)

    def preferences(self, session: Session, user: str) -> dict[str, bool]:
        """``user``'s choice for every channel (true unless turned off)."""
        return store.preferences(session, user, CHANNELS)

    # -- admins -----------------------------------------------------------------------------

    async def messages(
        self,
        *,
        status: str | None = None,
        channel: str | None = None,
        plugin: str | None = None,
        user: str | None = None,
        before: int | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Outbox messages newest first, filtered; ``before`` an id to page back."""
        if status is not None and status not in STATUSES:
            raise NotificationError(f"unknown status {status!r}: one of {', '.join(STATUSES)}")
        if channel is not None and channel not in CHANNELS:
            raise NotificationError(f"unknown channel {channel!r}: one of {', '.join(CHANNELS)}")
        if not 1 <= limit <= 1000:
            raise NotificationError("limit must be between 1 and 1000")
        return await self.ctx.db.run(
            store.list_messages,
            status=status,
            channel=channel,
            plugin=plugin,
            user=user,
            before=before,
            limit=limit,
        )

    async def retry(self, ids: list[int] | None = None) -> list[int]:
        """Make failed messages (``ids``, or every one) pending again; the ids retried."""
        retried = await self.ctx.db.run(store.retry_messages, ids)
        if retried:
            self.wake()
        return retried

    async def prune(self) -> int:
        """Delete messages in a final state older than ``retention_days``; how many."""
        if self.retention_days <= 0:
            return 0
        cutoff = utcnow() - timedelta(days=self.retention_days)
        return await self.ctx.db.run(store.prune_messages, cutoff)

    # -- workers --------------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the providers and start the workers (unless ``send_messages`` is off)."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        for provider in self.providers.values():
            await provider.start()
        if self.send_messages and self.providers:
            self._task = asyncio.create_task(self._run(), name="ngshare-notifications")

    async def stop(self) -> None:
        """Stop claiming; let sends in progress finish and record them."""
        self._stopping = True
        self.wake()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._sending:
            _done, pending = await asyncio.wait(self._sending, timeout=self.stop_timeout_seconds)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self._recorder is not None:
            await asyncio.gather(self._recorder, return_exceptions=True)
        await self._flush_decisions()
        if self._in_flight > 0:  # claimed, never recorded (abandoned sends): due again at once
            try:
                await self.ctx.db.run(store.release_claims, self.worker_id + ":")
            except Exception:
                self.log.exception("notifications: releasing claims failed (they lapse anyway)")
        for provider in self.providers.values():
            try:
                await provider.close()
            except Exception:
                self.log.exception("notifications: closing provider %s failed", provider.name)

    def wake(self) -> None:
        """Look for due messages now (thread-safe: commits call it from database threads)."""
        loop, wake = self._loop, self._wake
        if loop is None or wake is None or loop.is_closed():
            return
        try:
            if loop is _running_loop():
                wake.set()
            else:
                loop.call_soon_threadsafe(wake.set)
        except RuntimeError:  # the loop closed meanwhile
            pass

    async def _run(self) -> None:
        assert self._wake is not None
        failures = 0
        while not self._stopping:
            self._wake.clear()
            claimed: list[Claimed] = []
            free = self.max_in_flight - self._in_flight
            if free > 0:
                try:
                    claimed = await self._claim(min(free, self.claim_batch))
                    failures = 0
                except Exception:
                    failures += 1
                    self.log.exception("notifications: claiming messages failed")
                    await asyncio.sleep(min(30.0, 0.5 * 2**failures))
                    continue
                self._dispatch(claimed)
            if claimed and len(claimed) == min(free, self.claim_batch):
                await asyncio.sleep(0)  # more may be due: claim again at once
                continue
            await self._wait()

    async def _wait(self) -> None:
        assert self._wake is not None
        timeout = self.poll_interval_seconds
        if self._next_due is not None:
            timeout = max(0.0, min(timeout, self._next_due - time.monotonic()))
            self._next_due = None
        try:
            await asyncio.wait_for(self._wake.wait(), timeout)
        except asyncio.TimeoutError:
            pass

    async def _claim(self, limit: int) -> list[Claimed]:
        self._claims += 1
        token = f"{self.worker_id}:{self._claims}"
        return await self.ctx.db.run(
            store.claim_due,
            limit=limit,
            token=token,
            lease_seconds=self.lease_seconds,
            channels=None,
        )

    def _dispatch(self, claimed: list[Claimed]) -> None:
        groups: dict[tuple[str, str], list[Claimed]] = defaultdict(list)
        orphans: list[Decision] = []
        for c in claimed:
            provider = self._by_channel.get(c.outgoing.channel)
            if provider is None:  # configuration changed since it was queued
                error = f"channel {c.outgoing.channel!r} is not configured"
                orphans.append(Decision(c, "", FAILED, error=error))
            else:
                groups[(provider.name, c.outgoing.channel)].append(c)
        self._in_flight += len(claimed)
        if orphans:
            self._decide(orphans)
        for (name, _channel), items in groups.items():
            provider = self.providers[name]
            size = max(1, provider.max_batch)
            for i in range(0, len(items), size):
                task = asyncio.create_task(self._deliver(provider, items[i : i + size]))
                self._sending.add(task)
                task.add_done_callback(self._sending.discard)

    async def _deliver(self, provider: Provider, batch: list[Claimed]) -> None:
        async with self._semaphores[provider.name]:
            await self._limiters[provider.name].take(len(batch))
            try:
                outcomes = await asyncio.wait_for(
                    provider.send([c.outgoing for c in batch]), provider.timeout_seconds
                )
                if len(outcomes) != len(batch):
                    raise RuntimeError(
                        f"provider {provider.name} answered {len(outcomes)} outcomes "
                        f"for {len(batch)} messages"
                    )
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - timeouts, refused connections: try again
                text = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
                outcomes = [Outcome.retry(text)] * len(batch)
        self._decide([self._decision(provider, c, o) for c, o in zip(batch, outcomes, strict=True)])

    def _decision(self, provider: Provider, claimed: Claimed, outcome: Outcome) -> Decision:
        if outcome.kind == "delivered":
            return Decision(claimed, provider.name, SENT, provider_id=outcome.provider_id)
        if outcome.kind == "invalid":
            return Decision(claimed, provider.name, INVALID, error=outcome.error)
        if outcome.kind == "failed":
            return Decision(claimed, provider.name, FAILED, error=outcome.error)
        attempt = claimed.outgoing.attempt
        if attempt >= self.max_attempts:
            error = f"gave up after {attempt} attempts: {outcome.error}"
            return Decision(claimed, provider.name, FAILED, error=error)
        delay = self.retry_delay(attempt, outcome.retry_after)
        due = time.monotonic() + delay
        self._next_due = due if self._next_due is None else min(self._next_due, due)
        return Decision(
            claimed,
            provider.name,
            PENDING,
            error=outcome.error,
            next_attempt_at=utcnow() + timedelta(seconds=delay),
        )

    def retry_delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds before attempt ``attempt + 1``: exponential, jittered, at least Retry-After."""
        backoff = min(self.retry_max_seconds, self.retry_base_seconds * 2 ** (attempt - 1))
        delay = backoff * random.uniform(0.5, 1.0)
        if retry_after is not None:
            delay = max(delay, min(retry_after, MAX_RETRY_AFTER_SECONDS))
        return delay

    def _decide(self, decisions: list[Decision]) -> None:
        self._decisions.extend(decisions)
        if self._recorder is None or self._recorder.done():
            self._recorder = asyncio.create_task(self._flush_decisions())

    async def _flush_decisions(self) -> None:
        while self._decisions:
            batch, self._decisions = self._decisions, []
            try:
                invalid = await self.ctx.db.run(store.record_outcomes, batch)
            except Exception:
                # the claims lapse and the messages are sent again: never lost
                self.log.exception("notifications: recording %d outcomes failed", len(batch))
                invalid = []
            finally:
                self._in_flight -= len(batch)
                self.wake()
            for item in invalid:
                await self._tell_plugins(item)

    async def _tell_plugins(self, item: InvalidRecipient) -> None:
        names = dict.fromkeys([item.plugin, *item.address_plugins])
        for feature_set in [*self.ctx.services, *self.ctx.plugins]:
            hook = getattr(feature_set, "invalid_recipient", None)
            if feature_set.name not in names or hook is None:
                continue
            try:
                result = hook(self.ctx, item)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                self.log.exception(
                    "plugin %r: invalid_recipient hook failed for message %d",
                    feature_set.name,
                    item.message_id,
                )


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


# -- the commit wakes the workers ------------------------------------------------------


@sa_event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.get_nested_transaction() is not None:
        return  # a savepoint released: only the outermost commit counts
    for service in session.info.pop(_WAKE_KEY, ()):
        service.wake()


@sa_event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, txn: Any) -> None:
    if txn.parent is None:  # ended without commit: nothing was queued
        session.info.pop(_WAKE_KEY, None)


# -- core service hooks (see ngshare.app.CORE_SERVICES) -------------------------------


async def start(ctx: ServerContext) -> None:
    """Set ``ctx.notifications`` (a service already there, the CLI's, is kept)."""
    if ctx.notifications is None:
        ctx.notifications = NotificationService(ctx)


async def ready(ctx: ServerContext) -> None:
    """Start the workers once every feature set has started (their hooks exist)."""
    await ctx.notifications.start()


async def stop(ctx: ServerContext) -> None:
    """Stop the workers, recording what they sent."""
    if ctx.notifications is not None:
        await ctx.notifications.stop()


async def prune_messages(ctx: ServerContext) -> None:
    """The daily job: delete old messages in a final state."""
    removed = await ctx.notifications.prune()
    if removed:
        ctx.log.info("notifications: deleted %d old messages", removed)
