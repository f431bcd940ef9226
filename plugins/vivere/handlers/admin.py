"""The organiser API (the original's Flask-Admin site): events, locations, announcements, times.

Every route needs a login (401) by an organiser — a name in
``c.Vivere.organisers`` or an ngshare admin — (403 otherwise). Bodies are
JSON objects (or forms) except the map image, which is the raw request body.

=========================================  ======  =================================
route (under ``{prefix}vivere/``)           method  does
=========================================  ======  =================================
``admin/events``                            POST    create an Event (201)
``admin/events/<id>``                       PATCH   change some of its fields
``admin/events/<id>``                       DELETE  delete it
``admin/locations``                         GET     every Location, primary or not
``admin/locations``                         POST    create a Location (201)
``admin/locations/<id>``                    PATCH   change ``name`` / ``rank``
``admin/locations/<id>``                    DELETE  delete it (409 while events use it)
``admin/locations/<id>/map``                PUT     upload its map image (raw body)
``admin/locations/<id>/map``                DELETE  remove its map
``admin/announcements``                     GET     every Announcement, future ones too
``admin/announcements``                     POST    announce now, or at ``time`` (201)
``admin/announcements/<id>``                PATCH   change ``message`` / ``time``
``admin/announcements/<id>``                DELETE  delete it
``admin/times``                             PATCH   set event times (null: back to config)
=========================================  ======  =================================
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any

from ngshare_vivere import announcements, errors, venue
from ngshare_vivere.config import TIME_NAMES
from ngshare_vivere.handlers.base import MISSING, VivereHandler, parse_id
from ngshare_vivere.images import sniff_image_type
from ngshare_vivere.models import MAX_LONG_DESCRIPTION, MAX_MESSAGE, MAX_NAME, SOURCE_ORGANISER

from ngshare.plugin_api import ApiError, authenticated

PUBLISH_JOB = "ngshare_vivere.jobs:publish_announcement"

#: Ranks are integers in ``[-MAX_RANK, MAX_RANK]`` (a 32-bit column on every backend).
MAX_RANK = 1_000_000
_RANK_TEXT = re.compile(r"^[+-]?[0-9]{1,7}$")


def parse_rank(value: Any) -> int:
    """A location's rank from JSON or a form; 400 ``rank must be an integer`` otherwise.

    Accepted: integers, integral floats (``3.0``) and decimal strings (forms),
    all within :data:`MAX_RANK`. Refused: booleans, fractions, ``1e400`` and
    the other non-finite numbers Python's JSON parser lets through
    (``Infinity``, ``NaN``), which ``int()`` would turn into a 500 or round silently.
    """
    rank: int | None = None
    if isinstance(value, bool):
        rank = None
    elif isinstance(value, int):
        rank = value
    elif isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            rank = int(value)
    elif isinstance(value, str) and _RANK_TEXT.match(value.strip()):
        rank = int(value.strip())
    if rank is None or not -MAX_RANK <= rank <= MAX_RANK:
        raise ApiError(400, errors.ERR_BAD_RANK)
    return rank


class _OrganiserHandler(VivereHandler):
    """Organisers only; helpers for optional fields."""

    def changes(self, readers: dict[str, Any]) -> dict[str, Any]:
        """``{field: value}`` for the parameters present; 400 if there is none."""
        found = {}
        for name, read in readers.items():
            if self.has_param(name):
                found[name] = read()
        if not found:
            raise ApiError(400, errors.ERR_NOTHING_TO_CHANGE)
        return found

    def long_text(self, name: str, max_length: int) -> str:
        """An optional string that may be empty."""
        value = self.param(name)
        if value is MISSING or value is None:
            return ""
        if not isinstance(value, str):
            raise ApiError(400, errors.ERR_NOT_TEXT.format(name=name))
        if len(value) > max_length:
            raise ApiError(400, errors.ERR_TOO_LONG.format(name=name, n=max_length))
        return value

    def rank(self) -> int:
        return parse_rank(self.param("rank"))

    def location_ref(self) -> int | None:
        value = self.param("location_id")
        if value is MISSING or value is None or value == "":
            return None
        return parse_id(value, "Location")

    def required_date(self, name: str) -> datetime:
        value = self.date(name)
        if value is None:
            raise ApiError(400, errors.ERR_MISSING.format(name=name))
        return value


# -- events ------------------------------------------------------------------------------


class AdminEventListHandler(_OrganiserHandler):
    """``admin/events``: POST ``{short_description, long_description?, start_time,
    end_time, location_id?}`` -> 201 Event. 400 if ``end_time < start_time`` or
    ``location_id`` names no location."""

    @authenticated
    async def post(self) -> None:
        self.require_organiser()
        fields = {
            "short_description": self.text("short_description", MAX_NAME),
            "long_description": self.long_text("long_description", MAX_LONG_DESCRIPTION),
            "start_time": self.required_date("start_time"),
            "end_time": self.required_date("end_time"),
            "location_pk": self.location_ref(),
        }
        event = await self.ctx.db.run(venue.create_event, self.ctx.events, fields, self.base_url())
        self.success(event, 201)


class AdminEventHandler(_OrganiserHandler):
    """``admin/events/<event_id>``: PATCH some fields -> Event; DELETE -> the deleted Event."""

    @authenticated
    async def patch(self, event_id: str) -> None:
        self.require_organiser()
        pk = parse_id(event_id, "Event")
        readers = {
            "short_description": lambda: self.text("short_description", MAX_NAME),
            "long_description": lambda: self.long_text("long_description", MAX_LONG_DESCRIPTION),
            "start_time": lambda: self.required_date("start_time"),
            "end_time": lambda: self.required_date("end_time"),
            "location_id": self.location_ref,
        }
        changes = self.changes(readers)
        if "location_id" in changes:
            changes["location_pk"] = changes.pop("location_id")
        event = await self.ctx.db.run(
            venue.update_event, self.ctx.events, pk, changes, self.base_url()
        )
        self.success(event)

    @authenticated
    async def delete(self, event_id: str) -> None:
        self.require_organiser()
        pk = parse_id(event_id, "Event")
        self.success(
            await self.ctx.db.run(venue.delete_event, self.ctx.events, pk, self.base_url())
        )


# -- locations -----------------------------------------------------------------------------


class AdminLocationListHandler(_OrganiserHandler):
    """``admin/locations``: GET -> every Location; POST ``{name, rank?}`` -> 201 Location.

    ``rank`` >= 0 makes a primary location (listed in GET maps, by rank); the
    default -1 does not.
    """

    @authenticated
    async def get(self) -> None:
        self.require_organiser()
        self.success(await self.ctx.db.run(venue.list_locations, self.base_url()))

    @authenticated
    async def post(self) -> None:
        self.require_organiser()
        fields: dict[str, Any] = {"name": self.text("name", MAX_NAME)}
        if self.has_param("rank"):
            fields["rank"] = self.rank()
        location = await self.ctx.db.run(
            venue.create_location, self.ctx.events, fields, self.base_url()
        )
        self.success(location, 201)


class AdminLocationHandler(_OrganiserHandler):
    """``admin/locations/<location_id>``: PATCH ``{name?, rank?}``; DELETE (409 while in use)."""

    @authenticated
    async def patch(self, location_id: str) -> None:
        self.require_organiser()
        pk = parse_id(location_id, "Location")
        changes = self.changes({"name": lambda: self.text("name", MAX_NAME), "rank": self.rank})
        self.success(
            await self.ctx.db.run(
                venue.update_location, self.ctx.events, pk, changes, self.base_url()
            )
        )

    @authenticated
    async def delete(self, location_id: str) -> None:
        self.require_organiser()
        pk = parse_id(location_id, "Location")
        self.success(
            await self.ctx.db.run(venue.delete_location, self.ctx.events, pk, self.base_url())
        )


class AdminLocationMapHandler(_OrganiserHandler):
    """``admin/locations/<location_id>/map``: PUT the image as the body -> Location; DELETE.

    The type is sniffed from the bytes (PNG, JPEG, GIF, WebP; 415 otherwise,
    whatever the Content-Type says); larger than ``c.Vivere.max_map_image_bytes``
    is a 413 before the body is read. The image is stored in the core blob store
    before the location points at it.
    """

    @property
    def max_body_bytes(self) -> int:
        return min(self.ctx.config.max_body_bytes, self.vivere.max_map_image_bytes)

    @property
    def memory_body_bytes(self) -> int:
        return self.max_body_bytes  # the image is read whole (raw_body)

    def error_envelope(self, status: int, message: str, extra: dict[str, Any]) -> dict:
        if status == 413:
            message = errors.ERR_IMAGE_TOO_LARGE.format(n=self.max_body_bytes)
        return super().error_envelope(status, message, extra)

    @authenticated
    async def put(self, location_id: str) -> None:
        self.require_organiser()
        pk = parse_id(location_id, "Location")
        data = self.raw_body()
        if not data:
            raise ApiError(400, errors.ERR_IMAGE_EMPTY)
        content_type = sniff_image_type(data)
        if content_type is None:
            raise ApiError(415, errors.ERR_IMAGE_TYPE)
        blob = await self.ctx.run_blocking(self.ctx.storage.put, data)
        changes = {
            "map_sha256": blob.sha256,
            "map_content_type": content_type,
            "map_size": blob.size,
        }
        self.success(
            await self.ctx.db.run(
                venue.update_location, self.ctx.events, pk, changes, self.base_url()
            )
        )

    @authenticated
    async def delete(self, location_id: str) -> None:
        self.require_organiser()
        pk = parse_id(location_id, "Location")
        changes = {"map_sha256": None, "map_content_type": None, "map_size": None}
        self.success(
            await self.ctx.db.run(
                venue.update_location, self.ctx.events, pk, changes, self.base_url()
            )
        )


# -- announcements -----------------------------------------------------------------------------


class _AnnouncementHandler(_OrganiserHandler):
    async def schedule(self, announcement: dict[str, Any]) -> None:
        """Have the scheduler publish a future announcement when it is due."""
        pk = int(announcement["id"])
        job_id = announcements.dated_job_id(pk)
        pending = await self.ctx.db.run(announcements.is_pending, pk)
        if pending is not None and pending > self.clock.now():
            await self.ctx.scheduler.schedule_at(
                job_id, pending, PUBLISH_JOB, {"announcement_id": pk}, misfire_grace_time=None
            )
        else:
            await self.ctx.scheduler.cancel(job_id)


class AdminAnnouncementListHandler(_AnnouncementHandler):
    """``admin/announcements``: GET -> all, newest first; POST ``{message, time?}`` -> 201.

    Without ``time`` (or with a past one) the announcement is visible and
    published at once; a future ``time`` keeps it hidden until then.
    """

    @authenticated
    async def get(self) -> None:
        self.require_organiser()
        self.success(await self.ctx.db.run(announcements.all_announcements))

    @authenticated
    async def post(self) -> None:
        self.require_organiser()
        message = self.text("message", MAX_MESSAGE)
        now = self.clock.now()
        time = self.date("time", required=False)
        assert self.identity is not None
        announcement, _ = await self.ctx.db.run(
            lambda session: announcements.create_announcement(
                session,
                self.ctx.events,
                message=message,
                time=now if time in (None, MISSING) else time,
                source=SOURCE_ORGANISER,
                created_by=self.identity.name,
                now=now,
                push=self.ctx.notifications,
            )
        )
        await self.schedule(announcement)
        self.success(announcement, 201)


class AdminAnnouncementHandler(_AnnouncementHandler):
    """``admin/announcements/<announcement_id>``: PATCH ``{message?, time?}``; DELETE."""

    @authenticated
    async def patch(self, announcement_id: str) -> None:
        self.require_organiser()
        pk = parse_id(announcement_id, "Announcement")
        now = self.clock.now()
        changes = self.changes(
            {
                "message": lambda: self.text("message", MAX_MESSAGE),
                "time": lambda: self.date("time") or now,
            }
        )
        announcement = await self.ctx.db.run(
            announcements.update_announcement,
            self.ctx.events,
            pk,
            changes,
            now,
            push=self.ctx.notifications,
        )
        await self.schedule(announcement)
        self.success(announcement)

    @authenticated
    async def delete(self, announcement_id: str) -> None:
        self.require_organiser()
        pk = parse_id(announcement_id, "Announcement")
        announcement = await self.ctx.db.run(announcements.delete_announcement, self.ctx.events, pk)
        await self.ctx.scheduler.cancel(announcements.dated_job_id(pk))
        self.success(announcement)


# -- times -----------------------------------------------------------------------------------------


class AdminTimesHandler(_OrganiserHandler):
    """``admin/times``: PATCH any of the four times (ISO 8601; null: the configured default)."""

    @authenticated
    async def patch(self) -> None:
        self.require_organiser()
        values = self.changes({name: (lambda n=name: self.date(n)) for name in TIME_NAMES})
        defaults = self.vivere.default_times()
        self.success(await self.ctx.db.run(venue.set_times, self.ctx.events, values, defaults))


handlers = [
    (r"admin/events/?", AdminEventListHandler),
    (r"admin/events/(?P<event_id>[^/]+)/?", AdminEventHandler),
    (r"admin/locations/?", AdminLocationListHandler),
    (r"admin/locations/(?P<location_id>[^/]+)/map/?", AdminLocationMapHandler),
    (r"admin/locations/(?P<location_id>[^/]+)/?", AdminLocationHandler),
    (r"admin/announcements/?", AdminAnnouncementListHandler),
    (r"admin/announcements/(?P<announcement_id>[^/]+)/?", AdminAnnouncementHandler),
    (r"admin/times/?", AdminTimesHandler),
]
