"""The exchange's web pages: courses, a course, an assignment's table, a student's row, trash.

``{prefix}ui/``                          my courses (admins: every course)
``{prefix}ui/<course>/``                 roster and assignments; a student's own work
``{prefix}ui/<course>/<assignment>``     students x (fetched, submissions, latest, feedback);
                                         ``?format=csv`` the table, ``?format=zip`` every latest
``{prefix}ui/<course>/<assignment>/<s>`` one student's submissions; ``?format=zip`` one of them
``{prefix}ui/admin/trash``               deleted courses and assignments; POST restores one

Data comes from :mod:`ngshare.exchange.ui.data` (a few queries a page);
refusals are the shared HTML error pages (403, 404, 400), never JSON.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from ngshare.exchange import errors, retention
from ngshare.exchange.config import Exchange
from ngshare.exchange.handlers.base import URL_IDS
from ngshare.exchange.ui import data
from ngshare.exchange.ui.table import BadQuery, TableQuery, roster_csv, to_csv
from ngshare.exchange.ui.zipstream import ZipMember, zip_pieces
from ngshare.exchange.wire import format_timestamp
from ngshare.plugin_api import ApiError, PageHandler, page, utcnow

FORMATS_TABLE = ("html", "csv", "zip")
FORMATS_COURSE = ("html", "csv")
FORMATS_STUDENT = ("html", "zip")


def stamp(ts: Any) -> str:
    """A timestamp as the API writes it ('' for none)."""
    return "" if ts is None else format_timestamp(ts)


def attachment(filename: str) -> str:
    """A Content-Disposition for ``filename`` (RFC 6266: ASCII fallback and UTF-8 name)."""
    fallback = "".join(c if c.isascii() and c.isalnum() or c in "-_." else "_" for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


class ExchangePage(PageHandler):
    """Base of the exchange's pages: ids decoded like the API's, helpers for links."""

    title = "Courses"

    def decode_argument(self, value: bytes, name: str | None = None) -> str:
        """Ids that are not UTF-8 are simply not found (as in the API), not a bare 400."""
        if name in URL_IDS:
            return value.decode("utf-8", "surrogateescape")
        return super().decode_argument(value, name)

    def ui_url(self, *parts: str, **query: str) -> str:
        """``{prefix}ui/<part>/<part>...`` with each id escaped; a trailing '/' for a course."""
        path = "ui/" + "/".join(quote(p, safe="") for p in parts)
        if len(parts) == 1:
            path += "/"
        return self.page_url(path, **query)

    def page_namespace(self) -> dict[str, Any]:
        namespace = super().page_namespace()
        namespace.update(stamp=stamp, ui_url=self.ui_url)
        return namespace

    def format_arg(self, allowed: tuple[str, ...]) -> str:
        fmt = self.get_query_argument("format", "html")
        if fmt not in allowed:
            raise ApiError(400, f"format must be one of {', '.join(allowed)}")
        return fmt

    async def send_zip(self, members: list[ZipMember], filename: str) -> None:
        """Stream the zip of ``members``: each step on a worker thread, flushed as it goes."""
        self.set_header("Content-Type", "application/zip")
        self.set_header("Content-Disposition", attachment(filename))
        self.set_header("Cache-Control", "no-store")
        pieces = zip_pieces(members, self.ctx.storage.open)
        try:
            while (piece := await self.ctx.run_blocking(next, pieces, None)) is not None:
                self.write(piece)
                await self.flush()
        finally:
            pieces.close()
        self.finish()


class CoursesPage(ExchangePage):
    """``{prefix}ui/``: the caller's courses with their role and sizes."""

    @page
    async def get(self) -> None:
        courses = await self.ctx.db.run(data.my_courses, self.identity)
        self.render_page("exchange/courses.html", courses=courses)


class CoursePage(ExchangePage):
    """``{prefix}ui/<course>/``: instructors see roster and assignments, students their work."""

    @page
    async def get(self, course_id: str) -> None:
        fmt = self.format_arg(FORMATS_COURSE)
        view = await self.ctx.db.run(data.course_view, course_id, self.identity)
        if isinstance(view, data.StudentView):
            if fmt != "html":
                raise ApiError(403, errors.ERR_NOT_INSTRUCTOR)
            self.title = view.name
            self.render_page("exchange/student_course.html", view=view)
            return
        if fmt == "csv":
            self.set_header("Content-Type", "text/csv; charset=UTF-8")
            self.set_header("Content-Disposition", attachment(f"{view.name}-roster.csv"))
            self.finish(roster_csv(view.members))
            return
        self.title = view.name
        self.render_page("exchange/course.html", view=view)


class AssignmentPage(ExchangePage):
    """``{prefix}ui/<course>/<assignment>``: the students' table (instructors)."""

    @page
    async def get(self, course_id: str, assignment_id: str) -> None:
        fmt = self.format_arg(FORMATS_TABLE)
        try:
            query = TableQuery.parse(self.get_query_argument)
        except BadQuery as e:
            raise ApiError(400, str(e)) from None
        if fmt == "zip":
            members = await self.ctx.db.run(
                data.submission_files, course_id, assignment_id, self.identity, None
            )
            await self.send_zip(members, f"{course_id}-{assignment_id}-latest.zip")
            return
        table = await self.ctx.db.run(
            data.assignment_table, course_id, assignment_id, self.identity
        )
        rows = query.apply(table.rows)
        if fmt == "csv":
            self.set_header("Content-Type", "text/csv; charset=UTF-8")
            self.set_header(
                "Content-Disposition", attachment(f"{table.course}-{table.assignment}.csv")
            )
            self.finish(to_csv(rows))
            return
        self.title = f"{table.course} · {table.assignment}"
        self.render_page(
            "exchange/assignment.html", table=table, rows=rows, query=query, total=len(table.rows)
        )


class StudentPage(ExchangePage):
    """``{prefix}ui/<course>/<assignment>/<student>``: one row, for instructors and that student."""

    @page
    async def get(self, course_id: str, assignment_id: str, student_id: str) -> None:
        fmt = self.format_arg(FORMATS_STUDENT)
        if fmt == "zip":
            timestamp = self.get_query_argument("timestamp", None)
            members = await self.ctx.db.run(
                data.submission_files,
                course_id,
                assignment_id,
                self.identity,
                student_id,
                timestamp,
            )
            await self.send_zip(members, f"{course_id}-{assignment_id}-{student_id}.zip")
            return
        table = await self.ctx.db.run(
            data.assignment_table, course_id, assignment_id, self.identity, student_id
        )
        (row,) = table.rows
        self.title = f"{table.assignment} · {row.username}"
        self.render_page("exchange/student.html", table=table, row=row)


class TrashPage(ExchangePage):
    """``{prefix}ui/admin/trash``: what is deleted and still restorable; POST restores (admins)."""

    admins_only = True
    title = "Trash"

    @page
    async def get(self) -> None:
        await self._render(message=self.get_query_argument("restored", ""))

    @page
    async def post(self) -> None:
        kind = self.argument("kind") or ""
        raw_id = self.argument("id") or ""
        if kind not in ("course", "assignment"):
            raise ApiError(400, "kind must be course or assignment")
        if not raw_id.isdigit() or len(raw_id) > 18:
            raise ApiError(400, "id must be a number")
        try:
            done = await self.ctx.db.run(retention.restore, kind, int(raw_id))
        except retention.RestoreError as e:
            status = 404 if str(e).startswith("no deleted") else 409
            await self._render(error=str(e), status=status)
            return
        self.redirect(self.page_url("ui/admin/trash", restored=done), status=303)

    async def _render(self, message: str = "", error: str = "", status: int = 200) -> None:
        period = self.ctx.state(Exchange).retention
        items = await self.ctx.db.run(retention.list_deleted, period)
        now = utcnow()
        items = [i for i in items if datetime.fromisoformat(i["purge_after"]) > now]
        self.render_page(
            "exchange/trash.html",
            status=status,
            items=items,
            message=message,
            error=error,
            retention_days=period.total_seconds() / 86400,
        )


pages = [
    (r"ui/?", CoursesPage),
    (r"ui/admin/trash/?", TrashPage),
    (r"ui/(?P<course_id>[^/]+)/?", CoursePage),
    (r"ui/(?P<course_id>[^/]+)/(?P<assignment_id>[^/]+)/?", AssignmentPage),
    (r"ui/(?P<course_id>[^/]+)/(?P<assignment_id>[^/]+)/(?P<student_id>[^/]+)/?", StudentPage),
]
