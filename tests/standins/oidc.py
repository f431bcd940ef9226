"""A stand-in OpenID Connect issuer: a JWKS endpoint and ID tokens signed with its keys.

It serves ``GET /.well-known/openid-configuration`` and ``GET /jwks`` (the
keys' public halves, as Google's ``oauth2/v3/certs`` does) on loopback, and
signs ID tokens with RS256 (:meth:`OidcIssuer.id_token`). Tests rotate keys
(:meth:`OidcIssuer.rotate`), count JWKS fetches, or sign with a key the JWKS
does not list.
"""

from __future__ import annotations

import json
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from tornado import web
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class OidcIssuer:
    """Keys by kid; the newest signs. ``issuer`` is set once the server listens."""

    def __init__(self) -> None:
        self.keys: dict[str, rsa.RSAPrivateKey] = {"key-1": new_key()}
        self.current = "key-1"
        self.issuer = ""
        self.jwks_fetches = 0
        self.unavailable = False

    def rotate(self) -> str:
        kid = f"key-{len(self.keys) + 1}"
        self.keys[kid] = new_key()
        self.current = kid
        return kid

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid, key in self.keys.items():
            jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
            keys.append({**jwk, "kid": kid, "alg": "RS256", "use": "sig"})
        return {"keys": keys}

    def id_token(
        self,
        email: str,
        audience: str,
        *,
        kid: str | None = None,
        key: rsa.RSAPrivateKey | None = None,
        lifetime: float = 3600,
        **claims: Any,
    ) -> str:
        kid = kid or self.current
        now = int(time.time())
        payload = {
            "iss": self.issuer,
            "aud": audience,
            "sub": "sub-" + email,
            "email": email,
            "email_verified": True,
            "iat": now,
            "exp": int(now + lifetime),
            **claims,
        }
        signing_key = key if key is not None else self.keys[kid]
        return jwt.encode(payload, signing_key, algorithm="RS256", headers={"kid": kid})


class _JwksHandler(web.RequestHandler):
    def initialize(self, issuer: OidcIssuer) -> None:
        self.issuer = issuer

    def get(self) -> None:
        if self.issuer.unavailable:
            self.set_status(503)
            self.finish("unavailable")
            return
        self.issuer.jwks_fetches += 1
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(self.issuer.jwks()))


class _DiscoveryHandler(web.RequestHandler):
    def initialize(self, issuer: OidcIssuer) -> None:
        self.issuer = issuer

    def get(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish({"issuer": self.issuer.issuer, "jwks_uri": self.issuer.issuer + "/jwks"})


def listen(issuer: OidcIssuer) -> tuple[HTTPServer, int]:
    """Serve ``issuer`` on 127.0.0.1; sets ``issuer.issuer`` to its base URL."""
    app = web.Application(
        [
            (r"/jwks", _JwksHandler, {"issuer": issuer}),
            (r"/\.well-known/openid-configuration", _DiscoveryHandler, {"issuer": issuer}),
        ]
    )
    server = HTTPServer(app)
    sockets = bind_sockets(0, "127.0.0.1")
    server.add_sockets(sockets)
    port = sockets[0].getsockname()[1]
    issuer.issuer = f"http://127.0.0.1:{port}"
    return server, port
