"""``group/...``: the caller's groups of learners (admins see all)."""

from __future__ import annotations

from ngshare_ekatra import errors, groups
from ngshare_ekatra.handlers.base import EkatraHandler, ids
from ngshare_ekatra.wire import MISSING, group_fields, learner_in, learners_in

from ngshare.plugin_api import ApiError, authenticated


class GroupListHandler(EkatraHandler):
    """``ekatra/group/``: GET the caller's groups; POST a new one -> ``{"message", "id"}``.

    POST ``{name, description, students: [{name, number, channel, timezone,
    is_subscribed, country_code}]}``: numbers are stored in E.164 (a number
    without ``+`` is read with ``country_code``), channel is ``sms`` or
    ``whatsapp`` (any case), timezone an IANA name (default UTC). 400 names
    the first bad field.
    """

    @authenticated
    async def get(self) -> None:
        self.ok(groups=await self.ctx.db.run(groups.list_groups, self.caller()))

    @authenticated
    async def post(self) -> None:
        body = self.body()
        fields = group_fields(body, partial=False)
        learners = learners_in(body)
        pk = await self.ctx.db.run(
            groups.create_group, self.caller(), fields, [] if learners is MISSING else learners
        )
        self.ok("Success", id=pk)


class GroupHandler(EkatraHandler):
    """``ekatra/group/<id>``: GET; PUT replaces what it names (``students``: the new list); DELETE.

    404 if it is not the caller's; 409 while a scheduled or paused delivery uses it.
    """

    @authenticated
    async def get(self, group_id: str) -> None:
        key = ids(group=("group", group_id))["group"]
        self.ok(**await self.ctx.db.run(groups.get_group, self.caller(), key))

    @authenticated
    async def put(self, group_id: str) -> None:
        key = ids(group=("group", group_id))["group"]
        body = self.body()
        fields = group_fields(body, partial=True)
        learners = learners_in(body)
        if not fields and learners is MISSING:
            raise ApiError(400, errors.ERR_NOTHING_TO_CHANGE)
        await self.ctx.db.run(groups.update_group, self.caller(), key, fields, learners)
        self.ok("Updated successfully")

    @authenticated
    async def delete(self, group_id: str) -> None:
        key = ids(group=("group", group_id))["group"]
        await self.ctx.db.run(groups.delete_group, self.caller(), key)
        self.ok("Deleted successfully")


class LearnerHandler(EkatraHandler):
    """``ekatra/group/<g_id>/<s_id>``: PUT a learner's details (all of them); DELETE the learner."""

    @authenticated
    async def put(self, g_id: str, s_id: str) -> None:
        keys = ids(group=("group", g_id), learner=("student", s_id))
        given = learner_in(self.body())
        await self.ctx.db.run(
            groups.update_learner, self.caller(), keys["group"], keys["learner"], given
        )
        self.ok("Student updated")

    @authenticated
    async def delete(self, g_id: str, s_id: str) -> None:
        keys = ids(group=("group", g_id), learner=("student", s_id))
        await self.ctx.db.run(groups.delete_learner, self.caller(), keys["group"], keys["learner"])
        self.ok()


handlers = [
    (r"group/?", GroupListHandler),
    (r"group/(?P<group_id>[^/]+)/?", GroupHandler),
    (r"group/(?P<g_id>[^/]+)/(?P<s_id>[^/]+)/?", LearnerHandler),
]
