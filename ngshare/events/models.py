"""The ``events`` table: live events kept for replicas and for replay after reconnect.

Written only with ``EventBus.backend = 'postgres'`` (:mod:`ngshare.events.postgres`),
in the transaction whose commit the event announces; the id is the event's id
on the wire, global and in commit order. Created on every database by the
``events`` migration branch so the schema is the same everywhere.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ngshare.models import CoreBase

#: BIGSERIAL on PostgreSQL; SQLite's rowid alias must be INTEGER.
_event_id = BigInteger().with_variant(Integer(), "sqlite")


class EventRecord(CoreBase):
    """One published event: ``data`` is its JSON object as sent to subscribers."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_channel_id", "channel", "id"),)

    id: Mapped[int] = mapped_column(_event_id, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    data: Mapped[str] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(index=True)
