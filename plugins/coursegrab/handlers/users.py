"""``users/tracking``, ``users/device-token``, ``users/notification``: the signed-in person."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlparse

from ngshare_coursegrab import errors, sessions, tracking
from ngshare_coursegrab.handlers.base import CourseGrabHandler
from ngshare_coursegrab.models import MAX_DEVICE_TOKEN, NOTIFIABLE, NOTIFICATION_CHOICES

from ngshare.plugin_api import ApiError, NotificationError, authenticated


class TrackingHandler(CourseGrabHandler):
    """``users/tracking``: GET -> ``{"sections": [section, ...]}`` the caller tracks."""

    @authenticated
    async def get(self) -> None:
        sections = await self.ctx.db.run(tracking.tracked_sections, self.identity.name)
        self.success({"sections": sections})


class DeviceTokenHandler(CourseGrabHandler):
    """``users/device-token``: POST ``{device_token}`` -> null; the session's push token.

    Needs a CourseGrab session token (the token belongs to a device); 400 for a
    missing token, 401 without a session.
    """

    @authenticated
    async def post(self) -> None:
        device_token = self.text(self.params(), "device_token", MAX_DEVICE_TOKEN)
        if device_token is None:
            raise ApiError(400, errors.ERR_MISSING_DEVICE_TOKEN)
        try:
            done = await self.ctx.db.run(
                sessions.set_device_token,
                self.ctx.notifications,
                user_name=self.identity.name,
                token_id=self.identity.token_id,
                device_token=device_token,
            )
        except NotificationError as e:
            raise ApiError(400, str(e)) from None
        if not done:
            raise ApiError(401, errors.ERR_NO_SESSION)
        self.success(None)


def subscription_address(value: Any) -> str:
    """A browser PushSubscription (object or JSON text) as compact JSON; 400 if it is not one."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ApiError(400, errors.ERR_BAD_SUBSCRIPTION.format(reason="not JSON")) from None
    if not isinstance(value, dict):
        raise ApiError(400, errors.ERR_BAD_SUBSCRIPTION.format(reason="not an object"))
    endpoint, keys = value.get("endpoint"), value.get("keys")
    # the notifications service checks the rest (https, or http on loopback; the keys' bytes)
    if not isinstance(endpoint, str) or not urlparse(endpoint).netloc:
        raise ApiError(400, errors.ERR_BAD_SUBSCRIPTION.format(reason="endpoint must be a URL"))
    if not isinstance(keys, dict) or not all(
        isinstance(keys.get(k), str) and keys.get(k) for k in ("p256dh", "auth")
    ):
        raise ApiError(400, errors.ERR_BAD_SUBSCRIPTION.format(reason="keys.p256dh, keys.auth"))
    compact = {"endpoint": endpoint, "keys": {"p256dh": keys["p256dh"], "auth": keys["auth"]}}
    return json.dumps(compact, separators=(",", ":"))


class NotificationHandler(CourseGrabHandler):
    """``users/notification``: POST ``{notification, subscription?, email?, statuses?}`` -> null.

    ``notification``: ANDROID | IOS | WEB | EMAIL | NONE. WEB needs
    ``subscription`` (the browser's PushSubscription); EMAIL uses ``email``, or
    the address the ID token carried. ``statuses`` (default ``["OPEN"]``) are
    the changes worth telling.
    """

    @authenticated
    async def post(self) -> None:
        body = self.params()
        choice = self.text(body, "notification", 16)
        if choice is None or choice.upper() not in NOTIFICATION_CHOICES:
            raise ApiError(400, errors.ERR_BAD_NOTIFICATION)
        choice = choice.upper()
        address = None
        if choice == "WEB":
            if body.get("subscription") is None:
                raise ApiError(400, errors.ERR_MISSING_SUBSCRIPTION)
            address = subscription_address(body["subscription"])
        elif choice == "EMAIL":
            address = self.text(body, "email", 254)
        statuses = body.get("statuses")
        if statuses is not None:
            if (
                not isinstance(statuses, list)
                or not statuses
                or not all(isinstance(s, str) and s.upper() in NOTIFIABLE for s in statuses)
            ):
                raise ApiError(400, errors.ERR_BAD_STATUSES)
            statuses = sorted({s.upper() for s in statuses})
        try:
            await self.ctx.db.run(
                tracking.choose_notification,
                self.ctx.notifications,
                user_name=self.identity.name,
                choice=choice,
                address=address,
                statuses=statuses,
            )
        except NotificationError as e:
            raise ApiError(400, str(e)) from None
        self.success(None)


handlers = [
    (r"users/tracking/?", TrackingHandler),
    (r"users/device-token/?", DeviceTokenHandler),
    (r"users/notification/?", NotificationHandler),
]
