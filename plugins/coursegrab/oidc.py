"""Verifying OpenID Connect ID tokens (Google's, or any configured issuer's) with PyJWT.

The issuer's signing keys (its JWKS) are fetched over HTTP without blocking
the IOLoop and cached per JWKS URL. A token signed with a key the cache lacks
makes one fetch of the key set (keys rotate), at most once per
``jwks_refresh_seconds`` per URL, so forged key ids cannot turn into a flood
of requests. The signature, ``exp``, ``iat``, ``iss`` and ``aud`` are checked
by PyJWT; only asymmetric algorithms are accepted (an HMAC "signature" keyed
with a public key is a classic forgery).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import jwt
from tornado.httpclient import AsyncHTTPClient, HTTPRequest

#: Algorithms an ID token may be signed with.
ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]
LEEWAY_SECONDS = 30


class InvalidIdToken(Exception):
    """The token is not a valid ID token of the configured issuer (a 401)."""


class KeysUnavailable(Exception):
    """The issuer's key set cannot be fetched and none is cached (a 503)."""


@dataclass
class _CachedKeys:
    keys: dict[str, jwt.PyJWK] = field(default_factory=dict)
    fetched_at: float = 0.0
    tried_at: float = 0.0


@dataclass(frozen=True)
class Claims:
    subject: str
    email: str
    issuer: str


class IdTokenVerifier:
    """Checks ID tokens against per-device-type issuers; caches their key sets."""

    def __init__(
        self,
        *,
        refresh_seconds: float = 60.0,
        max_age_seconds: float = 3600.0,
        timeout: float = 10.0,
    ) -> None:
        self.refresh_seconds = refresh_seconds
        self.max_age_seconds = max_age_seconds
        self.timeout = timeout
        self._cache: dict[str, _CachedKeys] = {}
        #: How many times each JWKS URL was fetched (for tests and logs).
        self.fetches: dict[str, int] = {}

    async def _fetch(self, url: str, cached: _CachedKeys) -> None:
        cached.tried_at = time.monotonic()
        self.fetches[url] = self.fetches.get(url, 0) + 1
        request = HTTPRequest(url, request_timeout=self.timeout, connect_timeout=self.timeout)
        response = await AsyncHTTPClient().fetch(request, raise_error=False)
        if response.code != 200:
            raise KeysUnavailable(f"{url}: {response.code}")
        try:
            keys = jwt.PyJWKSet.from_dict(json.loads(response.body))
        except (ValueError, jwt.PyJWKSetError, jwt.InvalidKeyError) as e:
            raise KeysUnavailable(f"{url}: not a key set ({e})") from None
        cached.keys = {k.key_id: k for k in keys.keys if k.key_id}
        cached.fetched_at = time.monotonic()

    async def key(self, url: str, kid: str) -> jwt.PyJWK:
        """The key ``kid`` of the set at ``url``, fetching the set when it is missing or old."""
        cached = self._cache.setdefault(url, _CachedKeys())
        now = time.monotonic()
        stale = not cached.fetched_at or now - cached.fetched_at > self.max_age_seconds
        unknown = kid not in cached.keys
        may_fetch = not cached.tried_at or now - cached.tried_at >= self.refresh_seconds
        if (stale or unknown) and may_fetch:
            try:
                await self._fetch(url, cached)
            except KeysUnavailable:
                if not cached.keys:
                    raise
        if not cached.keys:
            raise KeysUnavailable(f"{url}: no keys yet")
        if kid not in cached.keys:
            raise InvalidIdToken(f"unknown key id {kid!r}")
        return cached.keys[kid]

    async def verify(self, token: str, provider: dict[str, Any]) -> Claims:
        """The claims of a valid ID token for ``provider`` (issuer, jwks_url, audience)."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as e:
            raise InvalidIdToken(f"not a JWT: {e}") from None
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in ALGORITHMS:
            raise InvalidIdToken(f"algorithm {alg!r} is not accepted")
        if not isinstance(kid, str) or not kid:
            raise InvalidIdToken("no key id")
        key = await self.key(provider["jwks_url"], kid)
        try:
            claims = jwt.decode(
                token,
                key=key.key,
                algorithms=[alg],
                audience=provider["audience"],
                issuer=provider["issuer"],
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as e:
            raise InvalidIdToken(str(e)) from None
        email = claims.get("email")
        if not isinstance(email, str) or "@" not in email:
            raise InvalidIdToken("no e-mail address")
        if claims.get("email_verified") in (False, "false"):
            raise InvalidIdToken("the e-mail address is not verified")
        return Claims(subject=str(claims["sub"]), email=email.strip().lower(), issuer=claims["iss"])
