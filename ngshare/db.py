"""Database access for the core and every plugin: engine, sessions, migrations.

SQLAlchemy sessions are synchronous; handlers never touch them on the IOLoop.
They call :meth:`Database.run` with a plain function that receives a session
inside a transaction; the function runs on a worker thread and its return
value (or exception) comes back to the coroutine::

    def count_courses(session):
        return session.scalar(select(func.count()).select_from(Course))

    n = await db.run(count_courses)

SQLite gets one worker thread (SQLite serialises writers anyway, and one
thread avoids "database is locked" retries), which commits the transactions
that queued up together at once (ngshare.group_commit); PostgreSQL gets a pool.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Annotated, Any, TypeVar

from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, mapped_column, sessionmaker

from ngshare.group_commit import GroupCommitter
from ngshare.wal import WalCheckpointer, backstop_pages

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

intpk = Annotated[int, mapped_column(primary_key=True)]
timestamp = Annotated[datetime, mapped_column()]


def make_metadata() -> MetaData:
    """A MetaData for one feature set, with the shared naming convention."""
    return MetaData(naming_convention=NAMING_CONVENTION)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


#: Page size of new SQLite databases. Small files live in the database (see
#: ngshare.storage), and SQLite writes them a page at a time, twice (log, then
#: checkpoint): 16 KiB pages take a quarter of the 4 KiB default's write calls,
#: which were a quarter of the server's CPU in sequential feedback uploads.
#: Larger pages cost more for small rows than they save. (Existing databases
#: keep the page size they were created with.)
SQLITE_PAGE_BYTES = 16384
#: Page cache per SQLite connection, in KiB (SQLite's default is 2000). One
#: group commit holds up to 16 uploads' inline blobs, several MB of pages;
#: with the default cache the submit phase's database thread spent ~14 %
#: more CPU, and submit throughput was 1.064x, 1.231x (32 MiB) and 1.134x
#: (8 MiB) with the larger cache (benchmarks/ab.py, 5 rounds each; 14 of 15
#: rounds won); sequential collect and feedback uploads were unchanged
#: (ab_paired.py with 32 MiB: 0.995, 1.007). A ceiling, filled as pages are read.
SQLITE_CACHE_KIB = 8192


def create_db_engine(url: str, *, echo: bool = False) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout."""
    if is_sqlite(url):
        engine = create_engine(
            url, echo=echo, hide_parameters=True,  # errors and logs never show bound values
            connect_args={"check_same_thread": False, "timeout": 30},
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA page_size={SQLITE_PAGE_BYTES}")  # a new database only
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
            page_size = cur.execute("PRAGMA page_size").fetchone()[0]
            cur.execute(f"PRAGMA wal_autocheckpoint={backstop_pages(page_size)}")  # ngshare.wal
            cur.close()

        return engine
    return create_engine(
        url, echo=echo, hide_parameters=True, pool_pre_ping=True, pool_size=8, max_overflow=8
    )


class Database:
    """One engine, one sessionmaker and the worker threads that use them."""

    def __init__(self, url: str, *, workers: int = 8, echo: bool = False) -> None:
        self.url = url
        self.engine = create_db_engine(url, echo=echo)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        self.checkpointer = WalCheckpointer(self._own_connection) if _is_sqlite_file(url) else None
        self._executor: ThreadPoolExecutor | None = None
        self.committer: GroupCommitter | None = None
        if is_sqlite(url):
            self.committer = GroupCommitter(self.sessionmaker, self._after_transaction)
        else:
            self._executor = ThreadPoolExecutor(
                max_workers=max(1, workers), thread_name_prefix="ngshare-db"
            )

    def run_sync(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn(session, *args, **kwargs)`` in one transaction, on this thread."""
        try:
            with self.sessionmaker.begin() as session:
                return fn(session, *args, **kwargs)
        finally:
            self._after_transaction()

    def _after_transaction(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.after_transaction()

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn(session, *args, **kwargs)`` in one transaction on a worker thread.

        The transaction commits when ``fn`` returns and rolls back when it raises.
        On SQLite ``fn`` may share the commit with others queued at the same time
        (inside a savepoint of its own, see :mod:`ngshare.group_commit`): its
        answer arrives once that commit is durable.
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


def _is_sqlite_file(url: str) -> bool:
    """A SQLite database in a file (in-memory ones have no write-ahead log)."""
    return is_sqlite(url) and url != "sqlite://" and ":memory:" not in url
