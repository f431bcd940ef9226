"""The channels and what an address on each looks like (checked before anything is stored)."""

from __future__ import annotations

import re

from ngshare.notifications.device_tokens import normalize_apns_token, normalize_fcm_token

#: Every channel a message can go out on.
CHANNELS = ("email", "sms", "whatsapp", "webpush", "apns", "fcm")

#: Longest address kept (a Web Push subscription's JSON is the longest kind).
MAX_ADDRESS_LENGTH = 4096

_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
# deliberately loose: one @, no spaces, a dot in the domain; the mail server decides the rest
_EMAIL = re.compile(r"^[^@\s<>,;]{1,64}@[^@\s<>,;]+\.[^@\s<>,;]+$")


class NotificationError(ValueError):
    """A send or an address the service refuses; the message says why (a 400 for clients)."""


def normalize_address(channel: str, address: str) -> str:
    """``address`` as stored for ``channel``; :class:`NotificationError` when it cannot be one.

    Phone numbers must be E.164 (``+15551234567``); a WhatsApp address is one
    with ``whatsapp:`` in front (added when missing). APNs and FCM device tokens
    are checked for their form (:mod:`.device_tokens`); a Web Push subscription
    is checked and kept as compact JSON (:mod:`.push_subscription`).
    """
    if channel not in CHANNELS:
        raise NotificationError(f"unknown channel {channel!r}: one of {', '.join(CHANNELS)}")
    if not isinstance(address, str) or not address.strip():
        raise NotificationError(f"a {channel} address must be a non-empty string")
    address = address.strip()
    if len(address) > MAX_ADDRESS_LENGTH:
        raise NotificationError(f"a {channel} address is at most {MAX_ADDRESS_LENGTH} characters")
    if channel == "email":
        if len(address) > 254 or not _EMAIL.match(address):
            raise NotificationError(f"not an e-mail address: {address[:100]!r}")
        local, _, domain = address.rpartition("@")
        return f"{local}@{domain.lower()}"
    if channel in ("sms", "whatsapp"):
        number = address.removeprefix("whatsapp:") if channel == "whatsapp" else address
        number = re.sub(r"[\s().-]", "", number)
        if not _E164.match(number):
            raise NotificationError(
                f"a {channel} address must be a phone number in E.164 form (+15551234567)"
            )
        return f"whatsapp:{number}" if channel == "whatsapp" else number
    try:
        if channel == "apns":
            return normalize_apns_token(address)
        if channel == "fcm":
            return normalize_fcm_token(address)
    except ValueError as e:
        raise NotificationError(str(e)) from None
    if channel == "webpush":
        # imported here: push_subscription raises this module's NotificationError
        from ngshare.notifications.push_subscription import normalize_subscription

        return normalize_subscription(address)
    return address
