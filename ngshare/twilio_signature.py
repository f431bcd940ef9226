"""Twilio webhook signatures (``X-Twilio-Signature``) for every feature set taking webhooks.

Published to plugins as :func:`is_valid_twilio_signature` (``ngshare.plugin_api``):
Vivere's SMS announcements and Ekatra's learner replies check their webhooks
with it, so there is one implementation of the rule. Checked without Twilio's SDK.

Twilio signs each webhook request with the account's auth token: HMAC-SHA1
over the full URL it called, followed by every POST parameter's name and
value, sorted by name (and, for repeated names, by value), base64-encoded
(https://www.twilio.com/docs/usage/webhooks/webhooks-security). As Twilio's
own validator does, the URL is tried with and without the scheme's default
port, since Twilio's signing is not consistent about it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import urlsplit, urlunsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}


def compute_signature(auth_token: str, url: str, params: list[tuple[str, str]]) -> str:
    """The signature Twilio sends for a POST of ``params`` to ``url``."""
    signed = url
    for name in sorted({n for n, _ in params}):
        for value in sorted({v for n, v in params if n == name}):
            signed += name + value
    digest = hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _port_variants(url: str) -> list[str]:
    parts = urlsplit(url)
    default = _DEFAULT_PORTS.get(parts.scheme)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if default is None or parts.port not in (None, default):
        return [url]
    userinfo = parts.netloc.rpartition("@")[0]
    prefix = userinfo + "@" if userinfo else ""
    without = urlunsplit(parts._replace(netloc=prefix + host))
    with_port = urlunsplit(parts._replace(netloc=f"{prefix}{host}:{default}"))
    return [without, with_port]


def is_valid_twilio_signature(
    auth_token: str, url: str, params: list[tuple[str, str]], signature: str | None
) -> bool:
    """Whether ``signature`` is Twilio's for this request (constant-time comparison).

    ``url`` is the full URL Twilio called (scheme, host, path and query), as
    Twilio saw it; ``params`` every POST form field, exactly as sent. An empty
    ``auth_token`` or a missing signature never validates.

    .. versionadded:: 1.0 (it was part of the vivere plugin before)
    """
    if not auth_token or not signature:
        return False
    given = signature.strip().encode()
    valid = False
    for candidate in _port_variants(url):
        expected = compute_signature(auth_token, candidate, params).encode()
        valid |= hmac.compare_digest(expected, given)
    return valid
