"""``courses/search`` and ``courses/<course_id>``: open to everyone; a session adds ``is_tracking``.

Without credentials ``is_tracking`` is always false; credentials that
identify nobody are a 401 (the seed's ``authorize_user_selective``).
"""

from __future__ import annotations

import json

from ngshare_coursegrab import errors, search
from ngshare_coursegrab.course_index import CourseIndex
from ngshare_coursegrab.handlers.base import MAX_ID, CourseGrabHandler
from ngshare_coursegrab.search_cache import SearchCache

from ngshare.plugin_api import ApiError, public


class CourseSearchHandler(CourseGrabHandler):
    """POST ``{"query": "cs 3110"}`` -> ``{"courses": [course, ...], "query": <as sent>}``."""

    @public
    async def post(self) -> None:
        body = self.params()
        query = self.text(body, "query", search.MAX_QUERY)
        if query is None:
            raise ApiError(400, errors.ERR_MISSING_QUERY)
        identity = await self.optional_identity()
        settings = self.settings_
        index = self.ctx.state(CourseIndex) if settings.search_index_enabled else None
        if identity is None and index is not None and settings.search_cache_enabled:
            await self._from_cache(index, query, body["query"])
            return
        courses = await self.ctx.db.run(
            search.search_json,
            query,
            settings.search_limit,
            None if identity is None else identity.name,
            index,
        )
        self.success({"courses": courses, "query": body["query"]})

    async def _from_cache(self, index: CourseIndex, query: str, as_sent: str) -> None:
        """An anonymous answer: from memory, or one database call that fills it."""
        cache = self.ctx.state(SearchCache)
        compact = search.normalize_query(query)
        limit = self.settings_.search_limit
        courses = cache.answer(index, compact, limit)
        cache.sync_soon(self.ctx.db.run)
        if courses is None and compact:
            await cache.synced(self.ctx.db.run)
            courses = cache.answer(index, compact, limit)
        if courses is None:
            courses = await self.ctx.db.run(cache.fill, index, compact, limit)
        self.success_text(f'{{"courses":{courses},"query":{json.dumps(as_sent)}}}')


class CourseHandler(CourseGrabHandler):
    """GET -> the course with its sections; 404 if there is no such course."""

    @public
    async def get(self, course_id: str) -> None:
        identity = await self.optional_identity()
        if len(course_id) > 10 or int(course_id) > MAX_ID:
            raise ApiError(404, errors.ERR_COURSE_NOT_FOUND)
        course = await self.ctx.db.run(
            search.course_by_id, int(course_id), None if identity is None else identity.name
        )
        if course is None:
            raise ApiError(404, errors.ERR_COURSE_NOT_FOUND)
        self.success(course)


handlers = [
    (r"courses/search/?", CourseSearchHandler),
    (r"courses/(?P<course_id>[0-9]+)/?", CourseHandler),
]
