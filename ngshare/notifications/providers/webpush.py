"""Web Push (RFC 8030) to browsers, with VAPID (RFC 8292) and aes128gcm payloads (RFC 8291).

Each message is one POST to the subscription's endpoint at the browser's push
service. ``pywebpush`` encrypts the payload for the subscription's keys (a
fresh ECDH key and salt per message) and ``py_vapid`` signs the VAPID JWT.
The request goes out on the provider's kept-alive ``aiohttp`` session
(:mod:`.http`): a connection, and a TLS handshake with a real push service,
per message would cost more than the message. pywebpush's ``webpush_async`` is not used: it
re-signs the JWT on every call and raises on every non-2xx instead of
handing back the status and ``Retry-After`` this provider sorts outcomes by.

The signed header is kept per push service origin (:class:`~ngshare.notifications.vapid.VapidKey`),
so 10 000 messages to one push service sign a handful of times. Encryption
runs on a small thread pool (``encrypt_threads``): on a loaded two-core
machine that kept ``/healthz`` p99 near 50 ms where encrypting on the IOLoop
gave 200 ms (benchmarks/results/notify-webpush.md).

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
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from pywebpush import WebPusher
from sqlalchemy.engine import Engine
from traitlets import Enum, Integer, Unicode, default
from traitlets.config import Configurable

from ngshare.notifications.addresses import NotificationError
from ngshare.notifications.providers.base import Outcome, Outgoing, Provider, parse_retry_after
from ngshare.notifications.providers.http import HttpProvider
from ngshare.notifications.push_subscription import parse_subscription
from ngshare.notifications.vapid import VapidKey, load_key

#: Largest plaintext one aes128gcm record of 4096 bytes carries (RFC 8291 section 4).
MAX_PAYLOAD_BYTES = 3993
_SUBJECT_PREFIXES = ("mailto:", "https://")


@dataclass(frozen=True)
class PushRequest:
    """One encrypted, signed message, ready to POST."""

    endpoint: str
    body: bytes
    headers: dict[str, str]


class WebPushProvider(HttpProvider):
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
        2,
        help="""Threads encrypting payloads (about a millisecond each); 0: on the
        IOLoop, which then answers other requests later while a burst goes out.""",
    ).tag(config=True)
    max_batch = Integer(50, help="Messages per send() call, each its own request.").tag(config=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._key: VapidKey | None = None
        self._pool: ThreadPoolExecutor | None = None
        #: Where the key is kept when ``c.NgShare.secrets_in_database`` is on (set by the service).
        self.database: Engine | None = None

    def check(self) -> None:
        """The key must load (it is made when missing) and sign with the subject."""
        key = self.key()
        if self.ttl_seconds < 0:
            raise ValueError("c.WebPushProvider.ttl_seconds must be 0 or more")
        try:  # py_vapid checks the subject as push services do
            if not self.vapid_subject.startswith(_SUBJECT_PREFIXES):
                raise ValueError(self.vapid_subject)
            key.authorization("https://push.example.net", self.vapid_subject)
        except Exception:  # noqa: BLE001 - py_vapid's VapidException, or ours above
            raise ValueError(
                "set c.WebPushProvider.vapid_subject to a mailto: address or an https: URL "
                f"(not {self.vapid_subject!r})"
            ) from None

    def key(self) -> VapidKey:
        """The server's VAPID key (loaded, or made, once)."""
        if self._key is None:
            self._key = load_key(self.vapid_private_key, self.vapid_key_file, self.database)
        return self._key

    async def start(self) -> None:
        """The HTTP session (kept-alive connections) and the encryption pool."""
        await super().start()
        if self.encrypt_threads > 0 and self._pool is None:
            self._pool = ThreadPoolExecutor(self.encrypt_threads, "ngshare-webpush")

    async def close(self) -> None:
        """Close the HTTP session and the pool."""
        await super().close()
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None

    async def send(self, batch: list[Outgoing]) -> list[Outcome]:
        """One POST per message, each sent as soon as it is encrypted.

        The loop is given back between messages (an encryption costs about a
        millisecond), so that a batch never holds up other requests for long.
        """
        if self._pool is None and self.encrypt_threads > 0:
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

    def prepare(self, m: Outgoing) -> PushRequest | Outcome:
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
        return PushRequest(
            endpoint,
            body,
            {
                "Authorization": self.key().authorization(audience, self.vapid_subject),
                "Content-Encoding": "aes128gcm",
                "Content-Type": "application/octet-stream",
                "TTL": str(self.ttl_seconds),
                "Urgency": self.urgency,
            },
        )

    async def _post(self, prepared: PushRequest | Outcome) -> Outcome:
        if isinstance(prepared, Outcome):
            return prepared
        try:
            status, headers, body = await self.post(
                prepared.endpoint, data=prepared.body, headers=prepared.headers
            )
            return outcome_of(status, headers, body[:300])
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as e:
            text = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
            return Outcome.retry(f"push service unreachable: {text}")


def payload_of(m: Outgoing) -> bytes:
    """What the service worker receives: ``{"title", "body", "data"}`` as UTF-8 JSON."""
    content = {"title": m.subject, "body": m.body, "data": m.data or {}}
    return json.dumps(content, separators=(",", ":"), ensure_ascii=False).encode()


def outcome_of(status: int, headers: Mapping[str, str], body: bytes) -> Outcome:
    """The :class:`Outcome` of one push service answer (``body``: its first bytes)."""
    if 200 <= status < 300:
        return Outcome.delivered(headers.get("Location") or None)
    text = f"push service {status}"
    detail = body[:300].decode("utf-8", "replace").strip()
    if detail:
        text += f": {detail}"
    if status == 429 or status >= 500:
        return Outcome.retry(text, parse_retry_after(headers.get("Retry-After")))
    if status in (404, 410):
        return Outcome.invalid(text)
    return Outcome.failed(text)


def vapid_key_for(
    config: Configurable, provider: Provider | None, database: Engine | None = None
) -> VapidKey:
    """The key browsers subscribe with, whichever provider serves ``webpush``.

    Under ``vngshare`` the channel goes to the log provider, yet a developer's
    browser still needs the public key to subscribe: the key settings of
    ``c.WebPushProvider`` apply all the same.
    """
    if isinstance(provider, WebPushProvider):
        return provider.key()
    keeper = WebPushProvider(parent=config)
    keeper.database = database
    return keeper.key()
