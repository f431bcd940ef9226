"""What an APNs or FCM device token looks like, checked when one is registered or sent to.

A malformed token can never receive, so it is refused with a 400 at once
instead of costing a send and an ``invalid`` later. The checks are loose on
length (both vendors say their tokens' length may change) and strict on the
alphabet.
"""

from __future__ import annotations

import re

#: APNs: the token's bytes in hex; 32 bytes (64 digits) today.
_APNS = re.compile(r"^[0-9a-f]{64,200}$")
#: FCM registration tokens: URL-safe base64 with ':' (about 150 to 200 characters today).
_FCM = re.compile(r"^[A-Za-z0-9_:-]{32,4096}$")


def normalize_apns_token(token: str) -> str:
    """The token as lower-case hex, spaces and ``<>`` (as iOS prints it) removed."""
    cleaned = re.sub(r"[\s<>]", "", token).lower()
    if not _APNS.match(cleaned) or len(cleaned) % 2:
        raise ValueError(
            "an apns address must be a device token: an even number (at least 64) of hex digits"
        )
    return cleaned


def normalize_fcm_token(token: str) -> str:
    """The registration token as given, if it can be one."""
    if not _FCM.match(token):
        raise ValueError(
            "an fcm address must be a registration token: at least 32 characters "
            "of letters, digits, '-', '_' and ':'"
        )
    return token
