"""iOS push through Apple's HTTP/2 provider API, with token (.p8 key) authentication.

Each message is one ``POST /3/device/<device token>`` on a shared HTTP/2
connection (``httpx`` with ``h2``: many streams at once on one TLS connection,
as Apple asks), with ``authorization: bearer <JWT>`` from
:class:`~ngshare.notifications.providers.apns_token.ProviderToken`,
``apns-topic`` (the app's bundle id) and ``apns-push-type``.

Why not ``aioapns``: it fixes Apple's host names in its classes (no stand-in
can be reached without patching it), keeps only the status and ``reason`` of
an answer (a 429's ``Retry-After`` is lost), and brings pyOpenSSL. ``httpx``
is a maintained HTTP/2 client whose base URL is a setting like any other.

Outcomes: 200 -> delivered (the ``apns-id``); 410, and 400 ``BadDeviceToken``,
``Unregistered`` or ``DeviceTokenNotForTopic`` -> invalid; 429 and 5xx,
timeouts and failed connections -> retry (honouring ``Retry-After``); 403
``ExpiredProviderToken`` -> a new token and one more try at once; any other
4xx -> failed with Apple's reason.

``httpx`` is imported when the provider starts: a server without APNs or FCM
does not load it.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from traitlets import Enum, Float, Integer, Unicode

from ngshare.notifications.providers.apns_token import (
    MAX_TOKEN_AGE,
    MIN_REFRESH_INTERVAL,
    ProviderToken,
    load_signing_key,
)
from ngshare.notifications.providers.base import Outcome, Outgoing, Provider, parse_retry_after
from ngshare.notifications.providers.http import http2_client

if TYPE_CHECKING:
    import httpx

#: Apple's hosts per ``environment``.
APNS_HOSTS = {
    "production": "https://api.push.apple.com",
    "sandbox": "https://api.sandbox.push.apple.com",
}
#: The largest payload Apple takes for a notification (bytes of JSON).
MAX_PAYLOAD_BYTES = 4096
#: Reasons of a 400 meaning "this device token will never receive from this app".
INVALID_TOKEN_REASONS = frozenset({"BadDeviceToken", "Unregistered", "DeviceTokenNotForTopic"})


class ApnsProvider(Provider):
    """``apns``: notifications to iPhones and iPads through one Apple developer key."""

    name = "apns"
    channels = ("apns",)

    key_file = Unicode("", help="Path of the .p8 key file from Apple (AuthKey_<key id>.p8).").tag(
        config=True
    )
    key = Unicode("", help="The .p8 key's PEM text, instead of key_file.").tag(config=True)
    key_id = Unicode("", help="The key's 10-character Key ID (the JWT's kid).").tag(config=True)
    team_id = Unicode("", help="The Apple developer Team ID (the JWT's iss).").tag(config=True)
    topic = Unicode(
        "", help="The app's bundle id, e.g. 'org.example.coursegrab' (apns-topic)."
    ).tag(config=True)
    environment = Enum(
        ["production", "sandbox"],
        "production",
        help="'production' (App Store and TestFlight builds) or 'sandbox' (development builds).",
    ).tag(config=True)
    api_base_url = Unicode(
        "", help="Overrides the host the environment picks (a local stand-in in tests)."
    ).tag(config=True)
    push_type = Unicode("alert", help="The apns-push-type header: 'alert' shows the message.").tag(
        config=True
    )
    ca_file = Unicode("", help="CA bundle to verify the host with; default: the system's.").tag(
        config=True
    )
    token_refresh_seconds = Float(
        3000.0,
        help=f"""Age at which the provider token is replaced: Apple refuses tokens older
        than {MAX_TOKEN_AGE:.0f} s and replacing one more often than every
        {MIN_REFRESH_INTERVAL:.0f} s.""",
    ).tag(config=True)
    max_batch = Integer(100, help="Messages per send() call, as concurrent HTTP/2 streams.").tag(
        config=True
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._client: httpx.AsyncClient | None = None
        self._token: ProviderToken | None = None

    def check(self) -> None:
        """Key, key id, team id and topic must be set, and the key must be an APNs key."""
        missing = [n for n in ("key_id", "team_id", "topic") if not getattr(self, n)]
        if not (self.key or self.key_file):
            missing.insert(0, "key_file")
        if missing:
            raise ValueError(f"set c.ApnsProvider.{' and c.ApnsProvider.'.join(missing)}")
        self._token = self._make_token()

    def _make_token(self) -> ProviderToken:
        if self.key:
            source, pem = "c.ApnsProvider.key", self.key.encode()
        else:
            source = f"c.ApnsProvider.key_file {self.key_file!r}"
            try:
                pem = Path(self.key_file).read_bytes()
            except OSError as e:
                raise ValueError(f"{source}: {e.strerror or e}") from None
        try:
            signing_key = load_signing_key(pem)
        except ValueError as e:
            raise ValueError(f"{source}: {e}") from None
        try:
            return ProviderToken(
                signing_key,
                key_id=self.key_id,
                team_id=self.team_id,
                refresh_seconds=self.token_refresh_seconds,
            )
        except ValueError as e:
            raise ValueError(f"c.ApnsProvider.token_refresh_seconds: {e}") from None

    @property
    def base_url(self) -> str:
        """Where requests go: ``api_base_url``, or Apple's host for ``environment``."""
        return (self.api_base_url or APNS_HOSTS[self.environment]).rstrip("/")

    async def start(self) -> None:
        """The HTTP/2 client (one connection carries every stream) and the token."""
        if self._token is None:
            self._token = self._make_token()
        self._client = http2_client(self, self.ca_file)

    async def close(self) -> None:
        """Close the connection."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def send(self, batch: list[Outgoing]) -> list[Outcome]:
        """Every message of the batch at once, each its own stream."""
        if self._client is None:
            await self.start()
        return list(await asyncio.gather(*(self._send_one(m) for m in batch)))

    def payload(self, m: Outgoing) -> dict[str, Any]:
        """The notification's JSON: an alert with the subject as title, then ``data``'s keys.

        An ``aps`` dictionary in ``data`` (``badge``, ``thread-id``, ``category``)
        adds to the alert's ``aps``.
        """
        alert: dict[str, str] = {"body": m.body}
        if m.subject:
            alert = {"title": m.subject, **alert}
        aps: dict[str, Any] = {"alert": alert, "sound": "default"}
        extra = dict(m.data)
        if isinstance(extra.get("aps"), dict):
            aps.update(extra.pop("aps"))
        extra.pop("aps", None)
        return {"aps": aps, **extra}

    async def _send_one(self, m: Outgoing) -> Outcome:
        import httpx

        assert self._client is not None and self._token is not None
        body = json.dumps(self.payload(m), separators=(",", ":"), ensure_ascii=False).encode()
        if len(body) > MAX_PAYLOAD_BYTES:
            return Outcome.failed(
                f"APNs payload is {len(body)} bytes; Apple takes at most {MAX_PAYLOAD_BYTES}"
            )
        url = f"{self.base_url}/3/device/{quote(m.to, safe='')}"
        token = self._token.current()
        for renewed in (False, True):
            headers = {
                "authorization": f"bearer {token}",
                "apns-topic": self.topic,
                "apns-push-type": self.push_type,
                "apns-priority": "10" if self.push_type == "alert" else "5",
                "content-type": "application/json",
            }
            try:
                response = await self._client.post(url, content=body, headers=headers)
            except httpx.TransportError as e:
                return Outcome.retry(f"APNs unreachable: {type(e).__name__}: {e}")
            reason = _reason(response)
            if response.status_code == 403 and reason == "ExpiredProviderToken" and not renewed:
                token = self._token.expired(token)
                continue
            return outcome_of(response, reason)
        raise AssertionError("unreachable")


def _reason(response: httpx.Response) -> str:
    """Apple's ``reason`` of an error answer ('' for a success or a body without one)."""
    if response.status_code == 200:
        return ""
    try:
        payload = response.json()
    except ValueError:
        return ""
    return str(payload.get("reason") or "") if isinstance(payload, dict) else ""


def outcome_of(response: httpx.Response, reason: str) -> Outcome:
    """The :class:`Outcome` of one APNs answer."""
    status = response.status_code
    if status == 200:
        return Outcome.delivered(response.headers.get("apns-id") or None)
    text = f"APNs {status}" + (f" {reason}" if reason else "")
    if status == 410 or (status == 400 and reason in INVALID_TOKEN_REASONS):
        return Outcome.invalid(text)
    if status == 429 or status >= 500:
        return Outcome.retry(text, parse_retry_after(response.headers.get("retry-after")))
    if status == 403 and reason == "ExpiredProviderToken":
        # refused twice in a row: the server's clock is probably off; try later
        return Outcome.retry(text)
    return Outcome.failed(text)
