"""``course/...``: the caller's courses, their days and questions (admins see all)."""

from __future__ import annotations

from ngshare_ekatra import courses, errors
from ngshare_ekatra.handlers.base import EkatraHandler, ids
from ngshare_ekatra.models import MAX_TEXT
from ngshare_ekatra.wire import MISSING, course_fields, days_in, question_in, questions_in, text

from ngshare.plugin_api import ApiError, authenticated


class CourseListHandler(EkatraHandler):
    """``ekatra/course/``: GET the caller's courses; POST a new one -> ``{"message", "id"}``.

    POST ``{name, author, description, days: [{text, questions: [{question, type,
    correct_answer}]}]}``; days are numbered by the server. 400 for a missing or
    malformed field.
    """

    @authenticated
    async def get(self) -> None:
        self.ok(courses=await self.ctx.db.run(courses.list_courses, self.caller()))

    @authenticated
    async def post(self) -> None:
        body = self.body()
        fields = course_fields(body, partial=False)
        days = days_in(body)
        pk = await self.ctx.db.run(
            courses.create_course, self.caller(), fields, [] if days is MISSING else days
        )
        self.ok("Course created successfully", id=str(pk))


class CourseHandler(EkatraHandler):
    """``ekatra/course/<id>``: GET the course; PUT replaces the fields it names; DELETE.

    404 if it is not the caller's; 409 while a scheduled or paused delivery uses it.
    """

    @authenticated
    async def get(self, course_id: str) -> None:
        key = ids(course=("course", course_id))["course"]
        found = await self.ctx.db.run(courses.get_course, self.caller(), key)
        self.ok(**found)

    @authenticated
    async def put(self, course_id: str) -> None:
        key = ids(course=("course", course_id))["course"]
        body = self.body()
        fields = course_fields(body, partial=True)
        days = days_in(body)
        if not fields and days is MISSING:
            raise ApiError(400, errors.ERR_NOTHING_TO_CHANGE)
        await self.ctx.db.run(courses.update_course, self.caller(), key, fields, days)
        self.ok("Update Successful")

    @authenticated
    async def delete(self, course_id: str) -> None:
        key = ids(course=("course", course_id))["course"]
        await self.ctx.db.run(courses.delete_course, self.caller(), key)
        self.ok("Deleted successfully")


class DayHandler(EkatraHandler):
    """``ekatra/course/<c_id>/<day>``: PUT ``{text?, questions?}`` replaces them; DELETE.

    Deleting a day renumbers the later ones. 404 for an unknown course or day.
    """

    @authenticated
    async def put(self, c_id: str, day: str) -> None:
        keys = ids(course=("course", c_id), day=("day", day))
        body = self.body()
        new_text = text(body, "text", MAX_TEXT, required=False)
        questions = questions_in(body)
        if new_text is MISSING and questions is MISSING:
            raise ApiError(400, errors.ERR_NOTHING_TO_CHANGE)
        await self.ctx.db.run(
            courses.update_day, self.caller(), keys["course"], keys["day"], new_text, questions
        )
        self.ok()

    @authenticated
    async def delete(self, c_id: str, day: str) -> None:
        keys = ids(course=("course", c_id), day=("day", day))
        await self.ctx.db.run(courses.delete_day, self.caller(), keys["course"], keys["day"])
        self.ok()


class QuestionHandler(EkatraHandler):
    """``ekatra/course/<c_id>/<day>/<q_id>``: PUT ``{question?, type?, correct_answer?}``; DELETE.

    ``q_id`` is the question's number within its day (1..n); deleting one
    renumbers the later ones.
    """

    @authenticated
    async def put(self, c_id: str, day: str, q_id: str) -> None:
        keys = ids(course=("course", c_id), day=("day", day), q=("question", q_id))
        fields = question_in(self.body(), partial=True)
        if not fields:
            raise ApiError(400, errors.ERR_NOTHING_TO_CHANGE)
        await self.ctx.db.run(
            courses.update_question, self.caller(), keys["course"], keys["day"], keys["q"], fields
        )
        self.ok()

    @authenticated
    async def delete(self, c_id: str, day: str, q_id: str) -> None:
        keys = ids(course=("course", c_id), day=("day", day), q=("question", q_id))
        await self.ctx.db.run(
            courses.delete_question, self.caller(), keys["course"], keys["day"], keys["q"]
        )
        self.ok()


handlers = [
    (r"course/?", CourseListHandler),
    (r"course/(?P<course_id>[^/]+)/?", CourseHandler),
    (r"course/(?P<c_id>[^/]+)/(?P<day>[^/]+)/?", DayHandler),
    (r"course/(?P<c_id>[^/]+)/(?P<day>[^/]+)/(?P<q_id>[^/]+)/?", QuestionHandler),
]
