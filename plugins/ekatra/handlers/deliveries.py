"""``delivery/...``: scheduling a course for a group, pause / resume / stop, progress, answers.

Both shapes of the pause / resume / stop API are served: the README's
``PUT delivery/<id>`` with ``{"action": "PAUSE" | "RESUME" | "STOP"}`` and the
original code's ``PUT delivery/<id>/pause_delivery`` (``schedule_delivery``
resumes, ``stop_delivery`` stops). Deliveries are listed at the README's
``retrieve-deliveries`` and the code's ``delivery/retrieve-delivery``.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from ngshare_ekatra import deliveries, errors, replies
from ngshare_ekatra.handlers.base import EkatraHandler, ids
from ngshare_ekatra.schedule import exists_locally, zone
from ngshare_ekatra.wire import MISSING, field, parse_id

from ngshare.plugin_api import ApiError, authenticated

_SCHEDULE_AT = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})?$")
ACTION_URLS = {"pause_delivery": "PAUSE", "schedule_delivery": "RESUME", "stop_delivery": "STOP"}


def schedule_at_in(body: dict) -> tuple[datetime, str]:
    """``(schedule_at as naive local time, timezone name)``; 400 if either is malformed."""
    tz_name = field(body, "timezone")
    if tz_name in (MISSING, None):
        tz_name = "UTC"
    try:
        tz = zone(tz_name)
    except ValueError:
        raise ApiError(400, errors.ERR_BAD_TIMEZONE) from None
    value = field(body, "schedule_at")
    if not isinstance(value, str) or not _SCHEDULE_AT.match(value.strip()):
        raise ApiError(400, errors.ERR_BAD_SCHEDULE)
    value = value.strip().replace("T", " ")
    try:
        at = datetime.strptime(
            value, "%Y-%m-%d %H:%M:%S" if value.count(":") == 2 else "%Y-%m-%d %H:%M"
        )
    except ValueError:
        raise ApiError(400, errors.ERR_BAD_SCHEDULE) from None
    if not exists_locally(at, tz):
        raise ApiError(400, errors.ERR_NONEXISTENT_TIME.format(tz=tz_name))
    return at, tz_name


class DeliveryCreateHandler(EkatraHandler):
    """``ekatra/delivery/group/<g_id>/<c_id>``: POST ``{schedule_at, timezone?}`` -> ``{id}``.

    404 for a group or course that is not the caller's; 400 for a bad time,
    timezone, an empty course or an empty group.
    """

    @authenticated
    async def post(self, g_id: str, c_id: str) -> None:
        keys = ids(group=("group", g_id), course=("course", c_id))
        at, tz_name = schedule_at_in(self.body())
        pk = await self.ctx.db.run(
            deliveries.create_delivery,
            self.caller(),
            keys["group"],
            keys["course"],
            at,
            tz_name,
            self.settings_.day_seconds,
        )
        self.ok("Success", id=pk)


class DeliveryListHandler(EkatraHandler):
    """``ekatra/retrieve-deliveries`` (and ``delivery/retrieve-delivery``): GET ``{"deliveries"}``.

    Every delivery of the caller (admins: all), STOPPED and COMPLETED ones too,
    each with its progress.
    """

    @authenticated
    async def get(self) -> None:
        found = await self.ctx.db.run(deliveries.list_deliveries, self.caller())
        self.ok(deliveries=found)


class DeliveryHandler(EkatraHandler):
    """``ekatra/delivery/<id>``: GET the delivery; PUT ``{"action": PAUSE|RESUME|STOP}``.

    400 for an unknown action; 404 if it is not the caller's; 409 for a move
    its status does not allow (STOPPED and COMPLETED are final).
    """

    @authenticated
    async def get(self, delivery_id: str) -> None:
        key = ids(delivery=("delivery", delivery_id))["delivery"]
        self.ok(**await self.ctx.db.run(deliveries.get_delivery, self.caller(), key))

    @authenticated
    async def put(self, delivery_id: str) -> None:
        key = ids(delivery=("delivery", delivery_id))["delivery"]
        action = field(self.body(), "action")
        if not isinstance(action, str) or action.strip().upper() not in deliveries.ACTIONS:
            raise ApiError(400, errors.ERR_BAD_ACTION)
        await act(self, key, action.strip().upper())


async def act(handler: EkatraHandler, key: int, action: str) -> None:
    """Apply ``action`` to delivery ``key`` and answer ``{"message", "status"}``."""
    status = await handler.ctx.db.run(
        deliveries.act, handler.caller(), key, action, handler.clock.now()
    )
    handler.ok(status=status)


class DeliveryActionHandler(EkatraHandler):
    """``ekatra/delivery/<id>/pause_delivery|schedule_delivery|stop_delivery``: PUT (no body)."""

    def initialize(self, ctx: Any, action: str = "", **kwargs: Any) -> None:
        super().initialize(ctx, **kwargs)
        self.action = action

    @authenticated
    async def put(self, delivery_id: str) -> None:
        key = ids(delivery=("delivery", delivery_id))["delivery"]
        await act(self, key, self.action)


class AnswersHandler(EkatraHandler):
    """``ekatra/delivery/<id>/answers``: GET ``{"answers"}`` (of one learner: ``?student=<id>``)."""

    @authenticated
    async def get(self, delivery_id: str) -> None:
        key = ids(delivery=("delivery", delivery_id))["delivery"]
        student = self.get_query_argument("student", None)
        learner = None if student is None else parse_id(student, "student")
        found = await self.ctx.db.run(replies.answers, self.caller(), key, learner)
        self.ok(answers=found)


class SummaryHandler(EkatraHandler):
    """``ekatra/delivery/<id>/summary``: GET ``{"days": [{day, sent, late, skipped, answers,
    correct, incorrect}]}``."""

    @authenticated
    async def get(self, delivery_id: str) -> None:
        key = ids(delivery=("delivery", delivery_id))["delivery"]
        self.ok(days=await self.ctx.db.run(replies.summary, self.caller(), key))


handlers = [
    (r"retrieve-deliveries/?", DeliveryListHandler),
    (r"delivery/retrieve-delivery/?", DeliveryListHandler),
    (r"delivery/group/(?P<g_id>[^/]+)/(?P<c_id>[^/]+)/?", DeliveryCreateHandler),
    (r"delivery/(?P<delivery_id>[^/]+)/answers/?", AnswersHandler),
    (r"delivery/(?P<delivery_id>[^/]+)/summary/?", SummaryHandler),
    *(
        (rf"delivery/(?P<delivery_id>[^/]+)/{url}/?", DeliveryActionHandler, {"action": action})
        for url, action in ACTION_URLS.items()
    ),
    (r"delivery/(?P<delivery_id>[^/]+)/?", DeliveryHandler),
]
