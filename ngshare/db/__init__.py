"""Database access for the core and every plugin: engine, sessions, migrations.

SQLAlchemy sessions are synchronous; handlers never touch them on the IOLoop.
They call :meth:`Database.run` with a plain function that receives a session
inside a transaction; the function runs on a worker thread and its return
value (or exception) comes back to the coroutine::

    def count_courses(session):
        return session.scalar(select(func.count()).select_from(Course))

    n = await db.run(count_courses)

SQLite gets one worker thread (SQLite serialises writers anyway, and one
thread avoids "database is locked" retries), which by default commits the
transactions that queued up together at once (:mod:`ngshare.db.group_commit`;
:meth:`Database.run` says what a caller may rely on then); PostgreSQL gets a
pool. The database's performance mechanisms live in this package, each with
a setting that turns it off (:class:`~ngshare.db.sqlite.SqliteSettings`,
docs/performance.md).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from sqlalchemy import MetaData, create_engine
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, mapped_column, sessionmaker

from ngshare.db.driver_sql import DRIVER_STATEMENTS
from ngshare.db.group_commit import MAX_BATCH, GroupCommitter
from ngshare.db.postgresql import retry_stale, set_synchronous_commit, use_lz4_toast
from ngshare.db.sqlite import (
    SQLITE_CACHE_KIB,
    SQLITE_PAGE_BYTES,
    SqliteSettings,
    create_sqlite_engine,
    is_sqlite_file,
)
from ngshare.db.wal import WalCheckpointer

if TYPE_CHECKING:
    from ngshare.config import NgShare

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Constraint names that alembic can find again on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: The largest integer primary key: keys are 32-bit on every database (PostgreSQL's
#: INTEGER), so a larger id from a URL names nothing (404), never a database error.
MAX_KEY = 2**31 - 1
intpk = Annotated[int, mapped_column(primary_key=True)]
timestamp = Annotated[datetime, mapped_column()]


def make_metadata() -> MetaData:
    """A MetaData for one feature set, with the shared naming convention."""
    return MetaData(naming_convention=NAMING_CONVENTION)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def create_db_engine(
    url: str,
    *,
    echo: bool = False,
    sqlite: SqliteSettings | None = None,
    driver_statements: bool = True,
    pre_ping: bool = True,
    synchronous_commit: str = "",
    toast_lz4: bool = True,
) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys, a busy timeout and ``sqlite``'s tuning.

    :arg driver_statements: run each :class:`~ngshare.db.driver_sql.DriverStatement`
        on the DB-API cursor (else through SQLAlchemy Core).
    :arg pre_ping: PostgreSQL: test each pooled connection with a round trip
        when it is checked out (off: :class:`Database` retries instead).
    :arg synchronous_commit: PostgreSQL: the connections' ``synchronous_commit``
        ("" leaves the server's, normally ``on``).
    :arg toast_lz4: PostgreSQL: compress large values with LZ4, not pglz.
    """
    options = {DRIVER_STATEMENTS: driver_statements}
    if is_sqlite(url):
        settings = sqlite or SqliteSettings()
        checkpointed = settings.checkpoint_thread and is_sqlite_file(url)
        return create_sqlite_engine(
            url, settings, checkpointed=checkpointed, echo=echo, execution_options=options
        )
    engine = create_engine(
        url,
        echo=echo,
        pool_pre_ping=pre_ping,
        pool_size=8,
        max_overflow=8,
        hide_parameters=True,  # errors and logs never show bound values (tokens)
        execution_options=options,
    )
    if synchronous_commit:
        set_synchronous_commit(engine, synchronous_commit)
    if toast_lz4 and engine.dialect.name == "postgresql":
        use_lz4_toast(engine)
    return engine


class Database:
    """One engine, one sessionmaker and the worker threads that use them.

    :arg workers: worker threads on PostgreSQL (SQLite has one).
    :arg sqlite: SQLite's performance settings (ignored on other databases);
        default: every mechanism on.
    :arg driver_statements: run the hot statements on the DB-API cursor
        (:mod:`ngshare.db.driver_sql`); off: through SQLAlchemy Core.
    """

    def __init__(
        self,
        url: str,
        *,
        workers: int = 8,
        echo: bool = False,
        sqlite: SqliteSettings | None = None,
        driver_statements: bool = True,
        retry_stale_connections: bool = True,
        synchronous_commit: str = "",
        toast_lz4: bool = True,
    ) -> None:
        self.url = url
        self.sqlite_settings = sqlite or SqliteSettings()
        # PostgreSQL: no test round trip per check-out; run_sync retries instead
        self.retry_stale = retry_stale_connections and not is_sqlite(url)
        self.engine = create_db_engine(
            url,
            echo=echo,
            sqlite=self.sqlite_settings,
            driver_statements=driver_statements,
            pre_ping=not self.retry_stale,
            synchronous_commit=synchronous_commit,
            toast_lz4=toast_lz4,
        )
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        self.checkpointer: WalCheckpointer | None = None
        if self.sqlite_settings.checkpoint_thread and is_sqlite_file(url):
            self.checkpointer = WalCheckpointer(self._own_connection)
        self._executor: ThreadPoolExecutor | None = None
        self.committer: GroupCommitter | None = None
        if is_sqlite(url):
            # With group commit off the thread stays (one writer), one job per commit.
            self.committer = GroupCommitter(
                self.sessionmaker,
                self._after_transaction,
                max_batch=MAX_BATCH if self.sqlite_settings.group_commit else 1,
            )
        else:
            self._executor = ThreadPoolExecutor(
                max_workers=max(1, workers), thread_name_prefix="ngshare-db"
            )

    @classmethod
    def for_config(cls, config: NgShare, **kwargs: Any) -> Database:
        """The database of a server's settings (``db_url``, ``db_workers``, ``sqlite_*``...)."""
        return cls(
            config.db_url,
            workers=config.db_workers,
            sqlite=sqlite_settings(config),
            driver_statements=config.db_driver_statements,
            retry_stale_connections=config.db_retry_stale_connections,
            synchronous_commit=config.db_synchronous_commit,
            toast_lz4=config.db_toast_lz4,
            **kwargs,
        )

    def run_sync(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn(session, *args, **kwargs)`` in one transaction of its own, on this thread.

        It commits when ``fn`` returns and rolls back when it raises; never grouped.
        On PostgreSQL with ``NgShare.db_retry_stale_connections`` on, a call
        whose connection turns out dead before its commit (the database
        restarted, a proxy dropped it) runs once more on a fresh one.
        """
        try:
            if self.retry_stale:
                return retry_stale(self.sessionmaker, fn, *args, **kwargs)
            with self.sessionmaker.begin() as session:
                return fn(session, *args, **kwargs)
        finally:
            self._after_transaction()

    def _after_transaction(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.after_transaction()

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn(session, *args, **kwargs)`` on a database thread; its result or exception.

        What a caller may rely on, whatever the backend and settings:

        - ``fn``'s writes are committed if it returns and undone if it raises
          (the exception is then raised here);
        - the result arrives only after the commit that made ``fn``'s writes
          durable; if that commit fails (or SQLite drops the transaction,
          e.g. disk full), an exception arrives instead and the writes are
          gone, so a result always means committed;
        - ``fn`` may undo part of its writes with ``session.begin_nested()``.

        On PostgreSQL each call is a transaction of its own (READ COMMITTED)
        on one of ``NgShare.db_workers`` threads, concurrent with the others.
        On SQLite every call runs on the one database thread, in the order of
        the calls, in a ``BEGIN IMMEDIATE`` transaction (the write lock and
        one snapshot from its start). With ``NgShare.sqlite_group_commit`` on
        (the default) the calls queued together, up to 16, share one such
        transaction and its commit (:mod:`ngshare.db.group_commit`): each runs
        in a ``SAVEPOINT`` of its own, so its error undoes only its own writes,
        but it also reads the uncommitted writes of the calls before it in
        the batch, and a failed commit (e.g. a deferred constraint that one
        call broke) fails every call of the batch. A call alone in the queue
        has the transaction to itself, as with the setting off.

        ``fn`` must not:

        - call ``session.commit()``, ``session.rollback()`` or
          ``session.close()``: the caller gets an error (``InvalidRequestError``
          or, on SQLite, :class:`~ngshare.db.group_commit.TransactionLostError`),
          yet what was written before a ``commit()`` stays committed (on
          SQLite with the writes of the calls before it in its batch, which
          are told ``TransactionLostError`` too);
        - catch a database error and carry on, outside a
          ``session.begin_nested()`` block that it undoes (the transaction
          may be gone: SQLite then answers
          :class:`~ngshare.db.group_commit.TransactionLostError`);
        - keep state on the session or its connection for later calls, or
          expect none from earlier ones (``session.info``, temporary tables,
          pragmas): in a batch they are shared;
        - use ORM objects after returning beyond their loaded attributes
          (they are detached; nothing more can be loaded);
        - wait for another ``db.run`` (on SQLite's one thread, a deadlock);
        - act outside the database on the assumption that its writes are
          committed (publish an event, tell another service): do that after
          the ``await``.
        """
        if self.committer is not None:
            return await asyncio.wrap_future(self.committer.submit(fn, *args, **kwargs))
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, lambda: self.run_sync(fn, *args, **kwargs)
        )

    def _own_connection(self) -> Any:
        """A DB-API connection taken out of the pool for good (it would hold a pool slot)."""
        conn = self.engine.raw_connection()
        conn.detach()
        return conn

    def session(self) -> Session:
        """A plain session, for command-line tools and tests."""
        return self.sessionmaker()

    def dispose(self) -> None:
        if self.committer is not None:
            self.committer.stop()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        if self.checkpointer is not None:
            self.checkpointer.stop()
        self.engine.dispose()


def sqlite_settings(config: NgShare) -> SqliteSettings:
    """:class:`SqliteSettings` from the ``sqlite_*`` settings of the server."""
    return SqliteSettings(
        group_commit=config.sqlite_group_commit,
        checkpoint_thread=config.sqlite_wal_checkpoint_thread,
        page_bytes=config.sqlite_page_bytes,
        cache_kib=config.sqlite_cache_kib,
    )


__all__ = [
    "NAMING_CONVENTION",
    "SQLITE_CACHE_KIB",
    "SQLITE_PAGE_BYTES",
    "Database",
    "SqliteSettings",
    "create_db_engine",
    "intpk",
    "is_sqlite",
    "make_metadata",
    "sqlite_settings",
    "timestamp",
]
