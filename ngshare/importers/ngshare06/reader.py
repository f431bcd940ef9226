"""Read an ngshare 0.6 database, read-only, at any of its alembic revisions.

ngshare 0.6 has two revisions: ``aa00db20c10a`` (the first schema) and
``1921a169739b`` (adds ``files.size``). Its tables are found by reflection,
so either revision, or a database made by ``create_all`` without alembic,
reads alike; a file size the database lacks is taken from the file itself.

Every row is read at the start, in one read-only transaction: the import
then works on a consistent snapshot even while ngshare 0.6 keeps running,
and the old database is locked only for that moment. (10,000 submissions
with their files take a few MB.)

Quirks of ngshare 0.6's schema handled here:

- the three file association tables keep the assignment's or submission's
  integer key in a TEXT column (``left_id``), so rows are joined in Python,
  not in SQL (PostgreSQL has no ``integer = text`` operator);
- rows have no explicit order; ngshare 0.6 listed rosters, assignments and
  submissions in the order the database returned them, which on SQLite is
  insertion (rowid) order, and file lists in file-key order. The same orders
  are kept here.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import Connection, MetaData, Table, create_engine, literal_column, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

#: ngshare 0.6's alembic revisions, oldest first.
KNOWN_REVISIONS = ("aa00db20c10a", "1921a169739b")

#: The columns read from each table (``files.size`` is optional: revision 2).
REQUIRED_COLUMNS = {
    "users": ("id",),
    "courses": ("_id", "id"),
    "assignments": ("_id", "id", "course_id"),
    "submissions": ("_id", "assignment_id", "timestamp", "student_id"),
    "files": ("_id", "filename", "checksum", "actual_name"),
    "instructor_assoc_table": ("left_id", "right_id", "first_name", "last_name", "email"),
    "student_assoc_table": ("left_id", "right_id", "first_name", "last_name", "email"),
    "assignment_files_assoc_table": ("left_id", "right_id"),
    "submission_files_assoc_table": ("left_id", "right_id"),
    "feedback_files_assoc_table": ("left_id", "right_id"),
}


class SourceError(Exception):
    """The source cannot be read at all (wrong URL, not an ngshare 0.6 database)."""


@dataclass(slots=True)
class OldFile:
    """A row of ``files``: one file of a release, a submission or a feedback set."""

    key: int
    path: str
    md5: str | None
    size: int | None  # None at revision aa00db20c10a
    storage_name: str | None  # ``actual_name``: the file's name in the storage folder


@dataclass(slots=True)
class OldMember:
    username: str
    first_name: str | None
    last_name: str | None
    email: str | None


@dataclass(slots=True)
class OldSubmission:
    key: int
    student: str | None
    timestamp: datetime | None  # naive UTC
    files: list[OldFile] = field(default_factory=list)
    feedback: list[OldFile] = field(default_factory=list)


@dataclass(slots=True)
class OldAssignment:
    key: int
    name: str | None
    files: list[OldFile] = field(default_factory=list)
    submissions: list[OldSubmission] = field(default_factory=list)


@dataclass(slots=True)
class OldCourse:
    key: int
    name: str | None
    instructors: list[OldMember] = field(default_factory=list)
    students: list[OldMember] = field(default_factory=list)
    assignments: list[OldAssignment] = field(default_factory=list)


@dataclass
class Source:
    """Everything the import needs from the old database."""

    revision: str | None  # None: no alembic_version table
    courses: list[OldCourse]
    users: list[str]


def read_only_url(url: str) -> URL:
    """The URL opened read-only: a SQLite file with ``mode=ro`` (never created if missing)."""
    try:
        parsed = make_url(url)
    except ArgumentError as e:
        raise SourceError(f"not a database URL: {url!r}") from e
    if parsed.get_backend_name() != "sqlite":
        return parsed
    path = parsed.database
    if not path or path == ":memory:":
        raise SourceError("the source must be a SQLite file, not an in-memory database")
    if path.startswith("file:"):
        return parsed.update_query_dict({"mode": "ro", "uri": "true"})
    return parsed.set(database=f"file:{path}").update_query_dict({"mode": "ro", "uri": "true"})


def read_source(url: str) -> Source:
    """Read the whole ngshare 0.6 database at ``url`` in one read-only transaction."""
    try:
        engine = create_engine(read_only_url(url))
    except ImportError as e:
        raise SourceError(
            f"cannot open {_redacted(url)}: its database driver is not installed ({e.name});"
            " for PostgreSQL use postgresql+psycopg://..."
        ) from e
    except ArgumentError as e:
        raise SourceError(f"cannot open {_redacted(url)}: {e}") from e
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            tables = _reflect(conn)
            source = _read(conn, tables)
            conn.rollback()  # nothing was written; end the snapshot
            return source
    except SQLAlchemyError as e:
        raise SourceError(f"cannot read {_redacted(url)}: {e.__class__.__name__}: {e}") from e
    finally:
        engine.dispose()


def _redacted(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "the source URL"


def _reflect(conn: Connection) -> dict[str, Table]:
    metadata = MetaData()
    names = set(conn.dialect.get_table_names(conn))
    missing = [t for t in REQUIRED_COLUMNS if t not in names]
    if missing:
        raise SourceError(
            "not an ngshare 0.6 database: missing table(s) " + ", ".join(sorted(missing))
        )
    wanted = [*REQUIRED_COLUMNS, *(["alembic_version"] if "alembic_version" in names else [])]
    metadata.reflect(conn, only=wanted)
    tables = dict(metadata.tables)
    for name, columns in REQUIRED_COLUMNS.items():
        lacking = [c for c in columns if c not in tables[name].c]
        if lacking:
            raise SourceError(
                f"not an ngshare 0.6 database: table {name} lacks column(s) {', '.join(lacking)}"
            )
    return tables


def _rows(conn: Connection, table: Table, *columns: str):
    """``columns`` of every row, in the order ngshare 0.6 saw them (rowid on SQLite)."""
    query = select(*(table.c[c] for c in columns))
    if conn.dialect.name == "sqlite":
        query = query.order_by(literal_column("rowid"))
    return conn.execute(query).all()


def _read(conn: Connection, t: dict[str, Table]) -> Source:
    revision = None
    if "alembic_version" in t:
        revision = conn.execute(select(t["alembic_version"].c.version_num)).scalar()
    has_size = "size" in t["files"].c
    file_columns = ["_id", "filename", "checksum", "actual_name"] + (["size"] if has_size else [])
    files: dict[int, OldFile] = {}
    for row in _rows(conn, t["files"], *file_columns):
        size = row[4] if has_size else None
        files[int(row[0])] = OldFile(int(row[0]), row[1], row[2], size, row[3])

    def files_of(table: str) -> dict[str, list[OldFile]]:
        linked: dict[str, list[OldFile]] = defaultdict(list)
        for left, right in _rows(conn, t[table], "left_id", "right_id"):
            f = files.get(int(right))
            if f is not None:
                linked[str(left)].append(f)
        for entries in linked.values():
            entries.sort(key=lambda f: f.key)  # ngshare 0.6 listed them in key order
        return linked

    release_files = files_of("assignment_files_assoc_table")
    submission_files = files_of("submission_files_assoc_table")
    feedback_files = files_of("feedback_files_assoc_table")

    courses = {
        int(key): OldCourse(int(key), name) for key, name in _rows(conn, t["courses"], "_id", "id")
    }
    by_name = {c.name: c for c in courses.values()}
    for table, role in (
        ("instructor_assoc_table", "instructors"),
        ("student_assoc_table", "students"),
    ):
        for user, course, first, last, email in _rows(
            conn, t[table], "left_id", "right_id", "first_name", "last_name", "email"
        ):
            if course in by_name:
                getattr(by_name[course], role).append(OldMember(user, first, last, email))

    assignments: dict[int, OldAssignment] = {}
    for key, name, course in _rows(conn, t["assignments"], "_id", "id", "course_id"):
        if course is None or int(course) not in courses:
            continue  # ngshare 0.6 could not reach it either
        a = OldAssignment(int(key), name, release_files.get(str(key), []))
        assignments[a.key] = a
        courses[int(course)].assignments.append(a)

    for key, assignment, ts, student in _rows(
        conn, t["submissions"], "_id", "assignment_id", "timestamp", "student_id"
    ):
        if assignment is None or int(assignment) not in assignments:
            continue
        s = OldSubmission(
            int(key),
            student,
            _naive_utc(ts),
            submission_files.get(str(key), []),
            feedback_files.get(str(key), []),
        )
        assignments[int(assignment)].submissions.append(s)

    users = [u for (u,) in _rows(conn, t["users"], "id")]
    return Source(revision, list(courses.values()), users)


def _naive_utc(ts: datetime | None) -> datetime | None:
    """ngshare 0.6 stored UTC; an aware value (a timestamptz column) is converted to naive UTC."""
    if ts is None or ts.tzinfo is None:
        return ts
    return ts.astimezone(timezone.utc).replace(tzinfo=None)
