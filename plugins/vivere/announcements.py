"""Announcements: visible from their ``time`` on, announced once when they become visible.

An announcement dated in the future (organisers may prepare them) is hidden
from ``GET announcements`` and from the channel until it is due. It is then
published by a dated job (``vivere.publish_announcement:<id>``, scheduled by
the handler) or, should that be missed, by the ``vivere.publish_due_announcements``
sweep. Both go through :func:`publish_due`, which marks ``published_at`` with
a conditional UPDATE in the transaction that publishes: whichever runs first
announces it, and only once. Given the notifications service (``push``), the
same transaction queues the announcement for subscribed browsers
(:mod:`ngshare_vivere.push`).

Database functions; run them through ``ctx.db.run``.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from ngshare_vivere import channels, errors
from ngshare_vivere import push as web_push
from ngshare_vivere.models import Announcement
from ngshare_vivere.wire import announcement_json
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ngshare.plugin_api import ApiError

if TYPE_CHECKING:
    from ngshare.plugin_api import EventBus, NotificationService

#: Most announcements one sweep publishes (the rest go out at the next).
PUBLISH_BATCH = 200


def dated_job_id(announcement_pk: int) -> str:
    return f"vivere.publish_announcement:{announcement_pk}"


def visible_announcements(session: Session, since: datetime, now: datetime) -> list[dict]:
    """Announcements with ``since < time <= now``, newest first."""
    rows = session.scalars(
        select(Announcement)
        .where(Announcement.time > since, Announcement.time <= now)
        .order_by(Announcement.time.desc(), Announcement.pk.desc())
    )
    return [announcement_json(a) for a in rows]


def all_announcements(session: Session) -> list[dict]:
    """Every announcement, those still to come included, newest first (organisers)."""
    rows = session.scalars(
        select(Announcement).order_by(Announcement.time.desc(), Announcement.pk.desc())
    )
    return [announcement_json(a) for a in rows]


def _publish_if_unpublished(
    session: Session,
    bus: EventBus,
    announcement: Announcement,
    now: datetime,
    push: NotificationService | None = None,
) -> bool:
    marked = session.execute(
        update(Announcement)
        .where(Announcement.pk == announcement.pk, Announcement.published_at.is_(None))
        .values(published_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if marked != 1:
        return False
    announcement.published_at = now
    payload = announcement_json(announcement)
    bus.publish_after_commit(
        session, channels.ANNOUNCEMENTS, channels.ANNOUNCEMENT_CREATED, payload
    )
    web_push.queue_announcement(session, push, payload)
    return True


def create_announcement(
    session: Session,
    bus: EventBus,
    *,
    message: str,
    time: datetime,
    source: str,
    created_by: str,
    now: datetime,
    sms_sid: str | None = None,
    push: NotificationService | None = None,
) -> tuple[dict[str, Any], bool]:
    """Store an announcement; publish it now if it is due. ``(json, created)``.

    With ``sms_sid`` already stored (Twilio retried, or someone replayed the
    request) nothing new is made: ``created`` is false.
    """
    if sms_sid is not None:
        existing = session.scalar(select(Announcement).where(Announcement.sms_sid == sms_sid))
        if existing is not None:
            return announcement_json(existing), False
    announcement = Announcement(
        message=message, time=time, source=source, created_by=created_by, sms_sid=sms_sid
    )
    session.add(announcement)
    session.flush()
    if time <= now:
        _publish_if_unpublished(session, bus, announcement, now, push)
    return announcement_json(announcement), True


def _get(session: Session, pk: int) -> Announcement:
    announcement = session.get(Announcement, pk, with_for_update=True)
    if announcement is None:
        raise ApiError(404, errors.ERR_ANNOUNCEMENT_NOT_FOUND)
    return announcement


def update_announcement(
    session: Session,
    bus: EventBus,
    pk: int,
    changes: dict[str, Any],
    now: datetime,
    push: NotificationService | None = None,
) -> dict[str, Any]:
    """Change ``message`` and/or ``time``; tell subscribers what they can now see.

    Already published and still visible: ``announcement.updated``. Moved into
    the future: ``announcement.deleted`` now, ``announcement.created`` again
    when it is due. Not yet published and now due: ``announcement.created``.
    """
    announcement = _get(session, pk)
    for name, value in changes.items():
        setattr(announcement, name, value)
    session.flush()
    payload = announcement_json(announcement)
    if announcement.published_at is not None:
        if announcement.time <= now:
            bus.publish_after_commit(
                session, channels.ANNOUNCEMENTS, channels.ANNOUNCEMENT_UPDATED, payload
            )
        else:
            announcement.published_at = None
            bus.publish_after_commit(
                session, channels.ANNOUNCEMENTS, channels.ANNOUNCEMENT_DELETED, payload
            )
    elif announcement.time <= now:
        _publish_if_unpublished(session, bus, announcement, now, push)
    return payload


def delete_announcement(session: Session, bus: EventBus, pk: int) -> dict[str, Any]:
    announcement = _get(session, pk)
    payload = announcement_json(announcement)
    if announcement.published_at is not None:
        bus.publish_after_commit(
            session, channels.ANNOUNCEMENTS, channels.ANNOUNCEMENT_DELETED, payload
        )
    session.delete(announcement)
    return payload


def is_pending(session: Session, pk: int) -> datetime | None:
    """The time of announcement ``pk`` if it still waits to be published."""
    return session.scalar(
        select(Announcement.time).where(Announcement.pk == pk, Announcement.published_at.is_(None))
    )


def publish_due(
    session: Session,
    bus: EventBus,
    now: datetime,
    only_pk: int | None = None,
    push: NotificationService | None = None,
) -> int:
    """Publish due, unpublished announcements (oldest first); how many went out."""
    query = (
        select(Announcement)
        .where(Announcement.published_at.is_(None), Announcement.time <= now)
        .order_by(Announcement.time, Announcement.pk)
        .limit(PUBLISH_BATCH)
    )
    if only_pk is not None:
        query = query.where(Announcement.pk == only_pk)
    due = session.scalars(query).all()
    return sum(_publish_if_unpublished(session, bus, a, now, push) for a in due)
