"""A stand-in for a browser push service (RFC 8030) that checks what a real one checks.

Each request to an endpoint ``/push/<token>`` must carry:

* ``Authorization: vapid t=<JWT>, k=<public key>`` (RFC 8292): an ES256 JWT
  whose signature verifies against ``k``, with ``aud`` the endpoint's
  origin, ``exp`` in the future and at most 24 hours ahead, and a ``sub``;
  ``k`` must be the server's key when the stand-in was told it;
* a ``TTL`` header (a non-negative integer), an ``Urgency`` if any from the
  four of RFC 8030;
* ``Content-Encoding: aes128gcm`` and a body (at most 4096 bytes, else 413) that
  **decrypts** (RFC 8291) with the subscription's private key and auth secret.

Every subscription's key pair is derived from its token and the stand-in's
seed (:func:`subscription`), so the stand-in knows every private key without
being told — also in another process (benchmarks). Decrypted payloads are
kept in :attr:`PushStandIn.received`. Tests make an endpoint answer 404 or
410 (:attr:`PushStandIn.gone`) or script answers (:meth:`PushStandIn.script`:
413, 429 with ``Retry-After``, 503...).

Run on its own: ``python -m tests.standins.webpush PORT [SEED [HOLD_SECONDS]]``
(``HOLD_SECONDS``: each answer waits that long, as a push service across the
internet would).
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import itertools
import json
import os
import sys
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from tornado import web
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

#: The P-256 group order: derived private keys are taken modulo it.
_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
MAX_BODY_BYTES = 4096
URGENCIES = ("very-low", "low", "normal", "high")


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _point(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


@functools.lru_cache(maxsize=20_000)
def keys_for(seed: str, token: str) -> tuple[ec.EllipticCurvePrivateKey, bytes]:
    """The subscription ``token``'s private key and auth secret (deterministic per seed)."""
    digest = hashlib.sha256(f"{seed}:key:{token}".encode()).digest()
    private = ec.derive_private_key(
        int.from_bytes(digest, "big") % (_ORDER - 1) + 1, ec.SECP256R1()
    )
    auth = hashlib.sha256(f"{seed}:auth:{token}".encode()).digest()[:16]
    return private, auth


def subscription(base_url: str, token: str, seed: str = "standin") -> dict[str, Any]:
    """What a browser's ``PushSubscription.toJSON()`` gives for ``token`` at ``base_url``."""
    private, auth = keys_for(seed, token)
    return {
        "endpoint": f"{base_url}/push/{token}",
        "expirationTime": None,
        "keys": {"p256dh": b64url(_point(private)), "auth": b64url(auth)},
    }


def new_subscription_keys() -> tuple[ec.EllipticCurvePrivateKey, dict[str, str]]:
    """A fresh random key pair and auth secret, as a browser makes them."""
    private = ec.generate_private_key(ec.SECP256R1())
    return private, {"p256dh": b64url(_point(private)), "auth": b64url(os.urandom(16))}


@dataclass
class Received:
    token: str
    payload: bytes
    headers: dict[str, str]
    claims: dict[str, Any]

    def json(self) -> Any:
        return json.loads(self.payload)


@dataclass
class PushStandIn:
    """What the push service received and what it will answer."""

    seed: str = "standin"
    #: the server's VAPID public key (base64url); any valid key if None
    vapid_public_key: str | None = None
    url: str = ""
    received: list[Received] = field(default_factory=list)
    #: every request with its arrival time (monotonic), token and the status answered
    requests: list[tuple[float, str, int]] = field(default_factory=list)
    #: token -> status (404 or 410) for subscriptions the browser withdrew
    gone: dict[str, int] = field(default_factory=dict)
    scripted: dict[str, deque] = field(default_factory=lambda: defaultdict(deque))
    #: seconds each answer waits (a slow push service)
    hold: float = 0.0
    #: tokens of VAPID JWTs seen (to count signatures)
    jwts: set[str] = field(default_factory=set)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def subscribe(self, token: str) -> dict[str, Any]:
        return subscription(self.url, token, self.seed)

    def script(self, token: str, *answers: tuple[int, dict[str, str]]) -> None:
        """The next answers for ``token``: ``(status, headers)``; then success again."""
        self.scripted[token].extend(answers)

    def payloads(self, token: str | None = None) -> list[Any]:
        return [r.json() for r in self.received if token is None or r.token == token]


class Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def check_vapid(header: str, audience: str, expected_key: str | None) -> dict[str, Any]:
    """The claims of a valid ``vapid t=..., k=...`` header; :class:`Refused` otherwise.

    A header whose signature verified before is not verified again (the claims
    still are: ``aud``, ``exp``), as a push service may cache it.
    """
    claims, key = _verified(header)
    _check_claims(claims, audience)
    if expected_key is not None and key != expected_key:
        raise Refused(403, "k is not the key this subscription was made with")
    return claims


@functools.lru_cache(maxsize=4096)
def _verified(header: str) -> tuple[dict[str, Any], str]:
    """The claims of ``header`` once its ES256 signature verifies against its ``k``."""
    scheme, _, params = header.partition(" ")
    if scheme.lower() != "vapid":
        raise Refused(401, "Authorization must use the vapid scheme")
    fields = {}
    for part in params.split(","):
        name, sep, value = part.strip().partition("=")
        if sep:
            fields[name.strip()] = value.strip()
    token, key = fields.get("t", ""), fields.get("k", "")
    if not token or not key:
        raise Refused(401, "vapid needs t= and k=")
    try:
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(key))
        head_b64, claims_b64, sig_b64 = token.split(".")
        head = json.loads(unb64url(head_b64))
        claims = json.loads(unb64url(claims_b64))
        sig = unb64url(sig_b64)
    except (ValueError, TypeError):
        raise Refused(401, "malformed VAPID JWT or key") from None
    if head.get("alg") != "ES256" or len(sig) != 64:
        raise Refused(401, "the JWT must be ES256")
    der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    try:
        public.verify(der, f"{head_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise Refused(401, "the JWT signature does not verify against k") from None
    if not isinstance(claims, dict):
        raise Refused(401, "the JWT claims must be an object")
    return claims, key


def _check_claims(claims: dict[str, Any], audience: str) -> None:
    if claims.get("aud") != audience:
        raise Refused(401, f"aud must be {audience}, not {claims.get('aud')!r}")
    exp, now = claims.get("exp"), time.time()
    if not isinstance(exp, int) or exp <= now:
        raise Refused(401, "the JWT has expired (or has no exp)")
    if exp > now + 86400:
        raise Refused(401, "exp is more than 24 hours ahead")
    if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
        raise Refused(401, "sub must be a mailto: or https: contact")


class PushHandler(web.RequestHandler):
    def initialize(self, standin: PushStandIn) -> None:
        self.standin = standin

    def answer(self, status: int, body: dict | None = None, headers: dict | None = None) -> None:
        self.standin.requests.append((time.monotonic(), self.token, status))
        self.set_status(status)
        for name, value in (headers or {}).items():
            self.set_header(name, value)
        if body is not None:
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps(body))
        else:
            self.finish()

    def refuse(self, status: int, message: str, headers: dict | None = None) -> None:
        self.answer(status, {"code": status, "errno": status, "error": message}, headers)

    async def post(self, token: str) -> None:
        s, self.token = self.standin, token
        if s.hold:
            await asyncio.sleep(s.hold)
        headers = self.request.headers
        audience = f"{self.request.protocol}://{self.request.host}"
        try:
            claims = check_vapid(headers.get("Authorization", ""), audience, s.vapid_public_key)
            ttl = headers.get("TTL", "")
            if not ttl.isdigit():
                raise Refused(400, "a TTL header (seconds) is required")
            if headers.get("Urgency", "normal") not in URGENCIES:
                raise Refused(400, "Urgency must be very-low, low, normal or high")
            if headers.get("Content-Encoding") != "aes128gcm":
                raise Refused(400, "Content-Encoding must be aes128gcm")
            body = self.request.body
            if len(body) > MAX_BODY_BYTES:
                raise Refused(413, "payload too large")
            private, auth = keys_for(s.seed, token)
            try:
                plaintext = http_ece.decrypt(
                    body, private_key=private, auth_secret=auth, version="aes128gcm"
                )
            except Exception as e:  # noqa: BLE001 - any failure to decrypt is the sender's
                raise Refused(400, f"the payload does not decrypt: {e}") from None
        except Refused as e:
            self.refuse(e.status, str(e))
            return
        s.jwts.add(headers["Authorization"])
        if token in s.gone:
            self.refuse(s.gone[token], "subscription expired or unsubscribed")
            return
        if s.scripted.get(token):
            status, extra = s.scripted[token].popleft()
            self.refuse(status, "scripted", extra)
            return
        s.received.append(Received(token, plaintext, dict(headers), claims))
        self.answer(201, headers={"Location": f"{s.url}/message/{next(s._ids)}"})


def make_app(standin: PushStandIn) -> web.Application:
    return web.Application([(r"/push/([A-Za-z0-9_.-]+)", PushHandler, {"standin": standin})])


def listen(standin: PushStandIn, port: int = 0) -> tuple[HTTPServer, int]:
    """Serve ``standin`` on 127.0.0.1 (on the running loop); sets its ``url``."""
    server = HTTPServer(make_app(standin))
    sockets = bind_sockets(port, "127.0.0.1")
    server.add_sockets(sockets)
    port = sockets[0].getsockname()[1]
    standin.url = f"http://127.0.0.1:{port}"
    return server, port


def main() -> None:  # pragma: no cover - the benchmark's separate process
    port = int(sys.argv[1])
    seed = sys.argv[2] if len(sys.argv) > 2 else "standin"
    hold = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0

    async def run() -> None:
        standin = PushStandIn(seed=seed, hold=hold)
        listen(standin, port)
        print("ready", flush=True)
        while True:  # keep memory flat: the benchmark counts, it does not read payloads
            await asyncio.sleep(1)
            standin.received.clear()
            standin.requests.clear()
            standin.jwts.clear()

    asyncio.run(run())


if __name__ == "__main__":
    main()
