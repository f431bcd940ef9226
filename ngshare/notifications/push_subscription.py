"""A browser's Web Push subscription as an address: checked, and kept as compact JSON.

The browser hands its ``PushSubscription.toJSON()`` to the page, which posts
it to ngshare::

    {"endpoint": "https://push.example.net/send/abc",
     "expirationTime": null,
     "keys": {"p256dh": "<65-byte P-256 point, base64url>", "auth": "<16 bytes, base64url>"}}

:func:`normalize_subscription` refuses anything a push service would refuse
later, so a bad subscription is a 400 when it is registered rather than a
failed message afterwards; what is stored is
``{"endpoint":...,"keys":{"p256dh":...,"auth":...}}`` with unpadded
base64url keys, so the same subscription always makes the same address.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import re
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec

from ngshare.notifications.addresses import NotificationError

#: Longest endpoint URL accepted (push services use a few hundred characters).
MAX_ENDPOINT_LENGTH = 2048
#: Hosts a plain-http endpoint may name (local stand-ins of a push service).
LOOPBACK_NAMES = frozenset({"localhost"})

_BASE64URL = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")


def _is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _key_bytes(keys: dict[str, Any], name: str, length: int) -> str:
    value = keys.get(name)
    if not isinstance(value, str) or not value:
        raise NotificationError(f"a Web Push subscription needs keys.{name} (base64url)")
    if len(value) > 200 or not _BASE64URL.match(value):
        raise NotificationError(f"keys.{name} must be base64url")
    try:
        raw = base64.urlsafe_b64decode(value.rstrip("=") + "=" * (-len(value.rstrip("=")) % 4))
    except (binascii.Error, ValueError):
        raise NotificationError(f"keys.{name} must be base64url") from None
    if len(raw) != length:
        raise NotificationError(f"keys.{name} must be {length} bytes, not {len(raw)}")
    if name == "p256dh":
        try:
            if raw[0] != 0x04:
                raise ValueError("compressed")
            ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
        except ValueError:
            raise NotificationError(
                "keys.p256dh must be an uncompressed point of the P-256 curve"
            ) from None
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def check_endpoint(endpoint: Any) -> str:
    """``endpoint`` if it is a push service URL ngshare may post to; else NotificationError."""
    if not isinstance(endpoint, str) or not endpoint:
        raise NotificationError("a Web Push subscription needs an endpoint URL")
    if len(endpoint) > MAX_ENDPOINT_LENGTH:
        raise NotificationError(f"the endpoint is at most {MAX_ENDPOINT_LENGTH} characters")
    try:
        parts = urlsplit(endpoint)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise NotificationError("the endpoint is not a URL") from None
    if not host or any(c.isspace() for c in endpoint):
        raise NotificationError("the endpoint is not a URL")
    if parts.scheme == "https":
        return endpoint
    if parts.scheme == "http" and _is_loopback(host):
        return endpoint
    raise NotificationError("the endpoint must be an https URL")


def parse_subscription(value: Any) -> dict[str, Any]:
    """The checked subscription (``endpoint``, ``keys``) from its JSON text or object."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise NotificationError("a Web Push subscription must be JSON") from None
    if not isinstance(value, dict):
        raise NotificationError("a Web Push subscription must be a JSON object")
    endpoint = check_endpoint(value.get("endpoint"))
    keys = value.get("keys")
    if not isinstance(keys, dict):
        raise NotificationError("a Web Push subscription needs keys (p256dh and auth)")
    return {
        "endpoint": endpoint,
        "keys": {"p256dh": _key_bytes(keys, "p256dh", 65), "auth": _key_bytes(keys, "auth", 16)},
    }


def normalize_subscription(value: Any) -> str:
    """The subscription as stored: compact JSON, fixed key order, unpadded keys."""
    return json.dumps(parse_subscription(value), separators=(",", ":"))


def endpoint_of(address: str) -> str | None:
    """The endpoint of a stored subscription (``None`` if it is not one)."""
    try:
        endpoint = json.loads(address).get("endpoint")
    except (ValueError, AttributeError):
        return None
    return endpoint if isinstance(endpoint, str) else None
