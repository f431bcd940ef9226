"""PostgreSQL: no test query per pooled connection, LZ4 for large values, opt-in async commit.

Every ``Database.run`` on PostgreSQL checks a connection out of the pool. With
SQLAlchemy's ``pool_pre_ping`` each check-out first sends a test query, one
round trip to the database process per transaction (on a busy machine each
round trip waits for that process to be scheduled). Instead the test is
left out, and a transaction whose connection turns out to be dead before its
commit (the database restarted, a proxy dropped idle connections) is run
again, once, on a fresh connection: SQLAlchemy has already dropped the pool's
stale connections by then. Nothing of the first attempt was committed (a lost
connection aborts its transaction), so running ``fn`` again is safe; a
failure during COMMIT itself is never retried, since the commit may have
happened. ``NgShare.db_retry_stale_connections = False`` restores the test
query per check-out.

``NgShare.db_toast_lz4`` has PostgreSQL (14 and later, built with LZ4, as
the common packages are) compress large values such as the small files of
table ``blobs`` with LZ4 instead of its default pglz: a 200 KB notebook cost
the database process ~3.5 ms of CPU with pglz and ~0.7 ms with LZ4
(benchmarks/results/postgresql.md). Values stored either way stay readable.

``NgShare.db_synchronous_commit`` sets PostgreSQL's ``synchronous_commit`` for
the server's connections. The default leaves the server's setting (``on``: a
commit returns after its WAL is flushed to disk). ``off`` returns before the
flush: a crash of the database (not of ngshare) can lose the last few hundred
milliseconds of acknowledged uploads. It is an operator's opt-in, documented
in docs/performance.md, never the default.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import sessionmaker

T = TypeVar("T")
log = logging.getLogger(__name__)

#: The values PostgreSQL accepts for ``synchronous_commit``.
SYNCHRONOUS_COMMIT_VALUES = ("", "on", "off", "local", "remote_write", "remote_apply")


def retry_stale(make_session: sessionmaker, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(session, ...)`` in a transaction; once more if its connection was dead before COMMIT."""
    for attempt in (1, 2):
        session = make_session()
        try:
            session.begin()
            try:
                result = fn(session, *args, **kwargs)
            except DBAPIError as e:
                session.rollback()
                if attempt == 1 and e.connection_invalidated:
                    continue  # the pool dropped its stale connections: try a fresh one
                raise
            except BaseException:
                session.rollback()
                raise
            session.commit()  # a failure here is not retried: the commit may have happened
            return result
        finally:
            session.close()
    raise AssertionError("unreachable")  # pragma: no cover


def set_synchronous_commit(engine: Engine, value: str) -> None:
    """Every new connection of ``engine`` gets ``SET synchronous_commit = value`` (validated)."""
    if value not in SYNCHRONOUS_COMMIT_VALUES:
        raise ValueError(f"synchronous_commit must be one of {SYNCHRONOUS_COMMIT_VALUES}")
    on_connect(engine, f"SET synchronous_commit = {value}", required=True)


def use_lz4_toast(engine: Engine) -> None:
    """New connections compress large values with LZ4 instead of pglz (PostgreSQL >= 14)."""
    on_connect(engine, "SET default_toast_compression = lz4", required=False)


def on_connect(engine: Engine, statement: str, *, required: bool) -> None:
    """Run ``statement`` on every new connection, outside a transaction.

    ``required=False``: a server that refuses it (too old, built without LZ4)
    keeps its default; that is logged once.
    """
    refused: list[str] = []

    @event.listens_for(engine, "connect")
    def _run(dbapi_connection: Any, _record: Any) -> None:
        if refused:
            return
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        try:
            with dbapi_connection.cursor() as cur:
                cur.execute(statement)
        except Exception as e:
            if required:
                raise
            refused.append(str(e))
            log.warning("PostgreSQL refused %r (%s): left at its default", statement, e)
        finally:
            dbapi_connection.autocommit = autocommit
