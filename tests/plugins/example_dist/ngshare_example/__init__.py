"""ngshare-example: the smallest plugin that uses every part of the Plugin API.

It lives outside the ngshare package, as a third party's would: installed
with pip, found through its ``ngshare.plugins`` entry point, enabled with
``--plugins example``. Notes can be read by anyone and written by signed-in
users; each new note is announced on the ``example.notes`` channel after its
transaction commits; a job counts the notes every second. A page in the
server's layout (``{prefix}example/notes/page``, linked from the header)
lists the notes and adds one through an XSRF-protected form.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import String, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from traitlets import Integer
from traitlets.config import Configurable

from ngshare.plugin_api import (
    ApiError,
    APIHandler,
    Channel,
    Job,
    NavEntry,
    PageHandler,
    Plugin,
    ServerContext,
    authenticated,
    make_metadata,
    page,
    public,
)

__version__ = "0.1.0"
HTML = {"text/html": {"schema": {"type": "string"}}}


class ExampleBase(DeclarativeBase):
    metadata = make_metadata()


class Note(ExampleBase):
    __tablename__ = "example_notes"

    pk: Mapped[int] = mapped_column(primary_key=True)
    author: Mapped[str] = mapped_column(String(255))
    text: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(
        default=lambda: datetime.now(timezone.utc).replace(tzinfo=None)
    )


class Example(Configurable):
    """``c.Example.max_note_length``."""

    max_note_length = Integer(280, help="Longest note accepted.").tag(config=True)


def _note_json(note: Note) -> dict:
    return {"id": note.pk, "author": note.author, "text": note.text}


class NoteListHandler(APIHandler):
    """``{prefix}example/notes``: GET for anyone; POST ``text`` for signed-in users."""

    def error_envelope(self, status, message, extra):
        return {"ok": False, "error": message}  # this plugin's own envelope

    @public
    async def get(self) -> None:
        notes = await self.ctx.db.run(
            lambda s: [_note_json(n) for n in s.scalars(select(Note).order_by(Note.pk))]
        )
        self.write_json({"ok": True, "notes": notes})

    @authenticated
    async def post(self) -> None:
        text = self.argument("text") or ""
        limit = self.ctx.state(Example).max_note_length
        if not text or len(text) > limit:
            raise ApiError(400, f"text must be 1 to {limit} characters")

        self.write_json(
            {"ok": True, "note": await add_note(self.ctx, self.identity.name, text)}, status=201
        )


async def add_note(ctx: ServerContext, author: str, text: str) -> dict:
    """Store a note and announce it on ``example.notes`` once committed."""

    def add(session):
        note = Note(author=author, text=text)
        session.add(note)
        session.flush()
        ctx.events.publish_after_commit(session, "example.notes", "note.created", _note_json(note))
        return _note_json(note)

    return await ctx.db.run(add)


class NotesPage(PageHandler):
    """``{prefix}example/notes/page``: GET the notes as a page; POST ``text`` (a form) adds one."""

    title = "Notes"

    @page
    async def get(self) -> None:
        notes = await self.ctx.db.run(
            lambda s: [_note_json(n) for n in s.scalars(select(Note).order_by(Note.pk))]
        )
        self.render_page("notes.html", notes=notes, error=None)

    @page
    async def post(self) -> None:
        text = self.argument("text") or ""
        limit = self.ctx.state(Example).max_note_length
        if not text or len(text) > limit:
            raise ApiError(400, f"text must be 1 to {limit} characters")
        await add_note(self.ctx, self.identity.name, text)
        self.redirect(self.page_url("example/notes/page"), status=303)


@dataclass
class NoteCount:
    """How many notes there were when the ``example.count_notes`` job last ran."""

    value: int


async def count_notes(ctx: ServerContext) -> None:
    count = await ctx.db.run(lambda s: s.scalar(select(func.count()).select_from(Note)))
    ctx.set_state(NoteCount(count))


plugin = Plugin(
    name="example",
    version=__version__,
    description="Notes: a worked example of every plugin contribution.",
    handlers=[(r"notes", NoteListHandler)],
    pages=[(r"notes/page", NotesPage)],
    templates=str(Path(__file__).parent / "templates"),
    static=str(Path(__file__).parent / "static"),
    nav=[NavEntry("Notes", "notes/page")],
    metadata=ExampleBase.metadata,
    migrations=str(Path(__file__).parent / "migrations" / "versions"),
    config=Example,
    jobs=[Job("example.count_notes", count_notes, "interval", {"seconds": 1})],
    channels=[Channel("example.notes", lambda identity, ctx: True, "New notes")],
    openapi={
        "/notes/page": {
            "get": {
                "summary": "The notes as a page, with a form to add one",
                "responses": {"200": {"description": "the page", "content": HTML}},
            },
            "post": {
                "summary": "Add a note from the page's form (text, _xsrf)",
                "responses": {
                    "303": {"description": "added: back to the page"},
                    "400": {"description": "text missing or too long", "content": HTML},
                    "403": {"description": "no XSRF token", "content": HTML},
                },
            },
        },
        "/notes": {
            "get": {
                "summary": "List notes",
                "security": [],
                "responses": {"200": {"description": "the notes"}},
            },
            "post": {
                "summary": "Add a note (text)",
                "responses": {"201": {"description": "the new note"}},
            },
        },
    },
)
