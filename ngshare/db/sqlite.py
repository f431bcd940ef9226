"""SQLite's engine: the connection settings and the performance settings behind them.

Every SQLite connection gets WAL mode, ``synchronous=FULL``, foreign keys and
a 30 s busy timeout (these are correctness, not tuning). The rest is tuning,
each part with a setting of :class:`~ngshare.config.NgShare` that turns it
off (docs/performance.md): the page size of new databases, the page cache
per connection, and where the write-ahead log is checkpointed
(:mod:`ngshare.db.wal`). Group commit (:mod:`ngshare.db.group_commit`) is
chosen by :class:`~ngshare.db.Database` from the same settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine

from ngshare.db.wal import backstop_pages

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


@dataclass(frozen=True)
class SqliteSettings:
    """The SQLite performance mechanisms, each of which can be turned off.

    :arg group_commit: commit the transactions queued together at once
        (:mod:`ngshare.db.group_commit`); off: one commit per transaction.
    :arg checkpoint_thread: checkpoint the write-ahead log on a thread of its
        own (:mod:`ngshare.db.wal`); off: SQLite checkpoints inside the commit
        that crosses its default mark (1000 pages).
    :arg page_bytes: page size of new databases; 0: SQLite's default (4096).
    :arg cache_kib: page cache per connection in KiB; 0: SQLite's default (2000).
    """

    group_commit: bool = True
    checkpoint_thread: bool = True
    page_bytes: int = SQLITE_PAGE_BYTES
    cache_kib: int = SQLITE_CACHE_KIB


def create_sqlite_engine(
    url: str,
    settings: SqliteSettings,
    *,
    checkpointed: bool,
    echo: bool = False,
    execution_options: dict[str, Any] | None = None,
) -> Engine:
    """An engine whose connections get the pragmas of ``settings``.

    :arg checkpointed: a :class:`~ngshare.db.wal.WalCheckpointer` runs beside
        it, so SQLite's own checkpoint is moved up to a backstop mark.
    """
    engine = create_engine(
        url,
        echo=echo,
        connect_args={"check_same_thread": False, "timeout": 30},
        hide_parameters=True,  # errors and logs never show bound values (tokens)
        execution_options=execution_options or {},
    )

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_conn, _record):
        cur = dbapi_conn.cursor()
        if settings.page_bytes:
            cur.execute(f"PRAGMA page_size={int(settings.page_bytes)}")  # a new database only
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        if settings.cache_kib:
            cur.execute(f"PRAGMA cache_size=-{int(settings.cache_kib)}")
        if checkpointed:
            page_size = cur.execute("PRAGMA page_size").fetchone()[0]
            cur.execute(f"PRAGMA wal_autocheckpoint={backstop_pages(page_size)}")
        cur.close()

    return engine


def is_sqlite_file(url: str) -> bool:
    """A SQLite database in a file (in-memory ones have no write-ahead log)."""
    return url.startswith("sqlite") and url != "sqlite://" and ":memory:" not in url
