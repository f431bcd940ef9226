"""Statements run on the driver (ngshare.db.driver_sql) read and write what SQLAlchemy would.

Each test that does not test the driver's own refusals runs twice: on the
driver, and with ``NgShare.db_driver_statements`` off (plain Core).
"""

from datetime import datetime

import pytest
import sqlalchemy as sa

from ngshare.db import Database
from ngshare.db.driver_sql import DriverStatement

metadata = sa.MetaData()
things = sa.Table(
    "driver_sql_things",
    metadata,
    sa.Column("pk", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(16)),
    sa.Column("name", sa.String(64)),
    sa.Column("at", sa.DateTime),
    sa.Column("data", sa.LargeBinary),
)
with_default = sa.Table(
    "driver_sql_defaults",
    metadata,
    sa.Column("pk", sa.Integer, primary_key=True),
    sa.Column("at", sa.DateTime, default=datetime.now),
)

INSERT = DriverStatement(sa.insert(things), column_keys=["kind", "name", "at", "data"])
BY_KIND = DriverStatement(
    sa.select(things.c.name, things.c.at, things.c.data)
    .where(things.c.kind == sa.bindparam("kind"))
    .order_by(things.c.pk)
)
NOTES_AT = DriverStatement(  # a value fixed in the statement, one given at execution
    sa.select(things.c.name).where(things.c.kind == "note", things.c.at == sa.bindparam("at"))
)
DELETE = DriverStatement(sa.delete(things).where(things.c.kind == sa.bindparam("kind")))
ROWS = [
    {"kind": "note", "name": "whole second", "at": datetime(2026, 1, 2, 3, 4, 5), "data": b"\0x"},
    {"kind": "note", "name": "µs", "at": datetime(2026, 1, 2, 3, 4, 5, 7), "data": None},
    {"kind": "other", "name": "o", "at": None, "data": b""},
]


@pytest.fixture(params=[True, False], ids=["driver", "core"])
def db(db_url, request):
    """The driver path, then the same statements through Core (NgShare.db_driver_statements)."""
    database = Database(db_url, driver_statements=request.param)
    metadata.create_all(database.engine)
    yield database
    metadata.drop_all(database.engine)
    database.dispose()


@pytest.fixture
def driver_db(db_url):
    database = Database(db_url)
    metadata.create_all(database.engine)
    yield database
    metadata.drop_all(database.engine)
    database.dispose()


def test_rows_written_on_the_driver_read_back_alike_both_ways(db):
    with db.engine.begin() as conn:
        INSERT.run_many(conn, ROWS)
    with db.engine.begin() as conn:
        driver = BY_KIND.rows(conn, {"kind": "note"})
        core = conn.execute(
            sa.select(things.c.name, things.c.at, things.c.data)
            .where(things.c.kind == "note")
            .order_by(things.c.pk)
        ).all()
    assert [tuple(r) for r in driver] == [tuple(r) for r in core]
    assert [(r.name, r.at, r.data) for r in driver] == [
        ("whole second", datetime(2026, 1, 2, 3, 4, 5), b"\0x"),
        ("µs", datetime(2026, 1, 2, 3, 4, 5, 7), None),
    ]


def test_datetimes_are_bound_as_sqlalchemy_stores_them(db):
    """A datetime given to the driver finds the row SQLAlchemy wrote, and vice versa."""
    with db.engine.begin() as conn:
        conn.execute(sa.insert(things), ROWS[:2])
        assert NOTES_AT.first(conn, {"at": datetime(2026, 1, 2, 3, 4, 5)}).name == "whole second"
        INSERT.run_many(conn, [{**ROWS[0], "name": "again"}])
        found = (
            conn.execute(
                sa.select(things.c.name).where(things.c.at == datetime(2026, 1, 2, 3, 4, 5))
            )
            .scalars()
            .all()
        )
    assert found == ["whole second", "again"]


def test_the_driver_works_inside_the_callers_transaction(db):
    with db.engine.connect() as conn:
        with conn.begin() as tx:
            INSERT.run_many(conn, ROWS)
            assert DELETE.run(conn, {"kind": "other"}) == 1
            assert len(BY_KIND.rows(conn, {"kind": "note"})) == 2
            tx.rollback()
        assert BY_KIND.rows(conn, {"kind": "note"}) == []


def test_a_missing_parameter_is_an_error_not_a_null(driver_db):
    with driver_db.engine.begin() as conn, pytest.raises(KeyError, match="kind"):
        BY_KIND.rows(conn, {})


def test_statements_the_driver_cannot_run_faithfully_are_refused(driver_db):
    expanding = DriverStatement(sa.select(things.c.pk).where(things.c.name.in_(["a", "b"])))
    defaults = DriverStatement(sa.insert(with_default), column_keys=["pk"])
    with driver_db.engine.begin() as conn:
        with pytest.raises(ValueError, match="plain parameters"):
            expanding.rows(conn, {})
        with pytest.raises(ValueError, match="default"):
            defaults.run_many(conn, [{"pk": 1}])


def test_an_insert_returns_its_new_key(db):
    insert = DriverStatement(
        sa.insert(things).returning(things.c.pk), column_keys=["kind", "name", "at", "data"]
    )
    with db.engine.begin() as conn:
        first = insert.first(conn, ROWS[0])
        second = insert.first(conn, ROWS[1])
        names = dict(conn.execute(sa.select(things.c.pk, things.c.name)).all())
    assert second.pk > first.pk
    assert names == {first.pk: "whole second", second.pk: "µs"}


def test_the_setting_reaches_the_connections(db):
    from ngshare.db.driver_sql import on_driver

    with db.engine.connect() as conn:
        expected = conn.get_execution_options()["ngshare_driver_statements"]
        assert on_driver(conn) is expected
    with db.session() as session:
        assert on_driver(session.connection()) is expected
