"""Tables of the notifications service: the outbox, people's addresses and their preferences.

They are core tables (on :class:`ngshare.models.CoreBase`, like the accounts'),
because every feature set sends through them and none owns them; their alembic
branch is ``notifications`` (``alembic/versions/n0t1f0000001_notifications.py``).
Only :mod:`ngshare.notifications` writes them; plugins go through
``ctx.notifications``. Every datetime is naive UTC.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ngshare.db import intpk
from ngshare.models import CoreBase, User, utcnow

#: Longest idempotency key; 191 characters fit a unique index on every backend.
KEY_LENGTH = 191

#: A message's life: ``pending`` (due at ``next_attempt_at``), ``sending``
#: (claimed by a worker until ``next_attempt_at``), then one of the final states.
PENDING, SENDING, SENT, FAILED, INVALID, SKIPPED = (
    "pending",
    "sending",
    "sent",
    "failed",
    "invalid",
    "skipped",
)
STATUSES = (PENDING, SENDING, SENT, FAILED, INVALID, SKIPPED)


def address_key(channel: str, address: str) -> str:
    """sha256 of channel and address: long addresses (Web Push) cannot be indexed."""
    return hashlib.sha256(f"{channel}\n{address}".encode()).hexdigest()


class OutboxMessage(CoreBase):
    """One message to one address, from its enqueueing to its final state.

    The row is written in the transaction of the change that causes it, so it
    exists if and only if that change committed; workers claim due rows, send
    them and record the outcome in place.
    """

    __tablename__ = "notifications_messages"
    __table_args__ = (Index("ix_notifications_messages_due", "status", "next_attempt_at"),)

    pk: Mapped[intpk]
    #: The feature set that sent it; its ``invalid_recipient`` hook hears about bad addresses.
    plugin: Mapped[str] = mapped_column(String(64), index=True)
    channel: Mapped[str] = mapped_column(String(32), index=True)
    recipient: Mapped[str] = mapped_column(Text)
    recipient_key: Mapped[str] = mapped_column(String(64), index=True)
    user_pk: Mapped[int | None] = mapped_column(ForeignKey(User.pk, ondelete="SET NULL"))
    subject: Mapped[str | None] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    #: Extra, channel-specific content (an HTML part, a push payload's data, a URL).
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: Sending a message with a key already used sends nothing more.
    idempotency_key: Mapped[str | None] = mapped_column(String(KEY_LENGTH), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: When a pending message is due; for a sending one, when its claim lapses.
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Which claim holds a sending message (a random token per claim).
    claim: Mapped[str | None] = mapped_column(String(32))
    provider: Mapped[str | None] = mapped_column(String(32))
    #: The provider's id of the sent message (Twilio's SM..., an SMTP queue id...).
    provider_id: Mapped[str | None] = mapped_column(String(255))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class NotificationAddress(CoreBase):
    """Where one person can be reached on one channel (an e-mail address, a phone, a device).

    ``plugin`` registered it (CourseGrab a device token at login) and hears,
    through its ``invalid_recipient`` hook, when a provider says the address
    is dead; the address is then disabled, not deleted, so that nothing is
    sent to it again and the owner sees why.
    """

    __tablename__ = "notifications_addresses"
    __table_args__ = (UniqueConstraint("user_pk", "channel", "address_key"),)

    pk: Mapped[intpk]
    user_pk: Mapped[int] = mapped_column(ForeignKey(User.pk, ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    address: Mapped[str] = mapped_column(Text)
    address_key: Mapped[str] = mapped_column(String(64), index=True)
    plugin: Mapped[str | None] = mapped_column(String(64))
    label: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    disabled_at: Mapped[datetime | None]
    disabled_reason: Mapped[str | None] = mapped_column(Text)


class NotificationPreference(CoreBase):
    """Whether one person wants messages on one channel at all (no row: yes)."""

    __tablename__ = "notifications_preferences"

    user_pk: Mapped[int] = mapped_column(ForeignKey(User.pk, ondelete="CASCADE"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    enabled: Mapped[bool]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
