"""Notifications: one durable sender of e-mail, SMS, WhatsApp and push for every feature set.

A plugin queues a message in the transaction of the change that causes it;
workers send it afterwards, off the request path, with retries::

    def enrol(session, course_id, user):
        ...  # the plugin's own writes
        ctx.notifications.send(
            session, plugin="ekatra", channel="sms", to="+15551234567",
            body="Welcome!", user=user, key=f"ekatra:welcome:{course_id}:{user}",
        )

    await ctx.db.run(enrol, 7, "ada")  # the SMS exists only if this commits

Providers (:mod:`~ngshare.notifications.providers`) serve channels:
``log`` (records, sends nothing: every channel's default under ``vngshare``),
``smtp`` (``email``), ``twilio`` (``sms``, ``whatsapp``), ``webpush``
(browsers; :mod:`~ngshare.notifications.vapid` keeps the server's key); APNs
and FCM implement the same :class:`~ngshare.notifications.providers.Provider`.

Admins see the outbox at ``GET {prefix}notifications`` and send a failed
message again with ``POST {prefix}notifications/<id>/retry`` (or ``ngshare
notifications list|retry``); people manage their addresses at
``{prefix}notifications/addresses`` and their channels at
``{prefix}notifications/preferences``; browsers fetch the VAPID public key at
``{prefix}notifications/vapid-public-key`` and register their push
subscriptions at ``{prefix}notifications/webpush-subscriptions``.

Modules: :mod:`~ngshare.notifications.service` (``ctx.notifications``, the
workers, the design notes), :mod:`~ngshare.notifications.store` (database
work, claiming), :mod:`~ngshare.notifications.models` (tables),
:mod:`~ngshare.notifications.addresses` (channels, address checks),
:mod:`~ngshare.notifications.handlers`, :mod:`~ngshare.notifications.openapi`,
:mod:`~ngshare.notifications.cli`. This module assembles :data:`service`,
the core service :data:`ngshare.app.CORE_SERVICES` lists.
"""

from __future__ import annotations

from ngshare.notifications.addresses import (
    CHANNELS,
    MAX_ADDRESS_LENGTH,
    NotificationError,
    normalize_address,
)
from ngshare.notifications.cli import NOTIFICATIONS_USAGE, format_messages, notifications_command
from ngshare.notifications.handlers import (
    AddressHandler,
    AddressListHandler,
    MessageListHandler,
    MessageRetryHandler,
    PreferenceHandler,
)
from ngshare.notifications.openapi import openapi_paths
from ngshare.notifications.providers import (
    PROVIDER_CLASSES,
    LogProvider,
    Outcome,
    Outgoing,
    Provider,
    SmtpProvider,
    TwilioProvider,
    WebPushProvider,
)
from ngshare.notifications.service import (
    NotificationService,
    prune_messages,
    ready,
    start,
    stop,
)
from ngshare.notifications.store import InvalidRecipient
from ngshare.notifications.webpush_handlers import (
    VapidPublicKeyHandler,
    WebPushSubscriptionListHandler,
)
from ngshare.plugin import Plugin
from ngshare.scheduler.core import Job

__all__ = [
    "CHANNELS",
    "MAX_ADDRESS_LENGTH",
    "NOTIFICATIONS_USAGE",
    "PROVIDER_CLASSES",
    "AddressHandler",
    "AddressListHandler",
    "InvalidRecipient",
    "LogProvider",
    "MessageListHandler",
    "MessageRetryHandler",
    "NotificationError",
    "NotificationService",
    "Outcome",
    "Outgoing",
    "PreferenceHandler",
    "Provider",
    "SmtpProvider",
    "TwilioProvider",
    "VapidPublicKeyHandler",
    "WebPushProvider",
    "WebPushSubscriptionListHandler",
    "format_messages",
    "normalize_address",
    "notifications_command",
    "openapi_paths",
    "service",
]

service = Plugin(
    name="notifications",
    mount="",
    description="One durable outbox for e-mail, SMS, WhatsApp and push, with retries.",
    handlers=[
        (r"notifications/?", MessageListHandler),
        (r"notifications/(?P<message_id>[0-9]{1,18})/retry/?", MessageRetryHandler),
        (r"notifications/addresses/?", AddressListHandler),
        (r"notifications/addresses/(?P<address_id>[0-9]{1,18})/?", AddressHandler),
        (r"notifications/preferences/?", PreferenceHandler),
        (r"notifications/vapid-public-key/?", VapidPublicKeyHandler),
        (r"notifications/webpush-subscriptions/?", WebPushSubscriptionListHandler),
    ],
    jobs=[Job("notifications.prune_messages", prune_messages, "cron", {"hour": 3, "minute": 41})],
    startup=start,
    ready=ready,
    shutdown=stop,
    openapi=openapi_paths(),
    commands={"notifications": notifications_command},
)
