"""Shared fixtures.

- ``db_url``: the database of this test session. SQLite by default; set
  ``NGSHARE_TEST_DB=postgresql`` (and optionally ``NGSHARE_TEST_PG_URL``) to run
  on PostgreSQL every test that reaches this database (see
  :func:`pytest_collection_modifyitems`). Migrated once per session; every
  test starts with empty tables.
- ``make_config(**traits)``: an :class:`~ngshare.config.VNgShare` for the test run's database.
  ``NGSHARE_TEST_STORAGE=s3`` keeps its blob files in a bucket of a local
  S3-compatible server (tests/standins/s3.py) instead of the test's folder.
- ``s3_server``, ``s3_bucket``: that server (moto's, on 127.0.0.1) and a new bucket on it.
- ``server``: the running server's :class:`~ngshare.context.ServerContext`.
- ``app``: the Tornado application behind ``server`` (used by pytest-tornado).
- ``api``: ``await api(method, path, user=..., **fields)`` -> ``(status, json)``;
  fields go in the query string for GET/DELETE and in the form body for POST,
  as ngshare's clients send them.
- ``exchange``: ``api`` plus a few steps most tests need (course, roster, release).
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa
from tornado.httpclient import HTTPClientError

import ngshare.accounts_models  # noqa: F401 - its tables are on CoreBase, emptied below
from ngshare.app import build, make_application, run_hooks
from ngshare.config import NgShare, VNgShare
from ngshare.context import ServerContext
from ngshare.exchange.models import ExchangeBase
from ngshare.models import CoreBase
from ngshare.scheduler_models import SchedulerBase
from tests.standins.s3 import s3_bucket, s3_server  # noqa: F401 - fixtures for every test

ADMIN = "root"
#: A test needing one of these reaches the session's database (http_server:
#: pytest-tornado gets ``app``, hence ``server`` and ``db_url``, by getfixturevalue).
DATABASE_FIXTURES = {"db_url", "http_server"}
PG_URL = os.environ.get("NGSHARE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def pytest_report_header(config):
    return (
        f"ngshare test database: {os.environ.get('NGSHARE_TEST_DB', 'sqlite')}, "
        f"blob storage: {os.environ.get('NGSHARE_TEST_STORAGE', 'filesystem')}"
    )


def pytest_collection_modifyitems(config, items):
    """On PostgreSQL, run only the tests that reach the session's database.

    A test whose fixtures ask neither for ``db_url`` nor for pytest-tornado's
    ``http_server`` (which asks for ``app`` at run time) - pure units, servers
    run as subprocesses on their own SQLite, the docs and packaging checks -
    runs the same on either pass, so the PostgreSQL pass leaves it to the SQLite
    one. ``NGSHARE_TEST_ALL=1`` keeps them.
    """
    if os.environ.get("NGSHARE_TEST_DB", "sqlite") != "postgresql":
        return
    if os.environ.get("NGSHARE_TEST_ALL"):
        return
    keep, leave = [], []
    for item in items:
        reaches = DATABASE_FIXTURES & set(getattr(item, "fixturenames", ()))
        (keep if reaches else leave).append(item)
    if leave:
        config.hook.pytest_deselected(items=leave)
        items[:] = keep


def hub_service_config(make_config, tmp_path, monkeypatch, plugins: list[str]) -> NgShare:
    """A server's settings as a JupyterHub service (its hub at a closed port, never called)."""
    monkeypatch.setenv("JUPYTERHUB_API_URL", "http://127.0.0.1:9/hub/api")
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "service-secret")
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/api/")
    monkeypatch.setenv("JUPYTERHUB_CLIENT_ID", "service-ngshare")
    base = make_config()
    return NgShare(
        db_url=base.db_url,
        storage_path=base.storage_path,
        admins=["root"],
        config_file="",
        data_dir=str(tmp_path / "data"),
        plugins=plugins,
    )


@pytest.fixture(scope="session")
def db_url(tmp_path_factory):
    backend = os.environ.get("NGSHARE_TEST_DB", "sqlite")
    if backend == "sqlite":
        yield "sqlite:///" + str(tmp_path_factory.mktemp("db") / "ngshare.db")
        return
    if backend != "postgresql":
        raise pytest.UsageError(f"NGSHARE_TEST_DB must be sqlite or postgresql, not {backend}")
    with own_pg_schema("test") as url:
        yield url


@contextmanager
def own_pg_schema(name: str) -> Iterator[str]:
    """A new PostgreSQL schema ``ngshare_<name>_<random>`` on ``PG_URL``: a URL that uses it.

    Dropped, with everything in it, on leaving.
    """
    schema = f"ngshare_{name}_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def empty_all_tables(engine: sa.Engine) -> None:
    """Every test starts with the core's, the exchange's and the scheduler's tables empty.

    On PostgreSQL every table of the schema is emptied (plugins' rows may point
    at core rows) and its id sequences restart, as ``TRUNCATE ... RESTART
    IDENTITY CASCADE`` would; DELETE is used because TRUNCATE costs ~60 ms a
    test on tables this small, and DELETE ~3 ms.
    """
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            for table in _schema_tables_children_first(conn):
                conn.execute(table.delete())
            conn.execute(
                sa.text(
                    "SELECT setval(c.oid, 1, false) FROM pg_class c"
                    " WHERE c.relkind = 'S' AND c.relnamespace = current_schema()::regnamespace"
                )
            )
            return
        tables = [
            *ExchangeBase.metadata.sorted_tables[::-1],
            *SchedulerBase.metadata.sorted_tables[::-1],
            *CoreBase.metadata.sorted_tables[::-1],
        ]
        for t in tables:
            conn.execute(t.delete())


_reflected: dict[tuple[str, int], list[sa.Table]] = {}


def _schema_tables_children_first(conn: sa.Connection) -> list[sa.Table]:
    """The schema's tables, referencing ones first (reflected again when a plugin adds some)."""
    count = conn.execute(
        sa.text("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()")
    ).scalar_one()
    key = (str(conn.engine.url), count)
    if key not in _reflected:
        metadata = sa.MetaData()
        metadata.reflect(conn)
        _reflected[key] = [
            t for t in reversed(metadata.sorted_tables) if not t.name.startswith("alembic_version")
        ]
    return _reflected[key]


@pytest.fixture
def make_config(db_url, tmp_path, request):
    backend = os.environ.get("NGSHARE_TEST_STORAGE", "filesystem")
    storage = {}
    if backend == "s3":
        s3 = request.getfixturevalue("s3_server")
        storage = s3.settings(request.getfixturevalue("s3_bucket"))
    elif backend != "filesystem":
        raise pytest.UsageError(f"NGSHARE_TEST_STORAGE must be filesystem or s3, not {backend}")

    def factory(**traits) -> VNgShare:
        config = VNgShare(
            db_url=db_url,
            storage_path=str(tmp_path / "files"),
            data_dir=str(tmp_path / "data"),  # the VAPID key and cookie secret stay per test
            admins=[ADMIN],
            config_file="",
            **storage,
        )
        for name, value in traits.items():
            setattr(config, name, value)
        return config

    return factory


@contextmanager
def started_server(config, io_loop, *, tables: tuple[str, ...] = ()) -> Iterator[ServerContext]:
    """A server built from ``config``, the core's tables and ``tables`` emptied, started.

    Shut down and closed on leaving. A module that needs other plugins or
    tables overrides ``server`` with this; ``app`` then serves that server.
    """
    ctx, plugins = build(config)
    empty_all_tables(ctx.db.engine)
    if tables:
        with ctx.db.engine.begin() as conn:
            for table in tables:
                conn.execute(sa.text(f"DELETE FROM {table}"))
    io_loop.run_sync(lambda: run_hooks(ctx, plugins, "startup"))
    try:
        yield ctx
    finally:
        io_loop.run_sync(lambda: run_hooks(ctx, plugins, "shutdown"))
        ctx.close()


@pytest.fixture
def server(make_config, io_loop):
    with started_server(make_config(), io_loop) as ctx:
        yield ctx


@pytest.fixture
def app(server):
    return make_application(server, server.plugins)


@pytest.fixture
def api(http_client, base_url):
    async def call(method: str, path: str, user: str | None = None, **fields):
        if user is not None:
            fields["user"] = user
        url = base_url + "/api/" + path.lstrip("/")
        body = None
        if method in ("GET", "DELETE"):
            if fields:
                url += "?" + urlencode(fields)
        else:
            body = urlencode(fields)
        try:
            response = await http_client.fetch(url, method=method, body=body, raise_error=True)
        except HTTPClientError as e:
            response = e.response
        assert response.headers["Content-Type"].startswith("application/json"), response.body
        return response.code, json.loads(response.body)

    return call


def encode_files(files: dict[str, bytes]) -> str:
    """A ``files`` field as clients send it."""
    return json.dumps(
        [{"path": p, "content": base64.b64encode(c).decode()} for p, c in files.items()]
    )


class Exchange:
    """Common set-ups on top of ``api``: course c1 taught by kevin, students."""

    def __init__(self, api):
        self.api = api

    async def ok(self, method, path, user, **fields):
        status, body = await self.api(method, path, user=user, **fields)
        assert (status, body.get("success")) == (200, True), (status, body)
        return body

    async def course(self, course="c1", instructors=("kevin",)):
        await self.ok("POST", f"course/{course}", ADMIN, instructors=json.dumps(list(instructors)))

    async def students(self, course="c1", names=("s1", "s2")):
        entries = [
            {"username": n, "first_name": f"F{n}", "last_name": f"L{n}", "email": f"{n}@x"}
            for n in names
        ]
        await self.ok(
            "POST",
            f"students/{course}",
            "kevin" if course == "c1" else ADMIN,
            students=json.dumps(entries),
        )

    async def release(self, assignment="a1", files=None, course="c1", user="kevin"):
        files = files or {"p1.ipynb": b'{"cells": []}', "data/x.csv": b"1,2\n"}
        await self.ok("POST", f"assignment/{course}/{assignment}", user, files=encode_files(files))

    async def submit(self, user="s1", assignment="a1", files=None, course="c1"):
        files = files or {"p1.ipynb": b'{"cells": ["answer"]}'}
        body = await self.ok(
            "POST", f"submission/{course}/{assignment}", user, files=encode_files(files)
        )
        return body["timestamp"]

    async def setup(self):
        await self.course()
        await self.students()
        await self.release()


@pytest.fixture
def exchange(api):
    return Exchange(api)
