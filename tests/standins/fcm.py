"""A stand-in for Google's OAuth 2.0 token endpoint and FCM's HTTP v1 ``messages:send``.

``POST /token`` checks a service account's JWT grant as Google does: the
``urn:ietf:params:oauth:grant-type:jwt-bearer`` grant type; an RS256
assertion signed by the key whose public half it was given (the header's
``kid`` that key's id); ``iss`` the account's e-mail; ``aud`` Google's token
endpoint (what a service account signs for, whatever ``token_uri`` its file
names); ``scope`` including ``firebase.messaging``; ``iat``/``exp`` at most an
hour apart and not expired. It answers ``{"access_token", "expires_in",
"token_type"}`` or an OAuth error (``invalid_grant``, ``invalid_scope``).

``POST /v1/projects/{project}/messages:send`` checks the bearer token (401
``UNAUTHENTICATED``), the project (403 ``PERMISSION_DENIED``) and the message:
exactly one target, ``notification`` with string ``title``/``body``, ``data``
a map of strings to strings without FCM's reserved keys (400
``INVALID_ARGUMENT``, naming the field). It answers ``{"name":
"projects/{project}/messages/{id}"}`` or Google's error shape with an
``FcmError`` detail. Tests make registration tokens :attr:`FcmStandIn.unregistered`
or :attr:`FcmStandIn.malformed`, script answers per token
(:meth:`FcmStandIn.script`), and revoke the access tokens issued so far
(:meth:`FcmStandIn.revoke_access_tokens`).
"""

from __future__ import annotations

import itertools
import json
import secrets
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from tornado import web
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"
_MESSAGE_FIELDS = {
    *("name", "token", "topic", "condition", "notification", "data"),
    *("android", "apns", "webpush", "fcm_options"),
}
_RESERVED_DATA_KEYS = {"from", "notification", "message_type"}
_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
_FCM_CODES = {
    400: "INVALID_ARGUMENT",
    403: "SENDER_ID_MISMATCH",
    404: "UNREGISTERED",
    429: "QUOTA_EXCEEDED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


@dataclass
class FcmStandIn:
    """The service account it trusts, what it received and what it will answer."""

    project_id: str
    client_email: str
    private_key_id: str
    public_key: rsa.RSAPublicKey
    token_lifetime: int = 3600
    received: list[dict[str, Any]] = field(default_factory=list)
    #: every send request, refused ones too: (monotonic time, registration token or "")
    requests: list[tuple[float, str]] = field(default_factory=list)
    #: access tokens issued: token -> expiry (time.time())
    issued: dict[str, float] = field(default_factory=dict)
    grants: list[dict[str, Any]] = field(default_factory=list)
    unregistered: set[str] = field(default_factory=set)
    #: registration tokens FCM calls malformed (400 INVALID_ARGUMENT on message.token)
    malformed: set[str] = field(default_factory=set)
    scripted: dict[str, deque] = field(default_factory=lambda: defaultdict(deque))
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def script(self, token: str, *answers: tuple[int, dict[str, str]]) -> None:
        """The next answers for registration ``token``: ``(status, headers)``; then success."""
        self.scripted[token].extend(answers)

    def revoke_access_tokens(self) -> None:
        """Every access token issued so far is refused from now on (401)."""
        self.issued.clear()

    @staticmethod
    def error(
        status: int, message: str, fcm_code: str | None = None, field_name: str | None = None
    ) -> dict:
        """Google's error body; with an FCM error code detail, and a field violation."""
        details: list[dict] = []
        if fcm_code:
            details.append({"@type": FCM_ERROR, "errorCode": fcm_code})
        if field_name:
            details.append(
                {
                    "@type": BAD_REQUEST,
                    "fieldViolations": [{"field": field_name, "description": message}],
                }
            )
        error = {"code": status, "message": message, "status": _STATUS_NAMES.get(status, "UNKNOWN")}
        if details:
            error["details"] = details
        return {"error": error}


class _Handler(web.RequestHandler):
    def initialize(self, standin: FcmStandIn) -> None:
        self.standin = standin

    def answer(self, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        for name, value in (headers or {}).items():
            self.set_header(name, value)
        self.finish(json.dumps(body))


class TokenHandler(_Handler):
    """Google's OAuth 2.0 token endpoint, for the JWT-bearer grant only."""

    def oauth_error(self, error: str, description: str, status: int = 400) -> None:
        self.answer(status, {"error": error, "error_description": description})

    def post(self) -> None:
        s = self.standin
        if not self.request.headers.get("Content-Type", "").startswith(
            "application/x-www-form-urlencoded"
        ):
            self.oauth_error("invalid_request", "Invalid content type")
            return
        form = {k: v[0] for k, v in parse_qs(self.request.body.decode()).items()}
        if form.get("grant_type") != JWT_BEARER:
            self.oauth_error("unsupported_grant_type", "Invalid grant_type")
            return
        assertion = form.get("assertion", "")
        try:
            header = jwt.get_unverified_header(assertion)
            claims = jwt.decode(
                assertion,
                s.public_key,
                algorithms=["RS256"],
                audience=GOOGLE_TOKEN_URI,
                options={"require": ["iss", "aud", "iat", "exp", "scope"]},
                leeway=5,
            )
        except jwt.PyJWTError as e:
            self.oauth_error("invalid_grant", f"Invalid JWT: {e}")
            return
        if header.get("kid") not in (None, s.private_key_id):
            self.oauth_error("invalid_grant", "Invalid JWT Signature.")
            return
        if claims["iss"] != s.client_email:
            self.oauth_error("invalid_grant", "Invalid issuer: unknown service account")
            return
        if claims["exp"] - claims["iat"] > 3600:
            self.oauth_error("invalid_grant", "Invalid JWT: expiration too far in the future")
            return
        if FCM_SCOPE not in str(claims["scope"]).split():
            self.oauth_error("invalid_scope", f"Scope {FCM_SCOPE} was not requested")
            return
        s.grants.append(claims)
        token = "ya29.standin-" + secrets.token_urlsafe(24)
        s.issued[token] = time.time() + s.token_lifetime
        self.answer(
            200, {"access_token": token, "expires_in": s.token_lifetime, "token_type": "Bearer"}
        )


class SendHandler(_Handler):
    """``messages:send`` of FCM's HTTP v1 API."""

    def post(self, project: str) -> None:
        s = self.standin
        s.requests.append((time.monotonic(), _registration_token(self.request.body)))
        auth = self.request.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else ""
        if s.issued.get(token, 0) <= time.time():
            message = "Request had invalid authentication credentials."
            self.answer(401, s.error(401, message))
            return
        if project != s.project_id:
            self.answer(403, s.error(403, "Permission denied on the project."))
            return
        try:
            body = json.loads(self.request.body)
        except ValueError:
            self.answer(400, s.error(400, "Invalid JSON payload received."))
            return
        message = body.get("message") if isinstance(body, dict) else None
        if not isinstance(message, dict):
            self.answer(
                400, s.error(400, "Request contains an invalid argument.", "INVALID_ARGUMENT")
            )
            return
        targets = [k for k in ("token", "topic", "condition") if k in message]
        registration = message.get("token") if isinstance(message.get("token"), str) else ""
        problem = _message_problem(message, targets)
        if problem is not None:
            field_name, text = problem
            self.answer(400, s.error(400, text, "INVALID_ARGUMENT", field_name))
            return
        if registration in s.malformed:
            text = "The registration token is not a valid FCM registration token"
            self.answer(400, s.error(400, text, "INVALID_ARGUMENT", "message.token"))
            return
        if registration in s.unregistered:
            self.answer(404, s.error(404, "Requested entity was not found.", "UNREGISTERED"))
            return
        if s.scripted.get(registration):
            status, headers = s.scripted[registration].popleft()
            text = f"scripted {status}"
            self.answer(status, s.error(status, text, _FCM_CODES.get(status)), headers)
            return
        name = f"projects/{project}/messages/0:{int(time.time() * 1000)}%{next(s._ids):016x}"
        s.received.append(message)
        self.answer(200, {"name": name})


def _registration_token(body: bytes) -> str:
    """The ``message.token`` of a request body, '' if it has none (for the request log)."""
    try:
        token = json.loads(body)["message"]["token"]
    except (ValueError, KeyError, TypeError):
        return ""
    return token if isinstance(token, str) else ""


def _message_problem(message: dict, targets: list[str]) -> tuple[str, str] | None:
    """``(field, description)`` of what FCM would refuse in ``message``; ``None`` if it is fine."""
    if len(targets) != 1:
        return "message", "Exactly one of token, topic or condition must be specified."
    token = message.get(targets[0])
    if targets[0] == "token" and (not isinstance(token, str) or len(token) < 32):
        return "message.token", "The registration token is not a valid FCM registration token"
    notification = message.get("notification", {})
    if not isinstance(notification, dict) or any(
        not isinstance(notification.get(k, ""), str) for k in ("title", "body")
    ):
        return "message.notification", "Invalid notification: title and body must be strings"
    data = message.get("data", {})
    if not isinstance(data, dict):
        return "message.data", "Invalid data: must be a map of strings"
    for key, value in data.items():
        if not isinstance(value, str):
            return f"message.data[{key}]", f"Invalid value at 'message.data[{key}]': not a string"
        if key in _RESERVED_DATA_KEYS or key.startswith(("google", "gcm")):
            return f"message.data[{key}]", f"Invalid data payload key: {key} is reserved"
    unknown = set(message) - _MESSAGE_FIELDS
    if unknown:
        name = sorted(unknown)[0]
        return "message", f"Invalid JSON payload received. Unknown name \"{name}\" at 'message'"
    return None


def make_app(standin: FcmStandIn) -> web.Application:
    return web.Application(
        [
            (r"/token", TokenHandler, {"standin": standin}),
            (r"/v1/projects/([^/]+)/messages:send", SendHandler, {"standin": standin}),
        ]
    )


def listen(standin: FcmStandIn) -> tuple[HTTPServer, int]:
    """Serve ``standin`` on 127.0.0.1 (on the running loop); ``(server, port)``."""
    server = HTTPServer(make_app(standin))
    sockets = bind_sockets(0, "127.0.0.1")
    server.add_sockets(sockets)
    return server, sockets[0].getsockname()[1]


def make_service_account(project_id: str) -> tuple[dict[str, str], FcmStandIn]:
    """A new service account's JSON (as Google's console gives it) and a stand-in that trusts it.

    Its ``token_uri`` is Google's; point it at the stand-in once it listens.
    """
    from cryptography.hazmat.primitives import serialization

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_id = secrets.token_hex(20)
    email = f"firebase-adminsdk@{project_id}.iam.gserviceaccount.com"
    info = {
        "type": "service_account",
        "project_id": project_id,
        "private_key_id": key_id,
        "private_key": key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode(),
        "client_email": email,
        "client_id": str(secrets.randbelow(10**20)),
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": GOOGLE_TOKEN_URI,
    }
    return info, FcmStandIn(project_id, email, key_id, key.public_key())


def main() -> None:  # pragma: no cover - run by hand to try the provider
    """``python -m tests.standins.fcm FOLDER [PORT]``: serve, and print the settings to use.

    Writes a new service account's JSON (its ``token_uri`` the stand-in's) into FOLDER.
    """
    import asyncio
    import sys
    from pathlib import Path

    folder = Path(sys.argv[1])
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 8444
    folder.mkdir(parents=True, exist_ok=True)
    info, standin = make_service_account("standin-project")
    info["token_uri"] = f"http://127.0.0.1:{port}/token"
    account = folder / "service-account.json"
    account.write_text(json.dumps(info, indent=2))

    async def run() -> None:
        HTTPServer(make_app(standin)).add_sockets(bind_sockets(port, "127.0.0.1"))
        print(
            f'c.NotificationService.channels = {{"fcm": "fcm"}}\n'
            f"c.FcmProvider.service_account_file = {str(account)!r}\n"
            f'c.FcmProvider.api_base_url = "http://127.0.0.1:{port}"',
            flush=True,
        )
        while True:
            count = len(standin.received)
            await asyncio.sleep(1)
            for message in standin.received[count:]:
                print(f"received: {json.dumps(message)}", flush=True)

    asyncio.run(run())


if __name__ == "__main__":
    main()
