"""MenloHacks Live: the public, read-only routes (login is never required).

``times``, ``maps``, ``location/image/<id>``, ``announcements``, ``events``
and the mount itself.
"""

from __future__ import annotations

from datetime import datetime

from ngshare_vivere import announcements, errors, venue
from ngshare_vivere.clock import parse_iso
from ngshare_vivere.handlers.base import VivereHandler, parse_id

from ngshare.plugin_api import ApiError, public

EPOCH = datetime(1970, 1, 1)


class IndexHandler(VivereHandler):
    """``vivere/``: GET -> ``{"name": "MenloHacks Vivere", "version": ...}`` (a welcome)."""

    @public
    async def get(self) -> None:
        from ngshare_vivere import __version__

        self.success({"name": "MenloHacks Vivere", "version": __version__})


class TimesHandler(VivereHandler):
    """``vivere/times``: GET -> the four event times (organisers' values, else configured)."""

    @public
    async def get(self) -> None:
        defaults = self.vivere.default_times()
        self.success(await self.ctx.db.run(venue.get_times, defaults))


class MapListHandler(VivereHandler):
    """``vivere/maps``: GET -> primary Locations, by rank."""

    @public
    async def get(self) -> None:
        self.success(await self.ctx.db.run(venue.list_maps, self.base_url()))


class LocationImageHandler(VivereHandler):
    """``vivere/location/image/<location_id>``: GET -> the map image itself.

    Served with its sniffed content type, an ETag (its sha256) and
    ``Cache-Control: public, max-age=<map_cache_seconds>``; ``If-None-Match``
    gets a 304. 400 for a malformed id, 404 for an unknown location or one
    without a map.
    """

    @public
    async def get(self, location_id: str) -> None:
        pk = parse_id(location_id, "Location")
        sha256, content_type = await self.ctx.db.run(venue.map_of, pk)
        self.set_header("ETag", f'"{sha256}"')
        self.set_header("Cache-Control", f"public, max-age={self.vivere.map_cache_seconds}")
        self.set_header("X-Content-Type-Options", "nosniff")
        if self.check_etag_header():
            self.set_status(304)
            self.finish()
            return
        try:
            data = await self.ctx.run_blocking(self.ctx.storage.read, sha256)
        except FileNotFoundError:
            self.ctx.log.error("vivere: map blob %s of location %d is missing", sha256, pk)
            raise ApiError(404, errors.ERR_MAP_NOT_FOUND) from None
        self.set_header("Content-Type", content_type)
        self.finish(data)


class AnnouncementListHandler(VivereHandler):
    """``vivere/announcements?since_date=ISO``: GET -> announcements with ``since < time <= now``.

    Newest first. ``since_date`` defaults to the Unix epoch; a malformed one is a 400.
    """

    @public
    async def get(self) -> None:
        raw = self.get_query_argument("since_date", "")
        if raw:
            try:
                since = parse_iso(raw)
            except ValueError:
                raise ApiError(400, errors.ERR_BAD_DATE.format(name="since_date")) from None
        else:
            since = EPOCH
        now = self.clock.now()
        self.success(await self.ctx.db.run(announcements.visible_announcements, since, now))


class EventListHandler(VivereHandler):
    """``vivere/events``: GET -> every Event by start time, each with its Location."""

    @public
    async def get(self) -> None:
        self.success(await self.ctx.db.run(venue.list_events, self.base_url()))


handlers = [
    (r"", IndexHandler),
    (r"times/?", TimesHandler),
    (r"maps/?", MapListHandler),
    (r"location/image/(?P<location_id>[^/]+)/?", LocationImageHandler),
    (r"announcements/?", AnnouncementListHandler),
    (r"events/?", EventListHandler),
]
