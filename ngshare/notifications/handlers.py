"""The notifications routes: the outbox for admins, addresses and preferences for everyone.

Core JSON envelope (``{"success": true, ...}``; errors ``{"success": false,
"message": ...}``). Bodies are form fields or a JSON object.
"""

from __future__ import annotations

from typing import Any

from ngshare.db import MAX_KEY
from ngshare.notifications.addresses import CHANNELS, NotificationError
from ngshare.notifications.models import FAILED
from ngshare.notifications.service import NotificationService
from ngshare.notifications.store import message_status
from ngshare.web import ApiError, APIHandler, authenticated

ERR_NOT_ADMIN = "Permission denied (not admin)"
ERR_MESSAGE_NOT_FOUND = "Message not found"
ERR_NOT_FAILED = "Only failed messages can be retried"
ERR_ADDRESS_NOT_FOUND = "Address not found"
ERR_NOT_RUNNING = "Notifications not running"


class _NotificationsHandler(APIHandler):
    def service(self) -> NotificationService:
        if self.ctx.notifications is None:
            raise ApiError(503, ERR_NOT_RUNNING)
        return self.ctx.notifications

    def admin_service(self) -> NotificationService:
        assert self.identity is not None
        if not self.identity.is_admin:
            raise ApiError(403, ERR_NOT_ADMIN)
        return self.service()

    def field(self, name: str) -> Any:
        """A field of a JSON object body, else a form field or query argument."""
        content_type = self.request.headers.get("Content-Type", "")
        if content_type.startswith("application/json"):
            body = self.json_body()
            if not isinstance(body, dict):
                raise ApiError(400, "The body must be a JSON object")
            return body.get(name)
        return self.argument(name)

    def text_field(self, name: str, *, required: bool = True) -> str | None:
        value = self.field(name)
        if value is None or value == "":
            if required:
                raise ApiError(400, f"Missing field {name!r}")
            return None
        if not isinstance(value, str):
            raise ApiError(400, f"Field {name!r} must be a string")
        return value


def _int_argument(handler: APIHandler, name: str, default: int | None) -> int | None:
    value = handler.argument(name)
    if value is None or value == "":
        return default
    if not value.isdigit() or len(value) > 18:
        raise ApiError(400, f"{name} must be a positive integer")
    return int(value)


class MessageListHandler(_NotificationsHandler):
    """``{prefix}notifications``: GET (admins) the outbox, newest first.

    Query: ``status``, ``channel``, ``plugin``, ``for_user`` (whom the messages are
    for; not ``user``, which names the caller under vngshare), ``before`` (an id:
    older messages), ``limit`` (1-1000, default 100). ``{"success": true,
    "messages": [...]}``; each message has ``id``, ``plugin``, ``channel``,
    ``to``, ``user``, ``subject``, ``body``, ``status``, ``attempts``,
    ``next_attempt_at``, ``provider``, ``provider_id``, ``last_error``,
    ``idempotency_key``, ``created_at``, ``sent_at``.
    """

    admins_only = True

    @authenticated
    async def get(self) -> None:
        service = self.admin_service()
        try:
            messages = await service.messages(
                status=self.argument("status") or None,
                channel=self.argument("channel") or None,
                plugin=self.argument("plugin") or None,
                user=self.argument("for_user") or None,
                before=_int_argument(self, "before", None),
                limit=_int_argument(self, "limit", 100) or 0,
            )
        except NotificationError as e:
            raise ApiError(400, str(e)) from None
        self.write_json({"success": True, "messages": messages})


class MessageRetryHandler(_NotificationsHandler):
    """``{prefix}notifications/<id>/retry``: POST (admins) sends a failed message again.

    Its attempt count starts again. 404 for an unknown id, 409 when the message
    has not failed.
    """

    admins_only = True

    @authenticated
    async def post(self, message_id: str) -> None:
        service = self.admin_service()
        pk = int(message_id)
        status = await self.ctx.db.run(message_status, pk) if pk <= MAX_KEY else None
        if status is None:
            raise ApiError(404, ERR_MESSAGE_NOT_FOUND)
        if status != FAILED or not await service.retry([pk]):
            raise ApiError(409, ERR_NOT_FAILED, message_status=status)
        messages = await service.messages(before=pk + 1, limit=1)
        self.write_json({"success": True, "message": messages[0]})


class AddressListHandler(_NotificationsHandler):
    """``{prefix}notifications/addresses``: the caller's own addresses.

    GET lists them; POST ``channel``, ``address`` (and ``label``) adds one, or
    enables it again (201, ``{"success": true, "address": {...}}``).
    """

    @authenticated
    async def get(self) -> None:
        assert self.identity is not None
        service = self.service()
        rows = await self.ctx.db.run(service.addresses, self.identity.name)
        self.write_json({"success": True, "addresses": rows})

    @authenticated
    async def post(self) -> None:
        assert self.identity is not None
        service = self.service()
        channel = self.text_field("channel")
        address = self.text_field("address")
        label = self.text_field("label", required=False)
        try:
            row = await self.ctx.db.run(
                service.add_address,
                user=self.identity.name,
                channel=channel,
                address=address,
                label=label,
            )
        except NotificationError as e:
            raise ApiError(400, str(e)) from None
        self.write_json({"success": True, "address": row}, status=201)


class AddressHandler(_NotificationsHandler):
    """``{prefix}notifications/addresses/<id>``: DELETE removes one of the caller's addresses."""

    @authenticated
    async def delete(self, address_id: str) -> None:
        assert self.identity is not None
        service = self.service()
        pk = int(address_id)
        removed = pk <= MAX_KEY and await self.ctx.db.run(
            service.remove_address, user=self.identity.name, address_id=pk
        )
        if not removed:
            raise ApiError(404, ERR_ADDRESS_NOT_FOUND)
        self.write_json({"success": True, "removed": 1})


class PreferenceHandler(_NotificationsHandler):
    """``{prefix}notifications/preferences``: the caller's choice per channel.

    GET: ``{"success": true, "preferences": {"email": true, ...}}``; POST
    ``channel`` and ``enabled`` (``true``/``false``) turns one on or off and
    answers the same.
    """

    @authenticated
    async def get(self) -> None:
        assert self.identity is not None
        service = self.service()
        prefs = await self.ctx.db.run(service.preferences, self.identity.name)
        self.write_json({"success": True, "preferences": prefs})

    @authenticated
    async def post(self) -> None:
        assert self.identity is not None
        service = self.service()
        channel = self.text_field("channel")
        if channel not in CHANNELS:
            raise ApiError(400, f"Unknown channel {channel!r}: one of {', '.join(CHANNELS)}")
        raw = self.field("enabled")
        if isinstance(raw, bool):
            enabled = raw
        elif isinstance(raw, str) and raw.lower() in ("true", "false", "1", "0"):
            enabled = raw.lower() in ("true", "1")
        else:
            raise ApiError(400, "Field 'enabled' must be true or false")

        user = self.identity.name

        def change(session) -> dict[str, bool]:
            service.set_preference(session, user=user, channel=channel, enabled=enabled)
            return service.preferences(session, user)

        prefs = await self.ctx.db.run(change)
        self.write_json({"success": True, "preferences": prefs})
