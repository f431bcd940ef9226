"""Each of the database's performance mechanisms can be turned off, and the server answers alike.

(``NgShare.sqlite_*`` and ``NgShare.db_driver_statements``; what each buys is
in docs/performance.md.)
"""

import json
import sqlite3
import time

import pytest
import sqlalchemy as sa
from traitlets import TraitError

from ngshare.app import build
from ngshare.config import NgShare
from ngshare.db import SQLITE_CACHE_KIB, SQLITE_PAGE_BYTES, Database, SqliteSettings
from ngshare.db.driver_sql import on_driver
from ngshare.db.group_commit import MAX_BATCH
from ngshare.db.wal import backstop_pages
from tests.conftest import encode_files

ALL_OFF = dict(
    db_driver_statements=False,
    sqlite_group_commit=False,
    sqlite_wal_checkpoint_thread=False,
    sqlite_page_bytes=0,
    sqlite_cache_kib=0,
)


def _pragmas(db, *names):
    with db.engine.connect() as conn:
        return [conn.exec_driver_sql(f"PRAGMA {n}").scalar() for n in names]


def _make_table(db):
    db.run_sync(lambda s: s.execute(sa.text("CREATE TABLE IF NOT EXISTS t (x INTEGER)")))


def test_by_default_every_mechanism_is_on(tmp_path):
    db = Database("sqlite:///" + str(tmp_path / "on.db"))
    try:
        _make_table(db)
        page, cache, mark = _pragmas(db, "page_size", "cache_size", "wal_autocheckpoint")
        assert (page, cache) == (SQLITE_PAGE_BYTES, -SQLITE_CACHE_KIB)
        assert mark == backstop_pages(page)
        assert db.checkpointer is not None
        assert db.committer.max_batch == MAX_BATCH
    finally:
        db.dispose()


def test_turned_off_sqlite_keeps_its_own_defaults(tmp_path):
    db = Database(
        "sqlite:///" + str(tmp_path / "off.db"),
        sqlite=SqliteSettings(
            group_commit=False, checkpoint_thread=False, page_bytes=0, cache_kib=0
        ),
    )
    try:
        _make_table(db)
        page, cache, mark, mode = _pragmas(
            db, "page_size", "cache_size", "wal_autocheckpoint", "journal_mode"
        )
        with sqlite3.connect(":memory:") as plain:  # what this SQLite does untold
            default_page, default_cache = (
                plain.execute(f"PRAGMA {n}").fetchone()[0] for n in ("page_size", "cache_size")
            )
        plain.close()
        assert (page, cache, mark) == (default_page, default_cache, 1000)
        assert mode == "wal"  # correctness settings stay
        assert db.checkpointer is None
        assert db.committer.max_batch == 1
    finally:
        db.dispose()


def test_other_page_and_cache_sizes(tmp_path):
    db = Database(
        "sqlite:///" + str(tmp_path / "sized.db"),
        sqlite=SqliteSettings(page_bytes=8192, cache_kib=1024),
    )
    try:
        _make_table(db)
        assert _pragmas(db, "page_size", "cache_size") == [8192, -1024]
    finally:
        db.dispose()


@pytest.mark.parametrize("checkpoint_thread", [True, False], ids=["thread", "sqlite"])
def test_the_log_is_checkpointed_either_way(tmp_path, checkpoint_thread):
    """With the thread off, SQLite's own checkpoint (at 1000 pages) keeps the log short."""
    db = Database(
        "sqlite:///" + str(tmp_path / "log.db"),
        sqlite=SqliteSettings(checkpoint_thread=checkpoint_thread, page_bytes=4096),
    )
    try:

        def write(session):
            session.execute(sa.text("CREATE TABLE IF NOT EXISTS b (x BLOB)"))
            session.execute(sa.text("INSERT INTO b VALUES (:x)"), [{"x": b"z" * 4000}] * 100)

        for _ in range(15):  # ~1500 pages of 4 KiB, far short of the thread's backstop
            db.run_sync(write)
        wal = tmp_path / "log.db-wal"
        if checkpoint_thread:
            deadline = time.monotonic() + 10
            while db.checkpointer.checkpoints == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert db.checkpointer.checkpoints > 0
        else:
            assert wal.stat().st_size < 1200 * 4096  # restarted after SQLite's checkpoint
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM b").scalar() == 1500
    finally:
        db.dispose()


def test_the_settings_reach_the_servers_database(make_config, db_url):
    ctx, _plugins = build(make_config(**ALL_OFF))
    try:
        settings = ctx.db.sqlite_settings
        assert settings == SqliteSettings(False, False, 0, 0)
        with ctx.db.engine.connect() as conn:
            assert not on_driver(conn)
        if db_url.startswith("sqlite"):
            assert ctx.db.checkpointer is None and ctx.db.committer.max_batch == 1
    finally:
        ctx.close()


@pytest.mark.parametrize(
    ("trait", "value"),
    [("sqlite_page_bytes", 1000), ("sqlite_page_bytes", 131072), ("sqlite_cache_kib", -1)],
)
def test_impossible_sizes_are_refused(trait, value):
    with pytest.raises(TraitError):
        NgShare(**{trait: value})


@pytest.fixture
def server(make_config, io_loop):
    """The server with every database mechanism off (on PostgreSQL: the SQLite ones ignored)."""
    from ngshare.app import run_hooks
    from tests.conftest import empty_all_tables

    ctx, plugins = build(make_config(**ALL_OFF))
    empty_all_tables(ctx.db.engine)
    io_loop.run_sync(lambda: run_hooks(ctx, plugins, "startup"))
    yield ctx
    io_loop.run_sync(lambda: run_hooks(ctx, plugins, "shutdown"))
    ctx.close()


@pytest.mark.gen_test(timeout=60)
async def test_the_exchange_works_with_every_mechanism_off(server, exchange, api):
    import asyncio

    assert not server.db.sqlite_settings.group_commit
    await exchange.setup()
    students = [f"s{i}" for i in range(8)]
    await exchange.students(names=students)
    stamps = await asyncio.gather(  # concurrent: queued together for the database thread
        *[exchange.submit(s, files={"p1.ipynb": s.encode()}) for s in students]
    )
    listed = await exchange.ok("GET", "submissions/c1/a1", "kevin")
    assert sorted((e["student_id"], e["timestamp"]) for e in listed["submissions"]) == sorted(
        zip(students, stamps, strict=True)
    )
    for student, stamp in zip(students, stamps, strict=True):
        collected = await exchange.ok("GET", f"submission/c1/a1/{student}", "kevin")
        assert collected["timestamp"] == stamp
        assert [f["path"] for f in collected["files"]] == ["p1.ipynb"]
        feedback = {"feedback.html": f"<p>{student}</p>".encode()}
        await exchange.ok(
            "POST",
            f"feedback/c1/a1/{student}",
            "kevin",
            timestamp=stamp,
            files=encode_files(feedback),
        )
    status, body = await api("GET", "feedback/c1/a1/s3", user="s3", timestamp=stamps[3])
    assert status == 200, body
    assert [f["path"] for f in body["files"]] == ["feedback.html"]
    assert json.dumps(body)  # a plain JSON answer
