"""``session/initialize`` and ``session/update``: signing a device in, and refreshing it."""

from __future__ import annotations

from ngshare_coursegrab import errors, sessions
from ngshare_coursegrab.config import DEVICE_TYPES
from ngshare_coursegrab.handlers.base import CourseGrabHandler
from ngshare_coursegrab.models import MAX_DEVICE_TOKEN
from ngshare_coursegrab.oidc import IdTokenVerifier, InvalidIdToken, KeysUnavailable

from ngshare.plugin_api import ApiError, NotificationError, public

MAX_ID_TOKEN = 16 * 1024


class SessionInitializeHandler(CourseGrabHandler):
    """``session/initialize``: POST ``{token, device_type, device_token}`` -> the session triple.

    ``token`` is an OpenID Connect ID token of the issuer configured for
    ``device_type`` (401 ``Invalid token`` if it is not valid, 403 for an
    e-mail outside ``allowed_email_domains``). Without ``token``, a JupyterHub
    identity (token or OAuth cookie) or, under ``vngshare``, ``?user=NAME``
    signs in. A ``device_token`` already signed in refreshes that session.
    """

    @public
    async def post(self) -> None:
        body = self.params()
        id_token = self.text(body, "token", MAX_ID_TOKEN)
        device_type = self.text(body, "device_type", 16)
        device_token = self.text(body, "device_token", MAX_DEVICE_TOKEN)
        if device_type is not None:
            device_type = device_type.upper()
            if device_type not in DEVICE_TYPES:
                raise ApiError(400, errors.ERR_BAD_DEVICE_TYPE)
        settings = self.settings_
        email = None
        if id_token is not None:
            if device_type is None:
                raise ApiError(400, errors.ERR_BAD_DEVICE_TYPE)
            provider = settings.oidc_providers.get(device_type)
            if provider is None:
                raise ApiError(
                    400, errors.ERR_ISSUER_NOT_CONFIGURED.format(device_type=device_type)
                )
            try:
                claims = await self.ctx.state(IdTokenVerifier).verify(id_token, provider)
            except InvalidIdToken as e:
                self.ctx.log.info("coursegrab: refused an ID token: %s", e)
                raise ApiError(401, errors.ERR_BAD_TOKEN) from None
            except KeysUnavailable as e:
                self.ctx.log.warning("coursegrab: %s", e)
                raise ApiError(503, errors.ERR_IDP_UNREACHABLE) from None
            email = claims.email
            domain = email.rpartition("@")[2]
            allowed = settings.allowed_email_domains
            if allowed and domain not in allowed and email not in settings.allowed_emails:
                raise ApiError(403, errors.ERR_EMAIL_DOMAIN.format(domains=", ".join(allowed)))
            user_name = settings.oidc_user_prefix + email
        else:
            identity = await self.ctx.identity.identify(self)
            # a core token (a CourseGrab session among them) must not mint new sessions
            if identity is None or identity.token_id is not None:
                raise ApiError(401, errors.ERR_NO_IDENTITY)
            user_name = identity.name
            device_type = device_type or "WEB"
        lifetimes = sessions.Lifetimes(
            settings.session_expiry_seconds, settings.update_token_expiry_seconds
        )
        try:
            triple = await self.ctx.db.run(
                sessions.start_session,
                self.ctx.notifications,
                lifetimes,
                user_name=user_name,
                device_type=device_type,
                device_token=device_token,
                email=email,
            )
        except NotificationError as e:  # a device token APNs or FCM could never take
            raise ApiError(400, str(e)) from None
        self.success(triple)


class SessionUpdateHandler(CourseGrabHandler):
    """``session/update``: POST with ``Authorization: Bearer <update_token>`` -> a new triple.

    Both tokens are replaced; the old update token stops working. 401 for a
    missing header or a token that is not a live update token.
    """

    @public
    async def post(self) -> None:
        header = self.request.headers.get("Authorization")
        if header is None:
            raise ApiError(401, errors.ERR_MISSING_AUTH)
        scheme, _, secret = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise ApiError(401, errors.ERR_BAD_AUTH)
        settings = self.settings_
        lifetimes = sessions.Lifetimes(
            settings.session_expiry_seconds, settings.update_token_expiry_seconds
        )
        triple = await self.ctx.db.run(sessions.refresh_session, lifetimes, secret.strip())
        if triple is None:
            raise ApiError(401, errors.ERR_BAD_UPDATE_TOKEN)
        self.success(triple)


handlers = [
    (r"session/initialize/?", SessionInitializeHandler),
    (r"session/update/?", SessionUpdateHandler),
]
