"""The Web Push routes: the server's VAPID public key, and browsers' subscriptions.

A page subscribes a browser in three steps: ``GET {prefix}notifications/vapid-public-key``,
``registration.pushManager.subscribe({userVisibleOnly: true,
applicationServerKey: <that key>})``, then ``POST`` the subscription's
``toJSON()`` to ``{prefix}notifications/webpush-subscriptions``. Core JSON
envelope, as in :mod:`ngshare.notifications.handlers`.
"""

from __future__ import annotations

import json

from ngshare.notifications.addresses import NotificationError
from ngshare.notifications.handlers import _NotificationsHandler
from ngshare.notifications.push_subscription import check_endpoint
from ngshare.notifications.service import NotificationService
from ngshare.web import ApiError, authenticated, public

ERR_WEBPUSH_OFF = "Web Push is not configured on this server"
ERR_SUBSCRIPTION_NOT_FOUND = "Subscription not found"
ERR_BODY_NOT_SUBSCRIPTION = "The body must be a push subscription: a JSON object"


class VapidPublicKeyHandler(_NotificationsHandler):
    """``{prefix}notifications/vapid-public-key``: GET (anyone) ``{"public_key": ...}``.

    The uncompressed P-256 point, base64url: the ``applicationServerKey`` a
    browser subscribes with. 404 when the webpush channel is off.
    """

    @public
    async def get(self) -> None:
        service = self.service()
        if service.vapid is None:
            raise ApiError(404, ERR_WEBPUSH_OFF)
        self.write_json({"success": True, "public_key": service.vapid.public_key})


class WebPushSubscriptionListHandler(_NotificationsHandler):
    """``{prefix}notifications/webpush-subscriptions``: the caller's browsers.

    POST the browser's ``PushSubscription.toJSON()`` as the JSON body: 201
    ``{"success": true, "address": {...}}`` (the address id is
    ``address.id``). Registering the same endpoint again answers the same
    address (with new keys, if the browser renewed them). DELETE with
    ``endpoint`` (query, or a JSON body ``{"endpoint": ...}``) removes it;
    an address id also goes through ``DELETE {prefix}notifications/addresses/<id>``.
    400 for anything a push service would refuse; 404 when Web Push is off.
    """

    def _webpush_on(self) -> NotificationService:
        service = self.service()
        if service.vapid is None:
            raise ApiError(404, ERR_WEBPUSH_OFF)
        return service

    @authenticated
    async def post(self) -> None:
        assert self.identity is not None
        service = self._webpush_on()
        subscription = self.json_body()
        if not isinstance(subscription, dict):
            raise ApiError(400, ERR_BODY_NOT_SUBSCRIPTION)
        try:
            row = await self.ctx.db.run(
                service.add_address,
                user=self.identity.name,
                channel="webpush",
                address=json.dumps(subscription),
            )
        except NotificationError as e:
            raise ApiError(400, str(e)) from None
        self.write_json({"success": True, "address": row}, status=201)

    @authenticated
    async def delete(self) -> None:
        assert self.identity is not None
        service = self._webpush_on()
        endpoint = self.argument("endpoint")
        if not endpoint and self.raw_body().strip():
            body = self.json_body()
            endpoint = body.get("endpoint") if isinstance(body, dict) else None
        try:
            endpoint = check_endpoint(endpoint)
        except NotificationError as e:
            raise ApiError(400, str(e)) from None
        removed = await self.ctx.db.run(
            service.remove_push_subscription, user=self.identity.name, endpoint=endpoint
        )
        if not removed:
            raise ApiError(404, ERR_SUBSCRIPTION_NOT_FOUND)
        self.write_json({"success": True, "removed": removed})
