"""``ngshare import ngshare06`` against databases made by the real ngshare 0.6.0.

A module fixture runs ngshare 0.6.0 (its own cached venv, SQLite, a free
loopback port) and drives three courses through its API (see
:mod:`tests.importers.scenario`). The import runs as users run it, as the
``ngshare`` command, into the test run's database (SQLite or PostgreSQL,
``NGSHARE_TEST_DB``); then our server answers every question ngshare 0.6.0
answered, and the answers are compared, files byte for byte.

Two differences are deliberate, and checked as such:

- a removed student's submissions stay reachable for instructors here; ngshare
  0.6.0 answered 404 once the student was removed. We answer what it answered
  before the removal;
- a submission whose file was missing from the old storage is not imported
  (listed, exit status 1) until the file is back; ngshare 0.6.0 answered 500.

Marked ``slow``: they start ngshare 0.6.0 (built once into the test cache).
The sources are SQLite: ngshare 0.6.0 cannot create its schema on PostgreSQL
(its first migration fails: "foreign key constraint
assignment_files_assoc_table_left_id_fkey cannot be implemented", a TEXT
column referring to an INTEGER key), so no ngshare 0.6 installation runs there.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import own_pg_schema
from tests.importers import scenario as sc
from tests.importers.command_line import added, run_import
from tests.importers.old_server import run_ngshare06_alembic, running_ngshare06
from tests.servers import running_server

pytestmark = pytest.mark.slow


def digest_tree(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def old(tmp_path_factory):
    """ngshare 0.6.0 holding the scenario, its answers before and after the student's removal."""
    data = tmp_path_factory.mktemp("ngshare06")
    with running_ngshare06(data) as server:
        client = sc.Client(server.api)
        sc.populate(client)
        before = sc.answers(client, sc.questions(client))
        sc.remove_student(client)
        calls = sc.questions(client)
        after = sc.answers(client, calls)
        yield {"server": server, "client": client, "before": before, "after": after, "calls": calls}


@pytest.fixture
def target(db_url, tmp_path):
    """A fresh, empty target: a new SQLite file, or a new PostgreSQL schema."""
    storage = tmp_path / "files"
    if db_url.startswith("sqlite"):
        yield {"url": f"sqlite:///{tmp_path / 'target.db'}", "storage": storage}
        return
    with own_pg_schema("import") as url:
        yield {"url": url, "storage": storage}


def emile_latest_files(database: Path) -> list[str]:
    """Storage names of the files of émile's latest submission (read-only)."""
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT f.actual_name FROM files f"
            " JOIN submission_files_assoc_table l ON l.right_id = f._id"
            " WHERE l.left_id = (SELECT CAST(MAX(_id) AS TEXT) FROM submissions"
            "                    WHERE student_id = 'émile')"
        ).fetchall()
    finally:
        conn.close()
    return [name for (name,) in rows]


def deviation(key, old_answer, before) -> object:
    """What we must answer where ngshare 0.6.0 deliberately differs (see module docstring)."""
    path, user, fields = key
    parts = path.split("/")
    if parts[0] in ("submissions", "submission", "feedback") and len(parts) == 4:
        if parts[3] == sc.DELETED_STUDENT and user != sc.DELETED_STUDENT:
            # instructors still reach a removed student's work: as before the removal
            assert old_answer[0] == 404, (key, old_answer)
            return before[key]
    return old_answer


def same(ours: tuple, expected: tuple) -> bool:
    """Equal, but for the reason we add to 'Permission denied' (docs/exchange-api.md)."""
    if ours == expected:
        return True
    (status, body), (old_status, old_body) = ours, expected
    return (
        status == old_status == 403
        and old_body == {"success": False, "message": "Permission denied"}
        and body["message"].startswith("Permission denied (")
        and body["success"] is False
    )


def compare(ours: dict, old: dict, before: dict) -> list[str]:
    """Every call whose answers differ, described briefly (contents shortened)."""
    return [
        f"{key}: ngshare 0.6 {str(old[key])[:300]} / ours {str(ours[key])[:300]}"
        for key in old
        if not same(ours[key], deviation(key, old[key], before))
    ]


def test_import_answers_like_ngshare06_and_reruns_add_only_what_is_new(old, target, tmp_path):
    server = old["server"]
    source = ["--from-database", server.database_url, "--from-storage", str(server.storage)]
    before_db = hashlib.sha256(server.database.read_bytes()).hexdigest()
    before_files = digest_tree(server.storage)

    # 1. one submission's files are missing on disk: listed, the rest imported, exit 1
    missing = emile_latest_files(server.database)
    assert missing
    aside = tmp_path / "aside"
    aside.mkdir()
    for name in missing:
        shutil.move(server.storage / name, aside / name)
    try:
        status, report, err = run_import(target, *source)
    finally:
        for name in missing:
            shutil.move(aside / name, server.storage / name)
    assert status == 1, err
    fatal = [p for p in report["problems"] if p["fatal"]]
    assert len(fatal) == 1 and "émile" in fatal[0]["what"], report["problems"]
    assert "missing: " in fatal[0]["reason"] and missing[0][:8] in fatal[0]["reason"]
    assert added(report, "submissions") == 7 and added(report, "feedback") == 3
    assert added(report, "students") == 5 and added(report, "instructors") == 4
    assert added(report, "assignments") == 3

    # 2. the file is back: the rerun adds just that submission (and its feedback)
    status, report, err = run_import(target, *source)
    assert status == 0, err
    assert added(report, "submissions") == 1 and added(report, "feedback") == 1
    assert sum(added(report, k) for k in ("students", "instructors", "assignments")) == 0

    # 3. once more: nothing to add; nothing on stderr either (no terminal: quiet in logs)
    status, report, err = run_import(target, *source)
    assert status == 0 and err == "", err
    assert all(not any(c["added"].values()) for c in report["courses"]), report

    # the source was only read
    assert hashlib.sha256(server.database.read_bytes()).hexdigest() == before_db
    assert digest_tree(server.storage) == before_files

    # 4. our server answers what ngshare 0.6.0 answered
    ours_dir = tmp_path / "ours"
    ours_dir.mkdir()
    serve = [f"--database={target['url']}", f"--storage={target['storage']}"]
    with running_server(ours_dir, *serve) as base:
        ours = sc.answers(sc.Client(base + "/api"), old["calls"])
        differences = compare(ours, old["after"], old["before"])
        assert not differences, "\n".join(differences)

        # 5. the old server gets one more submission: a rerun adds just that one
        sc.submit(old["client"], sc.PHYSICS, "hw2", "s1", "late work")
        status, report, err = run_import(target, *source)
        assert status == 0, err
        assert added(report, "submissions") == 1 and added(report, "files") == 2
        assert added(report, "feedback") == 0
        path = f"submissions/{sc.PHYSICS}/hw2/s1"
        ours_now = sc.normalized(*sc.Client(base + "/api").call("GET", path, "ins1"))
        assert ours_now == sc.normalized(*old["client"].call("GET", path, "ins1"))
        assert len(ours_now[1]["submissions"]) == 1


def test_dry_run_reports_and_writes_nothing(old, target):
    server = old["server"]
    status, report, err = run_import(
        target, "--from-database", server.database_url, "--from-storage", str(server.storage),
        "--dry-run",
    )  # fmt: skip
    assert status == 0, err
    assert report["dry_run"] is True
    assert added(report, "submissions") >= 8 and added(report, "files") > 0
    engine = sa.create_engine(target["url"])
    try:
        with engine.connect() as conn:
            for table in ("exchange_courses", "exchange_submissions", "exchange_files", "blobs"):
                assert conn.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar() == 0
    finally:
        engine.dispose()
    blobs = [p for p in target["storage"].rglob("*") if p.is_file()]
    assert blobs == []


def test_a_database_at_the_first_revision_imports_alike(old, target, tmp_path):
    """Revision aa00db20c10a (no files.size), made by ngshare 0.6.0's own downgrade."""
    server = old["server"]
    copy = tmp_path / "old-revision.db"
    shutil.copy(server.database, copy)
    run_ngshare06_alembic(copy, "downgrade", "aa00db20c10a")
    status, report, err = run_import(
        target, "--from-database", f"sqlite:///{copy}", "--from-storage", str(server.storage)
    )
    assert status == 0, err
    assert report["revision"] == "aa00db20c10a"
    assert added(report, "submissions") >= 8 and added(report, "feedback") == 4


def test_a_course_that_cannot_be_stored_is_listed_and_the_others_imported(old, target, tmp_path):
    """A course id over 255 characters (ngshare 0.6 took any): reported, exit 1, rest imported."""
    server = old["server"]
    copy = tmp_path / "odd.db"
    shutil.copy(server.database, copy)
    conn = sqlite3.connect(copy)
    with conn:
        long_name = "x" * 300
        conn.execute("UPDATE courses SET id = ? WHERE id = ?", (long_name, sc.EMPTY))
        conn.execute("UPDATE instructor_assoc_table SET right_id = ? WHERE right_id = ?",
                     (long_name, sc.EMPTY))  # fmt: skip
    conn.close()
    status, report, err = run_import(
        target, "--from-database", f"sqlite:///{copy}", "--from-storage", str(server.storage)
    )
    assert status == 1, err
    failed = [c for c in report["courses"] if c["failed"]]
    assert [c["course"] for c in failed] == [long_name]
    assert "cannot be stored" in failed[0]["failed"]
    assert {c["course"] for c in report["courses"] if not c["failed"]} == {
        sc.PHYSICS,
        sc.UNICODE_COURSE,
    }
    assert added(report, "submissions") >= 8


def release_blob_shards(database: Path, storage: Path, course: str) -> set[str]:
    """The blob-store shard folders (first two hex digits of sha256) of a course's releases."""
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        names = conn.execute(
            "SELECT f.actual_name FROM files f"
            " JOIN assignment_files_assoc_table l ON l.right_id = f._id"
            " JOIN assignments a ON CAST(a._id AS TEXT) = l.left_id"
            " JOIN courses c ON c._id = a.course_id WHERE c.id = ?",
            (course,),
        ).fetchall()
    finally:
        conn.close()
    return {hashlib.sha256((storage / n).read_bytes()).hexdigest()[:2] for (n,) in names}


def test_a_course_whose_write_fails_is_rolled_back_whole_and_a_rerun_completes_it(old, target):
    """The blob store cannot take one of physics-101's files: that course is rolled back."""
    server = old["server"]
    physics = release_blob_shards(server.database, server.storage, sc.PHYSICS)
    others = release_blob_shards(server.database, server.storage, sc.UNICODE_COURSE)
    blocked = sorted(physics - others)[0]
    target["storage"].mkdir(parents=True)
    (target["storage"] / blocked).write_text("a file where the blob store wants a folder")
    source = ["--from-database", server.database_url, "--from-storage", str(server.storage)]

    status, report, err = run_import(target, *source)
    assert status == 1, err
    by_name = {c["course"]: c for c in report["courses"]}
    assert by_name[sc.PHYSICS]["failed"] and "rolled back" in str(report["problems"])
    assert not any(by_name[sc.PHYSICS]["added"].values())
    assert by_name[sc.UNICODE_COURSE]["failed"] is None
    assert by_name[sc.UNICODE_COURSE]["added"]["submissions"] == 2
    engine = sa.create_engine(target["url"])
    try:
        with engine.connect() as conn:
            names = set(conn.execute(sa.text("SELECT name FROM exchange_courses")).scalars())
    finally:
        engine.dispose()
    assert sc.PHYSICS not in names and sc.UNICODE_COURSE in names

    (target["storage"] / blocked).unlink()
    status, report, err = run_import(target, *source)
    assert status == 0, err
    by_name = {c["course"]: c for c in report["courses"]}
    assert by_name[sc.PHYSICS]["added"]["submissions"] >= 6
    assert not any(by_name[sc.UNICODE_COURSE]["added"].values())


def test_a_storage_name_leading_outside_the_old_folder_is_refused_and_listed(old, target, tmp_path):
    """A damaged ``files.actual_name`` such as ``../x`` is never read; its unit waits."""
    server = old["server"]
    copy = tmp_path / "damaged.db"
    shutil.copy(server.database, copy)
    (tmp_path / "outside.txt").write_text("not ngshare's")
    conn = sqlite3.connect(copy)
    with conn:
        (name,) = conn.execute(
            "SELECT actual_name FROM files WHERE filename = 'notes/ü.txt' ORDER BY _id LIMIT 1"
        ).fetchone()
        conn.execute(
            "UPDATE files SET actual_name = '../outside.txt' WHERE actual_name = ?", (name,)
        )
        (in_source,) = conn.execute("SELECT COUNT(*) FROM submissions").fetchone()
    conn.close()
    status, report, err = run_import(
        target, "--from-database", f"sqlite:///{copy}", "--from-storage", str(server.storage)
    )
    assert status == 1, err
    fatal = [p for p in report["problems"] if p["fatal"]]
    assert len(fatal) == 1 and "unsafe storage name '../outside.txt'" in fatal[0]["reason"]
    assert fatal[0]["what"].startswith("submission of 's1' to 'hw1'")
    assert added(report, "submissions") == in_source - 1
