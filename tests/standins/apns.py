"""A stand-in for Apple's push provider API: HTTP/2 over TLS, token authentication.

It speaks only HTTP/2 (TLS with ALPN ``h2``, through the ``h2`` library; a
client offering anything else is cut off) and checks what Apple checks:

* ``POST /3/device/<token>`` (else 405 ``MethodNotAllowed`` / 404 ``BadPath``);
* ``authorization: bearer <JWT>``: ES256, signed by the .p8 key whose public
  half it was given, header ``kid`` that key's id, ``iss`` the team id, an
  ``iat`` no older than an hour (403 ``MissingProviderToken``,
  ``InvalidProviderToken``, ``ExpiredProviderToken``); a key whose token
  changes again within 20 minutes gets 429 ``TooManyProviderTokenUpdates``;
* ``apns-topic`` the app's bundle id, ``apns-push-type``, ``apns-priority``
  (400 ``MissingTopic``, ``TopicDisallowed``, ``InvalidPushType``, ``BadPriority``);
* a JSON body with an ``aps`` dictionary, at most 4096 bytes (400
  ``PayloadEmpty``, 413 ``PayloadTooLarge``); a hex device token (400 ``BadDeviceToken``).

It answers as Apple does: 200 with an ``apns-id`` header, or an error status
with ``{"reason": ...}`` (410 adds ``timestamp``). Tests make tokens
:attr:`ApnsStandIn.unregistered`, script answers per device token
(:meth:`ApnsStandIn.script`), or call the tokens seen so far expired
(:meth:`ApnsStandIn.expire_tokens`).
"""

from __future__ import annotations

import asyncio
import json
import re
import ssl
import time
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.events import ConnectionTerminated, DataReceived, RequestReceived, StreamEnded
from h2.exceptions import ProtocolError

from tests.standins import tls

_PATH = re.compile(r"^/3/device/([^/?]+)$")
_HEX = re.compile(r"^[0-9a-fA-F]{64,200}$")
_PUSH_TYPES = {"alert", "background", "location", "voip", "complication", "fileprovider", "mdm"}
MAX_PAYLOAD_BYTES = 4096


@dataclass
class Push:
    """One notification the stand-in accepted."""

    device_token: str
    headers: dict[str, str]
    payload: dict[str, Any]
    apns_id: str


@dataclass
class ApnsStandIn:
    """What the stand-in checks against, what it received and what it will answer."""

    public_key: ec.EllipticCurvePublicKey
    key_id: str
    team_id: str
    topic: str
    received: list[Push] = field(default_factory=list)
    #: every request: (monotonic time, device token, provider token); all came over HTTP/2
    requests: list[tuple[float, str, str]] = field(default_factory=list)
    #: device tokens answered 410 Unregistered
    unregistered: set[str] = field(default_factory=set)
    scripted: dict[str, deque] = field(default_factory=lambda: defaultdict(deque))
    #: provider tokens answered 403 ExpiredProviderToken
    expired: set[str] = field(default_factory=set)
    #: the ALPN protocol of each connection (only "h2" ones are served)
    alpn: list[str | None] = field(default_factory=list)
    _current_token: dict[str, tuple[str, float]] = field(default_factory=dict)

    def script(self, device_token: str, *answers: tuple[int, str, dict[str, str]]) -> None:
        """The next answers for ``device_token``: ``(status, reason, headers)``; then success."""
        self.scripted[device_token].extend(answers)

    def expire_tokens(self) -> None:
        """Call every provider token seen so far expired (as Apple does after an hour)."""
        self.expired.update(bearer for _, _, bearer in self.requests)

    def provider_tokens(self) -> list[str]:
        """The distinct provider tokens used, in order of first use."""
        return list(dict.fromkeys(bearer for _, _, bearer in self.requests if bearer))

    # -- answering one request --------------------------------------------------------------

    def answer(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], dict | None]:
        """``(status, headers, JSON body or None)`` for one request, as Apple would."""
        match = _PATH.match(path)
        device_token = match.group(1) if match else ""
        authorization = headers.get("authorization", "")
        bearer = authorization[7:] if authorization.lower().startswith("bearer ") else ""
        self.requests.append((time.monotonic(), device_token, bearer))
        if method != "POST":
            return _error(405, "MethodNotAllowed")
        if not match:
            return _error(404, "BadPath")
        refusal = self._check_token(bearer)
        if refusal is not None:
            return refusal
        topic = headers.get("apns-topic")
        if not topic:
            return _error(400, "MissingTopic")
        if topic != self.topic:
            return _error(400, "TopicDisallowed")
        if headers.get("apns-push-type") not in _PUSH_TYPES:
            return _error(400, "InvalidPushType")
        if headers.get("apns-priority", "10") not in ("5", "10"):
            return _error(400, "BadPriority")
        if "apns-id" in headers:
            try:
                uuid.UUID(headers["apns-id"])
            except ValueError:
                return _error(400, "BadMessageId")
        if len(body) > MAX_PAYLOAD_BYTES:
            return _error(413, "PayloadTooLarge")
        try:
            payload = json.loads(body) if body else None
        except ValueError:
            payload = None
        if not isinstance(payload, dict) or not isinstance(payload.get("aps"), dict):
            return _error(400, "PayloadEmpty")
        if not _HEX.match(device_token):
            return _error(400, "BadDeviceToken")
        if device_token in self.unregistered:
            status, answer_headers, reason = _error(410, "Unregistered")
            assert reason is not None
            reason["timestamp"] = int(time.time() * 1000)
            return status, answer_headers, reason
        if self.scripted.get(device_token):
            status, reason, extra = self.scripted[device_token].popleft()
            status, answer_headers, payload_ = _error(status, reason)
            return status, {**answer_headers, **extra}, payload_
        apns_id = headers.get("apns-id") or str(uuid.uuid4()).upper()
        self.received.append(Push(device_token, headers, payload, apns_id))
        return 200, {"apns-id": apns_id}, None

    def _check_token(self, bearer: str) -> tuple[int, dict[str, str], dict | None] | None:
        if not bearer:
            return _error(403, "MissingProviderToken")
        try:
            header = jwt.get_unverified_header(bearer)
            claims = jwt.decode(
                bearer,
                self.public_key,
                algorithms=["ES256"],
                options={"require": ["iss", "iat"], "verify_iat": False},
            )
        except jwt.PyJWTError:
            return _error(403, "InvalidProviderToken")
        if header.get("alg") != "ES256" or header.get("kid") != self.key_id:
            return _error(403, "InvalidProviderToken")
        if claims["iss"] != self.team_id:
            return _error(403, "InvalidProviderToken")
        if bearer in self.expired or time.time() - float(claims["iat"]) > 3600:
            return _error(403, "ExpiredProviderToken")
        current = self._current_token.get(self.key_id)
        if current is not None and current[0] != bearer:
            previous, since = current
            if previous not in self.expired and time.monotonic() - since < 1200:
                return _error(429, "TooManyProviderTokenUpdates")
        if current is None or current[0] != bearer:
            self._current_token[self.key_id] = (bearer, time.monotonic())
        return None


def _error(status: int, reason: str) -> tuple[int, dict[str, str], dict]:
    return status, {"content-type": "application/json"}, {"reason": reason}


class _Http2Server(asyncio.Protocol):
    """One client connection: HTTP/2 frames in, the stand-in's answers out."""

    def __init__(self, standin: ApnsStandIn) -> None:
        self.standin = standin
        self.conn = H2Connection(H2Configuration(client_side=False, header_encoding="utf-8"))
        self.transport: asyncio.Transport | None = None
        self.streams: dict[int, tuple[dict[str, str], bytearray]] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        ssl_object = transport.get_extra_info("ssl_object")
        protocol = ssl_object.selected_alpn_protocol() if ssl_object else None
        self.standin.alpn.append(protocol)
        if protocol != "h2":  # Apple's API is HTTP/2 only
            transport.close()
            return
        self.conn.initiate_connection()
        transport.write(self.conn.data_to_send())  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        try:
            events = self.conn.receive_data(data)
        except ProtocolError:
            self.transport.write(self.conn.data_to_send())
            self.transport.close()
            return
        for event in events:
            if isinstance(event, RequestReceived):
                self.streams[event.stream_id] = (dict(event.headers), bytearray())
            elif isinstance(event, DataReceived):
                if event.stream_id in self.streams:
                    self.streams[event.stream_id][1].extend(event.data)
                self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, StreamEnded):
                self._respond(event.stream_id)
            elif isinstance(event, ConnectionTerminated):
                self.transport.close()
        self.transport.write(self.conn.data_to_send())

    def _respond(self, stream_id: int) -> None:
        headers, body = self.streams.pop(stream_id)
        status, answer_headers, payload = self.standin.answer(
            headers.get(":method", ""), headers.get(":path", ""), headers, bytes(body)
        )
        data = json.dumps(payload).encode() if payload is not None else b""
        response = [(":status", str(status)), *answer_headers.items()]
        if data:
            response.append(("content-length", str(len(data))))
        self.conn.send_headers(stream_id, response, end_stream=not data)
        if data:
            self.conn.send_data(stream_id, data, end_stream=True)


def self_signed_for_loopback(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost and its key, written to ``folder``."""
    return tls.self_signed(folder, "apns")


async def listen(standin: ApnsStandIn, tls_files: tuple[Path, Path]) -> tuple[asyncio.Server, int]:
    """Serve ``standin`` over TLS (ALPN h2) on 127.0.0.1 (the running loop); ``(server, port)``."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(tls_files[0]), str(tls_files[1]))
    context.set_alpn_protocols(["h2"])
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Http2Server(standin), "127.0.0.1", 0, ssl=context)
    return server, server.sockets[0].getsockname()[1]


def make_p8_key() -> tuple[ec.EllipticCurvePrivateKey, str]:
    """A new APNs-style signing key and its .p8 (PKCS#8 PEM) text."""
    from cryptography.hazmat.primitives import serialization

    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return key, pem


def main() -> None:  # pragma: no cover - run by hand to try the provider
    """``python -m tests.standins.apns FOLDER [PORT]``: serve, and print the settings to use.

    Writes a new .p8 key and the stand-in's certificate into FOLDER.
    """
    import sys

    folder = Path(sys.argv[1])
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 8443
    folder.mkdir(parents=True, exist_ok=True)
    key, pem = make_p8_key()
    key_file = folder / "AuthKey_STANDIN123.p8"
    key_file.write_text(pem)
    cert, cert_key = self_signed_for_loopback(folder)
    standin = ApnsStandIn(key.public_key(), "STANDIN123", "TEAMSTANDIN", "org.example.app")

    async def run() -> None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(cert), str(cert_key))
        context.set_alpn_protocols(["h2"])
        loop = asyncio.get_running_loop()
        await loop.create_server(lambda: _Http2Server(standin), "127.0.0.1", port, ssl=context)
        print(
            f'c.NotificationService.channels = {{"apns": "apns"}}\n'
            f"c.ApnsProvider.key_file = {str(key_file)!r}\n"
            f'c.ApnsProvider.key_id = "STANDIN123"\n'
            f'c.ApnsProvider.team_id = "TEAMSTANDIN"\n'
            f'c.ApnsProvider.topic = "org.example.app"\n'
            f'c.ApnsProvider.api_base_url = "https://127.0.0.1:{port}"\n'
            f"c.ApnsProvider.ca_file = {str(cert)!r}",
            flush=True,
        )
        while True:
            count = len(standin.received)
            await asyncio.sleep(1)
            for push in standin.received[count:]:
                print(f"received for {push.device_token}: {json.dumps(push.payload)}", flush=True)

    asyncio.run(run())


if __name__ == "__main__":
    main()
