"""``courses/search`` and ``courses/<course_id>``: open to everyone; a session adds ``is_tracking``.

Without credentials ``is_tracking`` is always false; credentials that
identify nobody are a 401 (the seed's ``authorize_user_selective``).
"""

from __future__ import annotations

from ngshare_coursegrab import errors, search
from ngshare_coursegrab.course_index import CourseIndex
from ngshare_coursegrab.handlers.base import MAX_ID, CourseGrabHandler

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
        courses = await self.ctx.db.run(
            search.search_json,
            query,
            settings.search_limit,
            None if identity is None else identity.name,
            index,
        )
        self.success({"courses": courses, "query": body["query"]})


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
