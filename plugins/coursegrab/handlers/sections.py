"""``sections/track`` and ``sections/untrack``: POST ``{"course_id": <catalog number>}``.

The field is named ``course_id`` but carries the section's catalog number, as
the seed's example and the real clients send it.
"""

from __future__ import annotations

from ngshare_coursegrab import errors, tracking
from ngshare_coursegrab.handlers.base import CourseGrabHandler, parse_int
from ngshare_coursegrab.search_cache import SearchCache

from ngshare.plugin_api import ApiError, authenticated


class _SectionHandler(CourseGrabHandler):
    def catalog_num(self) -> int:
        value = self.params().get("course_id")
        if value is None or value == "":
            raise ApiError(400, errors.ERR_MISSING_CATALOG_NUM)
        return parse_int(value, errors.ERR_BAD_CATALOG_NUM)

    def answer(self, section: dict) -> None:
        """The section; its course's ``num_tracking`` changed, so searches read it anew."""
        cache = self.ctx.state(SearchCache)
        cache.forget([section["course_id"]])
        if self.settings_.search_cache_enabled:
            cache.remake_soon(self.ctx.db.run)
        self.success(section)


class TrackHandler(_SectionHandler):
    """POST -> the section (``is_tracking`` true); 404 unknown, 409 already tracked."""

    @authenticated
    async def post(self) -> None:
        number = self.catalog_num()
        self.answer(await self.ctx.db.run(tracking.track, self.identity.name, number))


class UntrackHandler(_SectionHandler):
    """POST -> the section (``is_tracking`` false); 404 unknown, 409 not tracked."""

    @authenticated
    async def post(self) -> None:
        number = self.catalog_num()
        self.answer(await self.ctx.db.run(tracking.untrack, self.identity.name, number))


handlers = [
    (r"sections/track/?", TrackHandler),
    (r"sections/untrack/?", UntrackHandler),
]
