"""PostgreSQL round-trip settings (``ngshare.db.postgresql``), on the test run's database.

- ``NgShare.db_retry_stale_connections``: no test query per pool check-out; a
  transaction whose connection was killed runs again on a fresh one (on), or
  the check-out's test query finds the dead connection first (off). A dead
  connection is made for real: ``pg_terminate_backend`` from another session.
- ``NgShare.db_synchronous_commit``: the connections' setting, validated.
"""

import pytest
import sqlalchemy as sa
from traitlets import TraitError

from ngshare.config import NgShare
from ngshare.db import Database
from ngshare.db.postgresql import retry_stale


@pytest.fixture
def pg_url(db_url):
    if not db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only (NGSHARE_TEST_DB=postgresql)")
    return db_url


def _backend_pid(session):
    return session.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()


def _terminate(url, pid):
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            assert conn.execute(sa.text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()
    finally:
        engine.dispose()


@pytest.mark.parametrize("retry", [True, False])
def test_a_killed_connection_is_replaced(pg_url, retry):
    db = Database(pg_url, workers=1, retry_stale_connections=retry)
    try:
        assert db.engine.pool._pre_ping is (not retry)
        first = db.run_sync(_backend_pid)
        _terminate(pg_url, first)
        calls = []

        def fn(session):
            calls.append(1)
            return _backend_pid(session)

        second = db.run_sync(fn)
        assert second != first
        # retry: the first attempt hit the dead connection; ping: it was found at check-out
        assert len(calls) == (2 if retry else 1)
    finally:
        db.dispose()


def test_other_errors_are_not_retried(pg_url):
    db = Database(pg_url, workers=1)
    calls = []

    def fn(session):
        calls.append(1)
        session.execute(sa.text("SELECT 1/0"))

    try:
        with pytest.raises(sa.exc.DataError):
            db.run_sync(fn)
        assert calls == [1]
    finally:
        db.dispose()


def test_a_retried_transaction_keeps_nothing_of_the_first_attempt(pg_url):
    engine = sa.create_engine(pg_url, pool_pre_ping=False)
    make = sa.orm.sessionmaker(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE IF NOT EXISTS retry_probe (x INTEGER)"))
        conn.execute(sa.text("DELETE FROM retry_probe"))
    with make() as s:
        pid = _backend_pid(s)  # the pooled connection the next call checks out
    attempts = []

    def fn(session):
        attempts.append(1)
        session.execute(sa.text("INSERT INTO retry_probe VALUES (:x)"), {"x": len(attempts)})
        if len(attempts) == 1:
            _terminate(pg_url, pid)
        session.execute(sa.text("SELECT 1"))  # the first attempt dies here
        return len(attempts)

    try:
        assert retry_stale(make, fn) == 2
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT x FROM retry_probe")).scalars().all()
        assert rows == [2]
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE retry_probe"))
        engine.dispose()


@pytest.mark.parametrize(("value", "expected"), [("", "on"), ("off", "off"), ("local", "local")])
def test_synchronous_commit(pg_url, value, expected):
    db = Database(pg_url, workers=1, synchronous_commit=value)
    try:
        show = db.run_sync(lambda s: s.execute(sa.text("SHOW synchronous_commit")).scalar_one())
        assert show == expected
    finally:
        db.dispose()


def test_synchronous_commit_setting_is_validated():
    with pytest.raises(TraitError):
        NgShare(db_synchronous_commit="sometimes")
    assert NgShare().db_synchronous_commit == ""
    assert NgShare().db_retry_stale_connections is True


@pytest.mark.parametrize("lz4", [True, False])
def test_large_values_are_compressed_with_lz4(pg_url, lz4):
    """``NgShare.db_toast_lz4``: a blob row's content is stored LZ4-compressed (or with pglz)."""
    db = Database(pg_url, workers=1, toast_lz4=lz4)
    content = b'{"cells": [' + b'"some answer", ' * 20000 + b"]}"  # compressible, 300 KB

    def store_and_inspect(session):
        session.execute(sa.text("CREATE TEMP TABLE toast_probe (content bytea) ON COMMIT DROP"))
        session.execute(sa.text("INSERT INTO toast_probe VALUES (:c)"), {"c": content})
        return session.execute(
            sa.text("SELECT pg_column_compression(content), content FROM toast_probe")
        ).one()

    try:
        method, stored = db.run_sync(store_and_inspect)
        assert method == ("lz4" if lz4 else "pglz")
        assert bytes(stored) == content
    finally:
        db.dispose()
