"""The notifications service's database work: session-level functions run through ``ctx.db``.

Claiming is what makes each message go out once with several workers or
replicas: due rows are selected (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so
replicas take disjoint rows without waiting on each other), then moved to
``sending`` under a fresh claim token with a condition that only a still-due
row satisfies, and read back by that token. A worker records an outcome only
while its claim holds; a claim that lapses (a process killed mid-send) makes
the message due again, so a crash can send a message twice, never zero times.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ngshare.models import User, get_or_create_user, utcnow
from ngshare.notifications.models import (
    FAILED,
    INVALID,
    PENDING,
    SENDING,
    SENT,
    SKIPPED,
    NotificationAddress,
    NotificationPreference,
    OutboxMessage,
    address_key,
)
from ngshare.notifications.providers.base import Outgoing
from ngshare.scheduler.core import iso_utc

#: Longest error text kept on a message (the log has the rest).
MAX_ERROR_LENGTH = 2000

_M = OutboxMessage.__table__


@dataclass(frozen=True)
class Claimed:
    """A claimed message: what its provider needs, and what recording the outcome needs."""

    outgoing: Outgoing
    claim: str
    plugin: str
    recipient_key: str
    user_pk: int | None


@dataclass(frozen=True)
class InvalidRecipient:
    """An address a provider called dead; given to the ``invalid_recipient`` hooks.

    ``plugin`` sent the message; ``address_plugins`` registered the address (for
    the user ``user``, if it was a registered address). The address is already
    disabled when the hook runs.
    """

    message_id: int
    plugin: str
    channel: str
    address: str
    user: str | None
    reason: str
    address_plugins: tuple[str, ...] = ()


#: Statements built once: building a Core statement per message (coercing fifteen
#: literal values, then computing its cache key) cost more than executing it.
_INSERT = _M.insert().returning(_M.c.pk)
_INSERT_NEW_KEY = {
    "sqlite": sqlite_insert(_M)
    .on_conflict_do_nothing(index_elements=["idempotency_key"])
    .returning(_M.c.pk),
    "postgresql": pg_insert(_M)
    .on_conflict_do_nothing(index_elements=["idempotency_key"])
    .returning(_M.c.pk),
}
_BY_KEY = select(_M.c.pk).where(_M.c.idempotency_key == bindparam("key"))


def insert_message(
    session: Session,
    *,
    plugin: str,
    channel: str,
    to: str,
    body: str,
    subject: str | None,
    data: dict[str, Any] | None,
    user_pk: int | None,
    key: str | None,
    status: str,
    error: str | None,
) -> tuple[int, bool]:
    """Write one outbox row; ``(id, created)``: an idempotency key already used gives its id."""
    now = utcnow()
    values = {
        "plugin": plugin,
        "channel": channel,
        "recipient": to,
        "recipient_key": address_key(channel, to),
        "user_pk": user_pk,
        "subject": subject,
        "body": body,
        "data": data,
        "idempotency_key": key,
        "status": status,
        "attempts": 0,
        "next_attempt_at": now,
        "last_error": error,
        "created_at": now,
        "updated_at": now,
    }
    if key is not None:
        upsert = _INSERT_NEW_KEY.get(session.get_bind().dialect.name)
        if upsert is not None:
            pk = session.execute(upsert, values).scalar()
            if pk is None:
                return session.execute(_BY_KEY, {"key": key}).scalar_one(), False
            return pk, True
        existing = session.execute(_BY_KEY, {"key": key}).scalar()
        if existing is not None:
            return existing, False
    return session.execute(_INSERT, values).scalar_one(), True


def claim_due(
    session: Session,
    *,
    limit: int,
    token: str,
    lease_seconds: float,
    channels: list[str] | None = None,
) -> list[Claimed]:
    """Claim up to ``limit`` due messages (of ``channels``) for ``lease_seconds``; read them."""
    now = utcnow()
    due = and_(_M.c.status.in_((PENDING, SENDING)), _M.c.next_attempt_at <= now)
    if channels is not None:
        due = and_(due, _M.c.channel.in_(channels))
    query = select(_M.c.pk).where(due).order_by(_M.c.next_attempt_at, _M.c.pk).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    pks = list(session.execute(query).scalars())
    if not pks:
        return []
    session.execute(
        update(_M)
        .where(_M.c.pk.in_(pks), due)
        .values(
            status=SENDING,
            claim=token,
            attempts=_M.c.attempts + 1,
            next_attempt_at=now + timedelta(seconds=lease_seconds),
            updated_at=now,
        )
    )
    rows = session.execute(
        select(
            _M.c.pk,
            _M.c.channel,
            _M.c.recipient,
            _M.c.subject,
            _M.c.body,
            _M.c.data,
            _M.c.attempts,
            _M.c.plugin,
            _M.c.recipient_key,
            _M.c.user_pk,
        )
        .where(_M.c.claim == token, _M.c.status == SENDING)
        .order_by(_M.c.pk)
    ).all()
    skipped = _skip_unwanted(session, rows, now)
    return [
        Claimed(
            Outgoing(
                id=r.pk,
                channel=r.channel,
                to=r.recipient,
                body=r.body,
                subject=r.subject,
                data=dict(r.data or {}),
                attempt=r.attempts,
            ),
            claim=token,
            plugin=r.plugin,
            recipient_key=r.recipient_key,
            user_pk=r.user_pk,
        )
        for r in rows
        if r.pk not in skipped
    ]


def _skip_unwanted(session: Session, rows: list[Any], now: datetime) -> set[int]:
    """Record as skipped the claimed messages nobody wants any more; their ids.

    Checked when a message is about to go, not when it is queued: an address
    disabled, or a channel turned off, after a message was queued stops it
    too, and queueing costs one statement (two queries for a batch of claims,
    instead of one or two per message).
    """
    reasons: dict[int, str] = {}
    user_pks = {r.user_pk for r in rows if r.user_pk is not None}
    if user_pks:
        off = session.execute(
            select(NotificationPreference.user_pk, NotificationPreference.channel, User.name)
            .join(User, User.pk == NotificationPreference.user_pk)
            .where(
                NotificationPreference.user_pk.in_(user_pks),
                NotificationPreference.enabled.is_(False),
            )
        ).all()
        turned_off = {(u, c): name for u, c, name in off}
        for r in rows:
            name = turned_off.get((r.user_pk, r.channel))
            if name is not None:
                reasons[r.pk] = f"{name} turned {r.channel} off"
    registrations: dict[tuple[str, str], list[Any]] = {}
    for a in session.execute(
        select(
            NotificationAddress.address_key,
            NotificationAddress.channel,
            NotificationAddress.disabled_at,
            NotificationAddress.disabled_reason,
        ).where(NotificationAddress.address_key.in_({r.recipient_key for r in rows}))
    ):
        registrations.setdefault((a.address_key, a.channel), []).append(a)
    for r in rows:
        found = registrations.get((r.recipient_key, r.channel))
        if r.pk not in reasons and found and all(a.disabled_at is not None for a in found):
            reasons[r.pk] = f"address disabled: {found[0].disabled_reason or 'no reason given'}"
    if reasons:
        session.execute(
            update(_M)
            .where(_M.c.pk == bindparam("b_pk"))
            .values(
                status=SKIPPED,
                claim=None,
                attempts=_M.c.attempts - 1,
                last_error=bindparam("b_error"),
                updated_at=now,
            ),
            [{"b_pk": pk, "b_error": error} for pk, error in reasons.items()],
        )
    return set(reasons)


@dataclass(frozen=True)
class Decision:
    """A recorded outcome: the row's new state (``next_attempt_at`` for retries)."""

    claimed: Claimed
    provider: str
    status: str
    provider_id: str | None = None
    error: str | None = None
    next_attempt_at: datetime | None = None


def record_outcomes(session: Session, decisions: list[Decision]) -> list[InvalidRecipient]:
    """Write every decision whose claim still holds; disable dead addresses; who to tell."""
    if not decisions:
        return []
    now = utcnow()
    params = [
        {
            "b_pk": d.claimed.outgoing.id,
            "b_claim": d.claimed.claim,
            "b_status": d.status,
            "b_provider": d.provider,
            "b_provider_id": d.provider_id,
            "b_error": None if d.error is None else d.error[:MAX_ERROR_LENGTH],
            "b_next": d.next_attempt_at or now,
            "b_sent_at": now if d.status == SENT else None,
            "b_claim_after": None,
        }
        for d in decisions
    ]
    session.execute(
        update(_M)
        .where(_M.c.pk == bindparam("b_pk"), _M.c.claim == bindparam("b_claim"))
        .where(_M.c.status == SENDING)
        .values(
            status=bindparam("b_status"),
            provider=bindparam("b_provider"),
            provider_id=bindparam("b_provider_id"),
            last_error=bindparam("b_error"),
            next_attempt_at=bindparam("b_next"),
            sent_at=bindparam("b_sent_at"),
            claim=bindparam("b_claim_after"),
            updated_at=now,
        ),
        params,
    )
    invalid: list[InvalidRecipient] = []
    for d in decisions:
        if d.status != INVALID:
            continue
        m = d.claimed
        reason = (d.error or "invalid recipient")[:MAX_ERROR_LENGTH]
        registered = session.execute(
            select(NotificationAddress.pk, NotificationAddress.plugin).where(
                NotificationAddress.channel == m.outgoing.channel,
                NotificationAddress.address_key == m.recipient_key,
            )
        ).all()
        if registered:
            session.execute(
                update(NotificationAddress)
                .where(NotificationAddress.pk.in_([r.pk for r in registered]))
                .where(NotificationAddress.disabled_at.is_(None))
                .values(disabled_at=now, disabled_reason=reason)
                .execution_options(synchronize_session=False)
            )
        user = None
        if m.user_pk is not None:
            user = session.scalar(select(User.name).where(User.pk == m.user_pk))
        invalid.append(
            InvalidRecipient(
                message_id=m.outgoing.id,
                plugin=m.plugin,
                channel=m.outgoing.channel,
                address=m.outgoing.to,
                user=user,
                reason=reason,
                address_plugins=tuple(sorted({r.plugin for r in registered if r.plugin})),
            )
        )
    return invalid


def release_claims(session: Session, prefix: str) -> int:
    """Make messages this process claimed but did not finish due again at once (clean stop)."""
    now = utcnow()
    result = session.execute(
        update(_M)
        .where(_M.c.status == SENDING, _M.c.claim.like(prefix + "%"))
        .values(status=PENDING, claim=None, next_attempt_at=now, updated_at=now)
    )
    return result.rowcount or 0


# -- admins ----------------------------------------------------------------------


def message_json(row: Any, user_name: str | None) -> dict[str, Any]:
    """A message as the admin view and the CLI show it (the body included)."""
    return {
        "id": row.pk,
        "plugin": row.plugin,
        "channel": row.channel,
        "to": row.recipient,
        "user": user_name,
        "subject": row.subject,
        "body": row.body,
        "status": row.status,
        "attempts": row.attempts,
        "next_attempt_at": iso_utc(row.next_attempt_at) if row.status == PENDING else None,
        "provider": row.provider,
        "provider_id": row.provider_id,
        "last_error": row.last_error,
        "idempotency_key": row.idempotency_key,
        "created_at": iso_utc(row.created_at),
        "sent_at": iso_utc(row.sent_at),
    }


def list_messages(
    session: Session,
    *,
    status: str | None = None,
    channel: str | None = None,
    plugin: str | None = None,
    user: str | None = None,
    before: int | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Messages newest first, filtered; ``before`` (an id) pages back."""
    query = select(OutboxMessage, User.name).outerjoin(User, User.pk == OutboxMessage.user_pk)
    if status:
        query = query.where(OutboxMessage.status == status)
    if channel:
        query = query.where(OutboxMessage.channel == channel)
    if plugin:
        query = query.where(OutboxMessage.plugin == plugin)
    if user:
        query = query.where(User.name == user)
    if before is not None:
        query = query.where(OutboxMessage.pk < before)
    query = query.order_by(OutboxMessage.pk.desc()).limit(limit)
    return [message_json(m, name) for m, name in session.execute(query).all()]


def count_by_status(session: Session) -> dict[str, int]:
    """How many messages are in each state."""
    rows = session.execute(select(_M.c.status, func.count()).group_by(_M.c.status)).all()
    return {status: n for status, n in rows}


def retry_messages(session: Session, ids: list[int] | None) -> list[int]:
    """Make failed messages (``ids``, or all) pending again with a fresh count; the ids retried."""
    now = utcnow()
    condition = _M.c.status == FAILED
    if ids is not None:
        condition = and_(condition, _M.c.pk.in_(ids))
    pks = list(session.execute(select(_M.c.pk).where(condition)).scalars())
    if pks:
        session.execute(
            update(_M)
            .where(_M.c.pk.in_(pks), _M.c.status == FAILED)
            .values(status=PENDING, attempts=0, next_attempt_at=now, claim=None, updated_at=now)
        )
    return pks


def message_status(session: Session, message_id: int) -> str | None:
    """The status of one message, ``None`` if there is no such message."""
    return session.execute(select(_M.c.status).where(_M.c.pk == message_id)).scalar()


def prune_messages(session: Session, older_than: datetime) -> int:
    """Delete messages in a final state created before ``older_than``."""
    result = session.execute(
        delete(_M).where(
            _M.c.status.in_((SENT, FAILED, INVALID, SKIPPED)), _M.c.created_at < older_than
        )
    )
    return result.rowcount or 0


# -- people's addresses and preferences ----------------------------------------------


def address_json(a: NotificationAddress) -> dict[str, Any]:
    """An address as its owner sees it."""
    return {
        "id": a.pk,
        "channel": a.channel,
        "address": a.address,
        "label": a.label,
        "plugin": a.plugin,
        "created_at": iso_utc(a.created_at),
        "disabled_at": iso_utc(a.disabled_at),
        "disabled_reason": a.disabled_reason,
    }


def add_address(
    session: Session,
    *,
    user: str,
    channel: str,
    address: str,
    plugin: str | None,
    label: str | None,
) -> dict[str, Any]:
    """Register ``address`` (normalised) for ``user``; again: enable it, update its label."""
    owner = get_or_create_user(session, user)
    key = address_key(channel, address)
    row = session.scalar(
        select(NotificationAddress).where(
            NotificationAddress.user_pk == owner.pk,
            NotificationAddress.channel == channel,
            NotificationAddress.address_key == key,
        )
    )
    if row is None:
        row = NotificationAddress(
            user_pk=owner.pk,
            channel=channel,
            address=address,
            address_key=key,
            plugin=plugin,
            label=label,
            created_at=utcnow(),
        )
        session.add(row)
    else:
        row.disabled_at = None
        row.disabled_reason = None
        if label is not None:
            row.label = label
        if plugin is not None:
            row.plugin = plugin
    session.flush()
    return address_json(row)


def list_addresses(session: Session, user: str) -> list[dict[str, Any]]:
    """``user``'s addresses, oldest first, disabled ones included (they say why)."""
    rows = session.scalars(
        select(NotificationAddress)
        .join(User, User.pk == NotificationAddress.user_pk)
        .where(User.name == user)
        .order_by(NotificationAddress.pk)
    )
    return [address_json(a) for a in rows]


def remove_address(session: Session, *, user: str, address_id: int) -> bool:
    """Delete one of ``user``'s addresses; whether it was theirs."""
    owner_pk = session.scalar(select(User.pk).where(User.name == user))
    if owner_pk is None:
        return False
    result = session.execute(
        delete(NotificationAddress).where(
            NotificationAddress.pk == address_id, NotificationAddress.user_pk == owner_pk
        )
    )
    return bool(result.rowcount)


def set_preference(session: Session, *, user: str, channel: str, enabled: bool) -> None:
    """Turn ``channel`` on or off for ``user``."""
    owner = get_or_create_user(session, user)
    row = session.get(NotificationPreference, (owner.pk, channel))
    if row is None:
        session.add(
            NotificationPreference(
                user_pk=owner.pk, channel=channel, enabled=enabled, updated_at=utcnow()
            )
        )
    else:
        row.enabled = enabled
        row.updated_at = utcnow()
    session.flush()


def preferences(session: Session, user: str, channels: tuple[str, ...]) -> dict[str, bool]:
    """``user``'s choice for each of ``channels`` (true unless turned off)."""
    rows = session.execute(
        select(NotificationPreference.channel, NotificationPreference.enabled)
        .join(User, User.pk == NotificationPreference.user_pk)
        .where(User.name == user)
    ).all()
    chosen = {c: bool(e) for c, e in rows}
    return {c: chosen.get(c, True) for c in channels}


def user_addresses_for_sending(
    session: Session, user_pk: int, channels: list[str]
) -> list[NotificationAddress]:
    """The user's enabled addresses on ``channels`` the user has not turned off."""
    off = set(
        session.scalars(
            select(NotificationPreference.channel).where(
                NotificationPreference.user_pk == user_pk,
                NotificationPreference.enabled.is_(False),
            )
        )
    )
    wanted = [c for c in channels if c not in off]
    if not wanted:
        return []
    return list(
        session.scalars(
            select(NotificationAddress)
            .where(
                NotificationAddress.user_pk == user_pk,
                NotificationAddress.channel.in_(wanted),
                NotificationAddress.disabled_at.is_(None),
            )
            .order_by(NotificationAddress.pk)
        )
    )
