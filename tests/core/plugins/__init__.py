"""Plugin objects for tests/core/test_plugin.py: good ones and each kind of bad one."""

from sqlalchemy import Column, Integer, MetaData, Table
from traitlets import Integer as IntTrait
from traitlets import validate
from traitlets.config import Configurable

from ngshare.plugin import Plugin
from ngshare.web import APIHandler, authenticated, public


class HelloHandler(APIHandler):
    @public
    async def get(self):
        self.write_json({"success": True, "hello": "world"})

    @authenticated
    async def post(self):
        self.write_json({"success": True, "you": self.identity.name})


class UnmarkedHandler(APIHandler):
    async def get(self):  # neither @authenticated nor @public
        self.write_json({"success": True})


def _meta(*names):
    md = MetaData()
    for n in names:
        Table(n, md, Column("pk", Integer, primary_key=True))
    return md


class GreeterConfig(Configurable):
    volume = IntTrait(3, help="How loud.").tag(config=True)

    @validate("volume")
    def _validate_volume(self, proposal):
        if not 0 <= proposal["value"] <= 10:
            raise ValueError("volume must be between 0 and 10")
        return proposal["value"]


greeter = Plugin(
    name="greeter",
    handlers=[(r"hello", HelloHandler)],
    openapi={
        "/hello": {"get": {"summary": "Say hello", "security": []}, "post": {"summary": "Who am I"}}
    },
    config=GreeterConfig,
    description="Says hello.",
)
unmarked = Plugin(name="unmarked", handlers=[(r"x", UnmarkedHandler)])
bad_tables = Plugin(name="badtables", metadata=_meta("other_table"))
table_a = Plugin(name="taba", metadata=_meta("taba_things"))
not_a_plugin = object()
named_wrong = Plugin(name="somethingelse")
# mounts at "courses/", which is the first segment of the exchange's GET courses
courses = Plugin(name="courses", handlers=[(r"x", HelloHandler)])
