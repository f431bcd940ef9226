"""Vivere's tables (alembic branch ``vivere``), on the plugin's own MetaData.

People are core users (:class:`ngshare.models.User`): local accounts made by
``user/create`` and JupyterHub users alike. Vivere keeps only what the core
does not: a display name (:class:`Profile`). Map images are blobs in the core
blob store; a location keeps the digest and the sniffed content type.

Ticket state is derived, never stored as a flag: a ticket is *closed* when
``time_complete`` is set, *in progress* when claimed, and otherwise *open*
until ``time_opened + ticket_expiry_seconds``, *expired* after that (see
:mod:`ngshare_vivere.tickets`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ngshare.plugin_api import User, intpk, make_metadata, utcnow

MAX_NAME = 255
MAX_DESCRIPTION = 4000
MAX_LONG_DESCRIPTION = 10000
#: Twilio concatenates up to 10 segments: 1600 characters.
MAX_MESSAGE = 1600

#: Locations with a rank below this are not primary (not in GET maps).
PRIMARY_RANK = 0

SOURCE_ORGANISER = "organiser"
SOURCE_SMS = "sms"


class VivereBase(DeclarativeBase):
    metadata = make_metadata()


class Profile(VivereBase):
    """The display name of a core user (``user/create``'s ``name``)."""

    __tablename__ = "vivere_profiles"

    user_pk: Mapped[int] = mapped_column(ForeignKey(User.pk, ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(MAX_NAME))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Location(VivereBase):
    """A place in the venue; primary ones (``rank >= 0``) are the maps list."""

    __tablename__ = "vivere_locations"

    pk: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(MAX_NAME))
    rank: Mapped[int] = mapped_column(Integer, default=-1, index=True)
    #: sha256 of the map image in the blob store; content type as sniffed at upload.
    map_sha256: Mapped[str | None] = mapped_column(String(64))
    map_content_type: Mapped[str | None] = mapped_column(String(32))
    map_size: Mapped[int | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Event(VivereBase):
    """An item of the schedule."""

    __tablename__ = "vivere_events"

    pk: Mapped[intpk]
    short_description: Mapped[str] = mapped_column(String(MAX_NAME))
    long_description: Mapped[str] = mapped_column(Text, default="")
    start_time: Mapped[datetime] = mapped_column(index=True)
    end_time: Mapped[datetime]
    #: Deleting a location that events use is refused (409), so this never dangles.
    location_pk: Mapped[int | None] = mapped_column(ForeignKey(Location.pk), index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Announcement(VivereBase):
    """A message to everyone, visible from ``time`` on (organisers may date it ahead).

    ``published_at`` records that it went out on ``com.vivere.announcement``;
    it is set in the transaction that publishes, so each goes out once.
    """

    __tablename__ = "vivere_announcements"

    pk: Mapped[intpk]
    message: Mapped[str] = mapped_column(Text)
    time: Mapped[datetime] = mapped_column(index=True)
    source: Mapped[str] = mapped_column(String(16))
    #: The organiser's user name, or the sender's phone number for SMS.
    created_by: Mapped[str] = mapped_column(String(MAX_NAME))
    #: Twilio's MessageSid: a replayed or retried webhook creates nothing new.
    sms_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None]


class Ticket(VivereBase):
    """A mentorship request (the seed's MentorTicket)."""

    __tablename__ = "vivere_tickets"
    __table_args__ = (
        # the queue: unclaimed, not closed, recently opened
        Index("ix_vivere_tickets_queue", "time_complete", "claimed_by_pk", "time_opened"),
    )

    pk: Mapped[intpk]
    description: Mapped[str] = mapped_column(Text)
    location: Mapped[str] = mapped_column(String(MAX_NAME))
    contact: Mapped[str] = mapped_column(String(MAX_NAME))
    created_by_pk: Mapped[int] = mapped_column(ForeignKey(User.pk, ondelete="CASCADE"), index=True)
    claimed_by_pk: Mapped[int | None] = mapped_column(
        ForeignKey(User.pk, ondelete="SET NULL"), index=True
    )
    #: Queue position: creation order, kept across re-opening.
    time_created: Mapped[datetime]
    #: When it was last (re)opened: expiry counts from here.
    time_opened: Mapped[datetime]
    time_claimed: Mapped[datetime | None]
    time_complete: Mapped[datetime | None]
    #: The ``time_opened`` whose expiry went out on the mentor channel (once per opening).
    expiry_announced_for: Mapped[datetime | None]


class EventTime(VivereBase):
    """An organiser's value for one of GET times' keys (else the configured default)."""

    __tablename__ = "vivere_event_times"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[datetime]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
