"""Sizes and uptime the admin console shows: the database, the blob store, the process.

Plain reads: nothing here changes state. The storage walk runs on a worker
thread (``ctx.run_blocking``) and is remembered for a minute, so a reloaded
console does not walk a large store again.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

#: How long a storage walk is reused.
STORAGE_WALK_CACHE_SECONDS = 60.0


@dataclass
class ServerStart:
    """When this process's application was built (kept on the context)."""

    wall: float = field(default_factory=time.time)
    monotonic: float = field(default_factory=time.monotonic)

    def uptime_seconds(self) -> float:
        return time.monotonic() - self.monotonic


def database_size_bytes(session: Session) -> int:
    """SQLite: the file's pages; PostgreSQL: the tables and indexes of this schema."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        pages = session.execute(sa.text("PRAGMA page_count")).scalar_one()
        size = session.execute(sa.text("PRAGMA page_size")).scalar_one()
        return int(pages) * int(size)
    if dialect == "postgresql":
        return int(
            session.execute(
                sa.text(
                    "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c"
                    " WHERE c.relnamespace = current_schema()::regnamespace"
                    " AND c.relkind IN ('r', 'm')"
                )
            ).scalar_one()
        )
    return 0


def folder_size_bytes(root: Path) -> tuple[int, int]:
    """``(bytes, files)`` under ``root`` (blocking: call it on a worker thread)."""
    total = files = 0
    for folder, _dirs, names in os.walk(root):
        for name in names:
            try:
                total += os.stat(os.path.join(folder, name)).st_size
                files += 1
            except OSError:  # removed while walking
                continue
    return total, files


@dataclass
class StorageSizeCache:
    """The last storage walk, reused for :data:`STORAGE_WALK_CACHE_SECONDS`."""

    value: tuple[int, int] | None = None
    at: float = 0.0

    def fresh(self) -> tuple[int, int] | None:
        if self.value is not None and time.monotonic() - self.at < STORAGE_WALK_CACHE_SECONDS:
            return self.value
        return None

    def keep(self, value: tuple[int, int]) -> tuple[int, int]:
        self.value, self.at = value, time.monotonic()
        return value


def human_bytes(n: float) -> str:
    """``1536`` -> ``"1.5 KiB"``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def human_duration(seconds: float) -> str:
    """``93784`` -> ``"1 d 2 h 3 min"``."""
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h {minutes} min"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"
