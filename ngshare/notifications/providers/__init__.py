"""Notification providers: the interface (:mod:`.base`) and the core's own providers.

``c.NotificationService.channels`` names a provider per channel by the names
in :data:`PROVIDER_CLASSES`; a new provider subclasses
:class:`Provider`, and registers its class here.
"""

from __future__ import annotations

from ngshare.notifications.providers.apns import ApnsProvider
from ngshare.notifications.providers.base import (
    Outcome,
    OutcomeKind,
    Outgoing,
    Provider,
    RateLimiter,
    parse_retry_after,
)
from ngshare.notifications.providers.fcm import FcmProvider
from ngshare.notifications.providers.log import LogProvider
from ngshare.notifications.providers.smtp import SmtpProvider
from ngshare.notifications.providers.twilio import TwilioProvider
from ngshare.notifications.providers.webpush import WebPushProvider

#: Provider name -> class, for ``c.NotificationService.channels``.
PROVIDER_CLASSES: dict[str, type[Provider]] = {
    ApnsProvider.name: ApnsProvider,
    FcmProvider.name: FcmProvider,
    LogProvider.name: LogProvider,
    SmtpProvider.name: SmtpProvider,
    TwilioProvider.name: TwilioProvider,
    WebPushProvider.name: WebPushProvider,
}

__all__ = [
    "PROVIDER_CLASSES",
    "ApnsProvider",
    "FcmProvider",
    "LogProvider",
    "Outcome",
    "OutcomeKind",
    "Outgoing",
    "Provider",
    "RateLimiter",
    "SmtpProvider",
    "TwilioProvider",
    "WebPushProvider",
    "parse_retry_after",
]
