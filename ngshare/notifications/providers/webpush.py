"""Web Push (RFC 8030) to browsers, with VAPID (RFC 8292) and aes128gcm payloads (RFC 8291).

Each message is one POST to the subscription's endpoint at the browser's push
service. ``pywebpush`` encrypts the payload for the subscription's keys (a
fresh ECDH key and salt per message) and ``py_vapid`` signs the VAPID JWT;
the request goes out on Tornado's ``AsyncHTTPClient``, like the Twilio
provider's, rather than pywebpush's ``webpush_async``: that one opens an
aiohttp session per call unless handed one, re-signs the JWT on every call,
and raises on every non-2xx instead of handing back the status and
``Retry-After`` this provider sorts outcomes by.

The signed header is kept per push service origin (:class:`~ngshare.notifications.vapid.VapidKey`),
so a batch of 50 to one push service signs once, not 50 times. Encryption
runs on the IOLoop by default; ``encrypt_threads`` moves it to a small pool.

The payload is JSON ``{"title": subject, "body": body, "data": data}``, what
the page's service worker shows. Outcomes: 2xx -> delivered (provider id: the
``Location`` of the message resource); 404 and 410 -> invalid (the
subscription expired or was withdrawn: the address is disabled); 429, 5xx,
timeouts -> retry, honouring ``Retry-After``; other 4xx (400, 401, 403 a
rejected VAPID key, 413 too large) -> failed.
"""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pywebpush import WebPusher
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest, HTTPResponse
from traitlets import Enum, Integer, Unicode, default
from traitlets.config import Configurable

from ngshare.notifications.addresses import NotificationError
from ngshare.notifications.providers.base import Outcome, Outgoing, Provider, parse_retry_after
from ngshare.notifications.push_subscription import parse_subscription
from ngshare.notifications.vapid import VapidKey, load_key

#: Largest plaintext one aes128gcm record of 4096 bytes carries (RFC 8291 section 4).
MAX_PAYLOAD_BYTES = 3993
_SUBJECT_PREFIXES = ("mailto:", "https://")


class WebPushProvider(Provider):
    """``webpush``: browsers' push subscriptions, signed with the server's VAPID key."""

    name = "webpush"
    channels = ("webpush",)

    vapid_subject = Unicode(
        "",
        help="""Who runs this server, for push services to reach (the JWT's ``sub``):
        a mailto: address or an https: URL. Required.""",
    ).tag(config=True)
    vapid_private_key = Unicode(
        "",
        help="""The VAPID private key, PEM (EC P-256). Default: the key in
        vapid_key_file, made on first start. Keep it secret and keep it: a new
        key cuts off every browser already subscribed.""",
    ).tag(config=True)
    vapid_key_file = Unicode(
        help="""Where the VAPID private key is kept when vapid_private_key is not set;
        created (mode 0600) on first start. Default: vapid_private_key.pem in data_dir."""
    ).tag(config=True)

    @default("vapid_key_file")
    def _default_vapid_key_file(self) -> str:
        return str(Path(getattr(self.parent, "data_dir", ".")) / "vapid_private_key.pem")

    ttl_seconds = Integer(
        86400,
        help="""How long a push service keeps a message for a browser that is offline
        (the TTL header; 0: deliver now or never).""",
    ).tag(config=True)
    urgency = Enum(
        ["very-low", "low", "normal", "high"],
        "normal",
        help="The Urgency header: how eagerly a phone on battery is woken for it.",
    ).tag(config=True)
    encrypt_threads = Integer(
        0,
        help="""Threads encrypting payloads (0: on the IOLoop, a fraction of a
        millisecond each).""",
    ).tag(config=True)
    max_batch = Integer(50, help="Messages per send() call, each its own request.").tag(config=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._client: AsyncHTTPClient | None = None
        self._key: VapidKey | None = None
        self._pool: ThreadPoolExecutor | None = None

    def check(self) -> None:
        """A subject must be set, and the key must load (it is made when missing)."""
        subject = self.vapid_subject
        if not subject.startswith(_SUBJECT_PREFIXES) or len(subject) < 10:
            raise ValueError(
                "set c.WebPushProvider.vapid_subject to a mailto: address or an https: URL"
            )
        self.key()

    def key(self) -> VapidKey:
        """The server's VAPID key (loaded, or made, once)."""
        if self._key is None:
            self._key = load_key(self.vapid_private_key, self.vapid_key_file)
        return self._key

    def normalize_address(self, channel: str, address: str) -> str:
        """The subscription as compact JSON; ``ValueError`` if it is not a usable one."""
        return json.dumps(parse_subscription(address), separators=(",", ":"))

    async def start(self) -> None:
        """An HTTP client of this provider's own; the encryption pool if configured."""
        self._client = AsyncHTTPClient(
            force_instance=True, max_clients=max(1, self.concurrency * self.max_batch)
        )
        if self.encrypt_threads > 0 and self._pool is None:
            self._pool = ThreadPoolExecutor(self.encrypt_threads, "ngshare-webpush")

    async def close(self) -> None:
        """Close the HTTP client and the pool."""
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None

    async def send(self, batch: list[Outgoing]) -> list[Outcome]:
        """One POST per message, each sent as soon as it is encrypted.

        The loop is given back between messages (an encryption costs about a
        millisecond), so that a batch never holds up other requests for long.
        """
        if self._client is None:
            await self.start()
        loop = asyncio.get_running_loop()
        posts = []
        for m in batch:
            if self._pool is not None:
                prepared = await loop.run_in_executor(self._pool, self.prepare, m)
            else:
                prepared = self.prepare(m)
                await asyncio.sleep(0)
            posts.append(asyncio.ensure_future(self._post(prepared)))
        return list(await asyncio.gather(*posts))

    def prepare(self, m: Outgoing) -> HTTPRequest | Outcome:
        """The signed, encrypted request for ``m``, or the Outcome that makes sending pointless."""
        try:
            subscription = parse_subscription(m.to)
        except NotificationError as e:
            return Outcome.failed(f"not a Web Push subscription: {e}")
        payload = payload_of(m)
        if len(payload) > MAX_PAYLOAD_BYTES:
            return Outcome.failed(
                f"payload is {len(payload)} bytes; Web Push carries at most {MAX_PAYLOAD_BYTES}"
            )
        body = WebPusher(subscription).encode(payload, "aes128gcm")["body"]
        endpoint = subscription["endpoint"]
        parts = urlsplit(endpoint)
        audience = f"{parts.scheme}://{parts.netloc}"
        return HTTPRequest(
            endpoint,
            method="POST",
            body=body,
            headers={
                "Authorization": self.key().authorization(audience, self.vapid_subject),
                "Content-Encoding": "aes128gcm",
                "Content-Type": "application/octet-stream",
                "TTL": str(self.ttl_seconds),
                "Urgency": self.urgency,
            },
            request_timeout=self.timeout_seconds,
            connect_timeout=min(10.0, self.timeout_seconds),
        )

    async def _post(self, prepared: HTTPRequest | Outcome) -> Outcome:
        if isinstance(prepared, Outcome):
            return prepared
        assert self._client is not None
        try:
            response = await self._client.fetch(prepared, raise_error=False)
        except (OSError, HTTPClientError) as e:
            return Outcome.retry(f"push service unreachable: {e}")
        return outcome_of(response)


def payload_of(m: Outgoing) -> bytes:
    """What the service worker receives: ``{"title", "body", "data"}`` as UTF-8 JSON."""
    content = {"title": m.subject, "body": m.body, "data": m.data or {}}
    return json.dumps(content, separators=(",", ":"), ensure_ascii=False).encode()


def outcome_of(response: HTTPResponse) -> Outcome:
    """The :class:`Outcome` of one push service answer."""
    status = response.code
    if status == 599:  # Tornado's code for a timeout or a connection that failed
        return Outcome.retry(f"push service unreachable: {response.error}")
    if 200 <= status < 300:
        return Outcome.delivered(response.headers.get("Location") or None)
    text = f"push service {status}"
    detail = (response.body or b"")[:300].decode("utf-8", "replace").strip()
    if detail:
        text += f": {detail}"
    if status == 429 or status >= 500:
        return Outcome.retry(text, parse_retry_after(response.headers.get("Retry-After")))
    if status in (404, 410):
        return Outcome.invalid(text)
    return Outcome.failed(text)


def vapid_key_for(config: Configurable, provider: Provider | None) -> VapidKey:
    """The key browsers subscribe with, whichever provider serves ``webpush``.

    Under ``vngshare`` the channel goes to the log provider, yet a developer's
    browser still needs the public key to subscribe: the key settings of
    ``c.WebPushProvider`` apply all the same.
    """
    if isinstance(provider, WebPushProvider):
        return provider.key()
    return WebPushProvider(parent=config).key()
