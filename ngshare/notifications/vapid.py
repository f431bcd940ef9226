"""The server's VAPID key pair (RFC 8292): made once, kept, and used to sign push requests.

Browsers subscribe with the public key (``applicationServerKey``), and a push
service accepts a message only when its ``Authorization: vapid t=<JWT>,
k=<public key>`` header is signed by the matching private key. So the key
must outlive restarts: it comes from a setting (PEM) or from a file in the
data directory, created (mode 0600) on first start. A file readable by others,
or one that is not a P-256 key, refuses the start: a new key would silently
cut off every browser already subscribed.

The key lives behind :func:`load_key` alone; for several replicas it is
kept in the database instead of a file (``c.NgShare.secrets_in_database``).

Signing costs an ECDSA signature; :class:`VapidKey` keeps each push service's
header (the JWT names the service's origin as ``aud``) until it nears expiry.
"""

from __future__ import annotations

import base64
import os
import time
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid
from sqlalchemy.engine import Engine

from ngshare.shared_secrets import VAPID_PRIVATE_KEY, shared_secret

#: A JWT may live at most 24 hours (RFC 8292 section 2); ours live this long.
TOKEN_SECONDS = 12 * 3600
#: A kept header is signed again when less than this is left of it.
RENEW_BEFORE_SECONDS = 3600


class VapidKeyError(ValueError):
    """The configured or stored key cannot be used; the message says what to do."""


class VapidKey:
    """A P-256 key pair: its public key for browsers, cached signed headers for push services."""

    def __init__(self, vapid: Vapid, source: str) -> None:
        self._vapid = vapid
        #: Where it came from (a file path, or "setting"), for messages.
        self.source = source
        point = vapid.public_key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        #: The uncompressed public point, base64url without padding (``applicationServerKey``).
        self.public_key = base64.urlsafe_b64encode(point).rstrip(b"=").decode()
        self._headers: dict[tuple[str, str], tuple[str, int]] = {}

    def authorization(self, audience: str, subject: str, now: float | None = None) -> str:
        """The ``Authorization`` header for push service ``audience`` (its origin).

        Signed again only when the kept one has less than an hour left.
        """
        now = time.time() if now is None else now
        kept = self._headers.get((audience, subject))
        if kept is not None and kept[1] - now > RENEW_BEFORE_SECONDS:
            return kept[0]
        expires = int(now) + TOKEN_SECONDS
        header = self._vapid.sign({"aud": audience, "sub": subject, "exp": expires})
        self._headers[(audience, subject)] = (header["Authorization"], expires)
        return header["Authorization"]


def _parse(pem: bytes, source: str) -> Vapid:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as e:
        raise VapidKeyError(f"{source} is not a PEM private key without a password: {e}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise VapidKeyError(f"{source} must be an EC P-256 (prime256v1) private key")
    return Vapid(private_key=key)


def load_key(pem: str, path: str | Path, database: Engine | None = None) -> VapidKey:
    """The server's key: ``pem`` if given, else the database's (with ``database``),
    else the file at ``path`` (created when missing).

    In the database (``c.NgShare.secrets_in_database``) the first replica to
    start stores its new key and every replica uses the stored one, so
    browsers subscribe with one public key whichever replica they reach.

    :raises VapidKeyError: a bad setting; a file readable by group or others,
        unreadable, or not a P-256 private key.
    """
    if pem.strip():
        return VapidKey(
            _parse(pem.strip().encode(), "c.WebPushProvider.vapid_private_key"), "setting"
        )
    if database is not None:
        stored = shared_secret(database, VAPID_PRIVATE_KEY, _new_pem)
        return VapidKey(_parse(stored.encode(), "the database's vapid_private_key"), "database")
    path = Path(path)
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    vapid = Vapid()
    vapid.generate_keys()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it meanwhile: use theirs
        return _read(path)
    with os.fdopen(fd, "wb") as f:
        f.write(vapid.private_pem())
    return VapidKey(vapid, str(path))


def _new_pem() -> str:
    vapid = Vapid()
    vapid.generate_keys()
    return vapid.private_pem().decode()


def _read(path: Path) -> VapidKey:
    mode = path.stat().st_mode  # FileNotFoundError: the caller creates it
    if mode & 0o077:
        raise VapidKeyError(f"{path} must not be readable by others (chmod 600 {path})")
    try:
        pem = path.read_bytes()
    except OSError as e:
        raise VapidKeyError(f"cannot read the VAPID key {path}: {e.strerror}") from None
    return VapidKey(_parse(pem, str(path)), str(path))
