"""``announcements/push-subscription``: a browser subscribes to announcements by Web Push.

The page fetches the server's key from the core
(``{prefix}notifications/vapid-public-key``), subscribes the browser, and
posts ``subscription.toJSON()`` here. The subscription becomes a core Web
Push address of the caller, registered by plugin ``vivere``: every
announcement published afterwards reaches it (:mod:`ngshare_vivere.push`),
and the core disables it when the push service says it is gone.
"""

from __future__ import annotations

import json

from ngshare_vivere import errors
from ngshare_vivere.handlers.base import MISSING, VivereHandler

from ngshare.plugin_api import ApiError, NotificationError, NotificationService, authenticated


class AnnouncementPushHandler(VivereHandler):
    """``announcements/push-subscription``: POST (signed in) the browser's subscription -> 201.

    The JSON body is ``PushSubscription.toJSON()``; the answer's ``data`` is
    the core address (its ``id`` removes it through the core too). The same
    endpoint again gives the same address. DELETE ``endpoint`` unsubscribes
    (404 if it was not subscribed). 400 for a malformed subscription, 404
    when the server has no Web Push.
    """

    def _push(self) -> NotificationService:
        service = self.ctx.notifications
        if service is None or service.vapid is None:
            raise ApiError(404, errors.ERR_PUSH_OFF)
        return service

    @authenticated
    async def post(self) -> None:
        assert self.identity is not None
        service = self._push()
        subscription = self.json_params()
        if not subscription:
            raise ApiError(400, errors.ERR_NOT_SUBSCRIPTION)
        try:
            address = await self.ctx.db.run(
                service.add_address,
                user=self.identity.name,
                channel="webpush",
                address=json.dumps(subscription),
                plugin="vivere",
            )
        except NotificationError as e:
            raise ApiError(400, str(e)) from None
        self.success(address, 201)

    @authenticated
    async def delete(self) -> None:
        assert self.identity is not None
        service = self._push()
        endpoint = self.param("endpoint")
        if endpoint is MISSING or not isinstance(endpoint, str) or not endpoint:
            raise ApiError(400, errors.ERR_MISSING.format(name="endpoint"))
        removed = await self.ctx.db.run(
            service.remove_push_subscription, user=self.identity.name, endpoint=endpoint
        )
        if not removed:
            raise ApiError(404, errors.ERR_PUSH_NOT_SUBSCRIBED)
        self.success({"removed": removed})


handlers = [(r"announcements/push-subscription/?", AnnouncementPushHandler)]
