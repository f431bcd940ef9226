"""The APNs provider token: an ES256 JWT signed with the team's .p8 key, made once and reused.

Apple wants one token per key in use for up to an hour: it refuses a token
whose ``iat`` is more than an hour old (``ExpiredProviderToken``) and a key
whose token changes more than once in 20 minutes (``TooManyProviderTokenUpdates``).
So every request of every batch shares :meth:`ProviderToken.current`, which
makes a new token only when the cached one is ``refresh_seconds`` old (50
minutes by default), or when Apple called the one in use expired.

PyJWT and cryptography are imported when a key is loaded, so that a server
without APNs does not load them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import ec

#: Apple's limits on a provider token's age, in seconds.
MAX_TOKEN_AGE = 3600.0
MIN_REFRESH_INTERVAL = 1200.0


def load_signing_key(pem: bytes | str) -> ec.EllipticCurvePrivateKey:
    """The P-256 private key of a .p8 file; ``ValueError`` saying what is wrong with it."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    data = pem.encode() if isinstance(pem, str) else pem
    try:
        key = load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as e:
        raise ValueError(f"not a PEM private key (.p8): {e}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ValueError("not an APNs key: an APNs .p8 key is an EC P-256 key")
    return key


class ProviderToken:
    """The ``authorization: bearer`` token of one key (``kid``) of one team (``iss``)."""

    def __init__(
        self,
        key: ec.EllipticCurvePrivateKey,
        *,
        key_id: str,
        team_id: str,
        refresh_seconds: float = 3000.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not MIN_REFRESH_INTERVAL <= refresh_seconds < MAX_TOKEN_AGE:
            raise ValueError(
                f"refresh_seconds must be at least {MIN_REFRESH_INTERVAL:.0f} and below "
                f"{MAX_TOKEN_AGE:.0f} (Apple's limits)"
            )
        self._key = key
        self.key_id = key_id
        self.team_id = team_id
        self.refresh_seconds = refresh_seconds
        self._clock = clock
        self._token: str | None = None
        self._issued_at = 0.0
        self._lock = threading.Lock()
        #: How many tokens were made (a new one per refresh).
        self.made = 0

    def current(self) -> str:
        """The token to send now: the cached one until it is ``refresh_seconds`` old."""
        with self._lock:
            if self._token is None or self._clock() - self._issued_at >= self.refresh_seconds:
                self._make()
            assert self._token is not None
            return self._token

    def expired(self, token: str) -> str:
        """Apple called ``token`` expired: a new one, unless another request already made one."""
        with self._lock:
            if self._token == token or self._token is None:
                self._make()
            assert self._token is not None
            return self._token

    def _make(self) -> None:
        import jwt

        now = self._clock()
        self._token = jwt.encode(
            {"iss": self.team_id, "iat": int(now)},
            self._key,
            algorithm="ES256",
            headers={"kid": self.key_id},
        )
        self._issued_at = now
        self.made += 1
