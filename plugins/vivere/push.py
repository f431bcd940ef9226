"""Announcements by Web Push: one message to every browser subscribed to them.

The seed sent announcements through Pusher Beams; here a browser subscribes
at ``vivere/announcements/push-subscription`` (a core Web Push address
registered by plugin ``vivere``), and when an announcement is published the
transaction that publishes it queues one message per subscribed browser in
the core outbox (``ctx.notifications``). The idempotency key
``vivere:announcement:<id>#<address id>`` makes a second publication of the
same announcement (moved to the future, then due again) send nothing twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from ngshare.plugin_api import NotificationService

#: The notification's title (the browser shows the message as its body).
TITLE = "Announcement"


def announcement_key(announcement_id: str | int) -> str:
    """The idempotency key of one announcement's pushes (the core appends ``#<address id>``)."""
    return f"vivere:announcement:{announcement_id}"


def queue_announcement(
    session: Session, notifications: NotificationService | None, payload: dict[str, Any]
) -> list[int]:
    """Queue ``payload`` (an announcement's JSON) to every subscribed browser; the message ids.

    Nothing when the server has no notifications service or Web Push is off.
    """
    if notifications is None or "webpush" not in notifications.enabled_channels():
        return []
    return notifications.send_to_subscribers(
        session,
        plugin="vivere",
        channel="webpush",
        subject=TITLE,
        body=payload["message"],
        data={"type": "announcement", "announcement": payload},
        key=announcement_key(payload["id"]),
    )
