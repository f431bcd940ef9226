"""Twilio webhook signatures (``X-Twilio-Signature``) for every feature set taking webhooks.

Published to plugins as :func:`verified_twilio_form` (a webhook's fields once
its signature checked out) and :func:`is_valid_twilio_signature` (``ngshare.plugin_api``):
Vivere's SMS announcements and Ekatra's learner replies read their webhooks
through them, so there is one implementation of the rule. Checked without Twilio's SDK.

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
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit, urlunsplit

if TYPE_CHECKING:
    from ngshare.web import APIHandler

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


FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"


class WebhookRefused(Exception):
    """A Twilio webhook that must be answered 403; the message says why, for the log.

    The reason never holds the token, the signature or the message text.
    """


def verified_twilio_form(
    handler: APIHandler, auth_token: str, public_url: str, *, setting: str
) -> list[tuple[str, str]]:
    """Every POST field of a Twilio webhook, once its signature checked out.

    ``public_url`` is the server's address as Twilio calls it, or ``""`` to use
    the request's own URL (behind a proxy that differs); ``setting`` names the
    auth-token setting in the refusal when it is empty. Fields are returned
    exactly as sent (they are signed), in order. Raises :class:`WebhookRefused`
    for a missing token or signature or a wrong one.

    .. versionadded:: 1.0
    """
    if not auth_token:
        raise WebhookRefused(f"{setting} is not set")
    signature = handler.request.headers.get("X-Twilio-Signature")
    if not signature:
        raise WebhookRefused("no X-Twilio-Signature")
    url = public_url + handler.request.uri if public_url else handler.request.full_url()
    params = _form_fields(handler)
    if not is_valid_twilio_signature(auth_token, url, params, signature):
        # the URL without its query string: that may carry other secrets
        raise WebhookRefused(f"invalid signature for {url.split('?', 1)[0]}")
    return params


def _form_fields(handler: APIHandler) -> list[tuple[str, str]]:
    media = handler.request.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if media != FORM_MEDIA_TYPE:
        return []
    try:
        return parse_qsl(handler.raw_body().decode("utf-8"), keep_blank_values=True)
    except (UnicodeDecodeError, ValueError):
        return []
