"""Password hashes: scrypt, with the parameters stored in each hash.

Used by :class:`ngshare.accounts.AccountService`, which runs them on its own
thread pool.

Passwords are hashed with scrypt (memory-hard, in the standard library):
N = 2**15, r = 8, p = 1 (32 MiB per hash), a 16-byte random salt and a 32-byte
key, stored as ``scrypt$ln=15,r=8,p=1$<salt>$<key>`` so that raising the cost
later (``c.AccountService.scrypt_n``) re-hashes each password at its next
login. Passwords are NFKC-normalised first, so the same password typed on
different keyboards matches.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import unicodedata
from dataclasses import dataclass

_SALT_BYTES = 16
_KEY_BYTES = 32


@dataclass(frozen=True)
class ScryptParams:
    """scrypt's cost parameters; ``n`` is a power of two."""

    n: int
    r: int
    p: int

    def encode(self) -> str:
        return f"ln={self.n.bit_length() - 1},r={self.r},p={self.p}"

    @classmethod
    def decode(cls, text: str) -> ScryptParams:
        fields = dict(item.split("=", 1) for item in text.split(","))
        return cls(n=1 << int(fields["ln"]), r=int(fields["r"]), p=int(fields["p"]))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def _scrypt(password: str, salt: bytes, params: ScryptParams) -> bytes:
    # OpenSSL needs 128*r*(n+2) bytes for V plus 128*r*p for B; allow a little more
    maxmem = 128 * params.r * (params.n + 2 + params.p) + (1 << 20)
    return hashlib.scrypt(
        # surrogatepass: a lone surrogate (valid in JSON) is hashed, not a 500
        password.encode("utf-8", "surrogatepass"),
        salt=salt,
        n=params.n,
        r=params.r,
        p=params.p,
        maxmem=maxmem,
        dklen=_KEY_BYTES,
    )


def hash_password(password: str, params: ScryptParams) -> str:
    """A new salted scrypt hash of ``password``, parameters included (CPU and memory heavy)."""
    salt = os.urandom(_SALT_BYTES)
    key = _scrypt(password, salt, params)
    return f"scrypt${params.encode()}${_b64(salt)}${_b64(key)}"


def parse_password_hash(stored: str) -> tuple[ScryptParams, bytes, bytes]:
    """``(params, salt, key)`` of a stored hash; ``ValueError`` if it is not one."""
    scheme, params, salt, key = stored.split("$")
    if scheme != "scrypt":
        raise ValueError(f"unknown password hash scheme {scheme!r}")
    return ScryptParams.decode(params), _unb64(salt), _unb64(key)


def check_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches the stored hash (constant-time comparison)."""
    try:
        params, salt, key = parse_password_hash(stored)
    except (ValueError, KeyError):
        return False
    return hmac.compare_digest(_scrypt(password, salt, params), key)


def _normalize_password(password: str) -> str:
    return unicodedata.normalize("NFKC", password)
