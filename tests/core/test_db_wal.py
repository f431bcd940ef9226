"""SQLite's write-ahead log is checkpointed by a thread of its own, not inside commits."""

import time

import sqlalchemy as sa

from ngshare.db import Database
from ngshare.db.wal import BACKSTOP_BYTES, backstop_pages


def _wal_state(engine):
    """(frames in the log, frames checkpointed) as a PASSIVE checkpoint reports them."""
    with engine.connect() as conn:
        _busy, log, done = conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()
    return log, done


def _write_rows(db, n):
    def write(session):
        session.execute(sa.text("CREATE TABLE IF NOT EXISTS t (x BLOB)"))
        session.execute(sa.text("INSERT INTO t VALUES (:x)"), [{"x": b"z" * 4000}] * n)

    db.run_sync(write)


def test_commits_leave_the_checkpoint_to_the_background_thread(tmp_path):
    db = Database("sqlite:///" + str(tmp_path / "w.db"))
    try:
        with db.engine.connect() as conn:
            page_size = conn.exec_driver_sql("PRAGMA page_size").scalar()
            backstop = conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
        assert backstop == backstop_pages(page_size) and backstop * page_size <= BACKSTOP_BYTES
        before = db.checkpointer.checkpoints
        _write_rows(db, 200)  # ~800 KB: a commit no longer checkpoints them itself
        deadline = time.monotonic() + 10
        while db.checkpointer.checkpoints == before and time.monotonic() < deadline:
            time.sleep(0.01)
        assert db.checkpointer.checkpoints > before
        log, done = _wal_state(db.engine)
        assert log * page_size > 200 * 4000 and done == log  # all frames back in the database
    finally:
        db.dispose()
    assert not db.checkpointer._thread.is_alive()  # stopped with the database


def test_an_idle_database_is_not_checkpointed_again_and_again(tmp_path):
    db = Database("sqlite:///" + str(tmp_path / "idle.db"))
    try:
        _write_rows(db, 1)
        time.sleep(0.3)
        settled = db.checkpointer.checkpoints
        time.sleep(0.3)
        assert db.checkpointer.checkpoints == settled  # it sleeps until the next transaction
    finally:
        db.dispose()


def test_an_in_memory_database_has_no_checkpointer():
    db = Database("sqlite://")
    try:
        assert db.checkpointer is None
    finally:
        db.dispose()


def test_only_sqlite_files_get_a_checkpointer(server):
    assert (server.db.checkpointer is not None) == (server.db.engine.dialect.name == "sqlite")
