"""Database work on registered addresses beyond one user's list: run through ``ctx.db``.

A browser's push subscription is one endpoint; when it registers again with
new keys (the browser renewed them) the old row must go, or the old keys
would be sent to and fail. And a plugin sending to everyone who subscribed
through it (Vivere's announcements) needs the addresses it registered.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ngshare.models import User
from ngshare.notifications.models import NotificationAddress
from ngshare.notifications.push_subscription import endpoint_of

WEBPUSH = "webpush"


def _push_rows(session: Session, user: str) -> list[NotificationAddress]:
    return list(
        session.scalars(
            select(NotificationAddress)
            .join(User, User.pk == NotificationAddress.user_pk)
            .where(User.name == user, NotificationAddress.channel == WEBPUSH)
        )
    )


def drop_replaced_subscriptions(session: Session, user: str, address: str) -> int:
    """Delete ``user``'s other subscriptions of ``address``'s endpoint; how many."""
    endpoint = endpoint_of(address)
    stale = [
        a.pk
        for a in _push_rows(session, user)
        if a.address != address and endpoint_of(a.address) == endpoint
    ]
    if stale:
        session.execute(delete(NotificationAddress).where(NotificationAddress.pk.in_(stale)))
    return len(stale)


def remove_subscription(session: Session, user: str, endpoint: str) -> int:
    """Delete ``user``'s subscription of ``endpoint``; how many rows went (0 or 1)."""
    gone = [a.pk for a in _push_rows(session, user) if endpoint_of(a.address) == endpoint]
    if gone:
        session.execute(delete(NotificationAddress).where(NotificationAddress.pk.in_(gone)))
    return len(gone)


def registered_by(
    session: Session, plugin: str, channel: str
) -> list[tuple[NotificationAddress, str]]:
    """Enabled addresses on ``channel`` that ``plugin`` registered, with their users' names."""
    rows = session.execute(
        select(NotificationAddress, User.name)
        .join(User, User.pk == NotificationAddress.user_pk)
        .where(
            NotificationAddress.plugin == plugin,
            NotificationAddress.channel == channel,
            NotificationAddress.disabled_at.is_(None),
        )
        .order_by(NotificationAddress.pk)
    ).all()
    return [(address, name) for address, name in rows]
