"""Content-addressed blob store shared by the core and plugins.

Every file is stored once under its sha256 (``<root>/ab/cdef…``). Writing is
two-phase so that a rejected request leaves nothing behind and an accepted one
is durable before any database row points at it::

    staged = store.stage(data)     # temp file in <root>/tmp, fsynced
    store.commit([staged])         # renamed into place, directory fsynced
    # ... only now write the rows that reference staged.sha256

A staged blob that is never committed is removed with :meth:`BlobStore.discard`.
Temp files a crash left in ``<root>/tmp`` (staged blobs, spooled request bodies)
are swept when a store is opened, once they are ``TEMP_GRACE_SECONDS`` old
(see :meth:`BlobStore.sweep_temp`).

Small blobs (up to ``inline_bytes``) can live in the database instead (table
``blobs``): staged in memory, they are inserted by
``commit(staged, connection)`` in the transaction of the rows that refer to
them, so the transaction's own commit makes them durable. That saves a file
creation and two fsync rounds per file, which dominate a small upload (see
docs/contributor/decisions.md, 23). There they are stored LZ4-packed when that
saves at least a third (HTML feedback: ~3.7x): SQLite writes every byte
twice (log, then database file), and packing costs ~1 ms per MB, unpacking
less. Readers do not need to know where a blob lives, or how.

Blobs that are files live in the store's backend (``NgShare.storage_backend``,
see :mod:`ngshare.storage_backend`): the folder itself, or an S3-compatible
bucket (:mod:`ngshare.storage_s3`). Staging is local either way; ``commit``
makes the blobs durable in the backend before it returns.
All methods block: call them from a worker thread (``run_in_executor``).
"""

from __future__ import annotations

import functools
import hashlib
import io
import itertools
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO, TypeVar

import lz4.block
import lz4.frame
from sqlalchemy import Connection, Engine, bindparam, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ngshare.db.driver_sql import DriverStatement
from ngshare.models import InlineBlob, utcnow
from ngshare.storage_backend import FileBackend, FilesystemBackend, blob_name

T = TypeVar("T")

#: :meth:`BlobStore.read_small_in`'s statement, per DB-API parameter style.
_SMALL_SQL = "SELECT sha256, content, codec FROM blobs WHERE sha256 IN ({})"
R = TypeVar("R")

#: Threads that only wait in ``fsync``: the folders touched by one commit are
#: synced at the same time (the journal commits once for several of them).
FSYNC_THREADS = 4
#: Threads computing the md5 of small blobs, and packing them, while the
#: request goes on (see ``BlobStore._hold``).
ASIDE_THREADS = 2
#: Threads staging the files of an upload side by side (see ``BlobStore.map_side_by_side``).
STAGE_THREADS = 3
#: An inline blob stored again gets a fresh ``touched_at`` (for garbage
#: collection) only when its mark is older than this: the row is not
#: rewritten on every duplicate upload.
TOUCH_INTERVAL = timedelta(hours=1)
#: A temp file (``<root>/tmp``: staged blobs, spooled bodies) not modified for
#: this long belongs to no request in progress: a request writes its temp
#: files and renames or drops them within seconds, and a body still arriving
#: touches its spool file with every chunk. Another server sharing the folder
#: (a second replica) keeps its in-flight files younger than this.
TEMP_GRACE_SECONDS = 600.0
#: Dialects whose ``INSERT .. ON CONFLICT`` the inline tier uses.
_INLINE_DIALECTS = {"sqlite": sqlite_insert, "postgresql": pg_insert}
_BLOBS = InlineBlob.__table__


#: Blobs kept in the database are packed only from this size on...
PACK_MIN_BYTES = 4096
#: ...and stored packed only when that saves at least this fraction of them
#: (packing costs ~0.9 ms per MB here; each byte saved is written twice less)...
PACK_MIN_SAVING = 1 / 3
#: ...which their first bytes predict well: content whose first 16 KiB do not
#: pack that well is not packed at all (10 µs instead of ~90 µs for 200 KB).
PACK_PROBE_BYTES = 16384
#: ``blobs.codec`` of an LZ4 frame (NULL: stored as is).
CODEC_LZ4 = "lz4"


@dataclass
class StagedBlob:
    """A blob staged but not yet visible in the store.

    Either written to a private temp file (``temp_path``) or, if small, held
    in memory (``data``) until it is committed into the database, along with
    its packed form if that pays (``packing``). Its md5 and packed form may
    still be computing (futures); :attr:`md5` and :attr:`packed` wait for them.
    """

    temp_path: str | None
    sha256: str
    md5_digest: str | Future[str]
    size: int
    data: bytes | None = None
    packing: bytes | None | Future[bytes | None] = None
    #: Already in a remote backend (:meth:`BlobStore.store_ahead`): commit has nothing to do.
    stored: bool = False

    @property
    def md5(self) -> str:
        """The md5 hex digest (what clients see as the file's checksum)."""
        if not isinstance(self.md5_digest, str):
            self.md5_digest = self.md5_digest.result()
        return self.md5_digest

    @property
    def packed(self) -> bytes | None:
        """The held content as an LZ4 frame, or None where packing does not pay."""
        if isinstance(self.packing, Future):
            self.packing = self.packing.result()
        return self.packing


class BlobStore:
    """sha256-addressed files with atomic writes and de-duplication.

    :arg engine: the database holding small blobs; without it (or with
        ``inline_bytes=0``) every blob is a file.
    :arg inline_bytes: blobs up to this size are kept in the database.
    :arg temp_grace_seconds: temp files older than this are swept now, and the
        rest of those left from before this store was opened once they reach
        that age (:meth:`sweep_temp`); ``None``: no sweeping.
    :arg backend: where blobs that are files are kept (default: the folder
        ``root``, see :mod:`ngshare.storage_backend`); temp files are always
        in ``<root>/tmp``.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        engine: Engine | None = None,
        inline_bytes: int = 0,
        temp_grace_seconds: float | None = TEMP_GRACE_SECONDS,
        *,
        packing: bool = True,
        threads: bool = True,
        backend: FileBackend | None = None,
    ) -> None:
        self.root = Path(root)
        self.files = backend if backend is not None else FilesystemBackend(self.root)
        self.opened_at = time.time()
        self.packing = packing  # NgShare.blob_packing_enabled
        self.threads = threads  # NgShare.blob_threads_enabled
        usable = engine is not None and _inline_capable(engine)
        self.engine = engine if usable else None
        self.inline_bytes = max(0, inline_bytes) if usable else 0
        self.tmp = self.root / "tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)
        self._writers = 0  # uploads being staged or committed (see :meth:`alone`)
        self._writers_lock = threading.Lock()
        # the store's own threads (separate from its callers' pools, which they would deadlock)
        self._fsync_pool = ThreadPoolExecutor(FSYNC_THREADS, thread_name_prefix="ngshare-fsync")
        self._aside_pool = ThreadPoolExecutor(ASIDE_THREADS, thread_name_prefix="ngshare-aside")
        self._stage_pool = ThreadPoolExecutor(STAGE_THREADS, thread_name_prefix="ngshare-stage")
        self._sweeper: threading.Timer | None = None
        if temp_grace_seconds is not None:
            self._sweep_at_open(temp_grace_seconds)

    def _sweep_at_open(self, grace: float) -> None:
        """Remove the temp files a crash left; come back for the younger ones later.

        Files older than ``grace`` go now. Those left from before the store was
        opened but younger (a restart right after a crash) go once they reach
        that age, by a one-off timer thread; files created after the opening
        (ours, or a replica's) are never its business.
        """
        _, left = self.sweep_temp(self.opened_at - grace)
        if left:
            delay = max(0.0, min(left) + grace - time.time()) + 1.0
            self._sweeper = threading.Timer(delay, self._sweep_left_before_opening, (grace,))
            self._sweeper.daemon = True
            self._sweeper.name = "ngshare-temp-sweep"
            self._sweeper.start()

    def _sweep_left_before_opening(self, grace: float) -> None:
        self.sweep_temp(min(self.opened_at, time.time() - grace))

    def sweep_temp(self, cutoff: float) -> tuple[list[str], list[float]]:
        """Remove temp files last modified before ``cutoff`` (a time.time() value).

        Returns the names removed, and the modification times of the temp files
        kept that were there before the store was opened. Every file in
        ``<root>/tmp`` is a temp file: staged blobs (``blob-*``) and spooled
        request bodies (``ngshare-body-*``, when the platform gives them a
        name). A file renamed into place or removed meanwhile is skipped.
        """
        removed: list[str] = []
        older_kept: list[float] = []
        try:
            entries = list(os.scandir(self.tmp))
        except FileNotFoundError:
            return removed, older_kept
        for entry in entries:
            try:
                if not entry.is_file(follow_symlinks=False):
                    continue
                mtime = entry.stat(follow_symlinks=False).st_mtime
                if mtime < cutoff:
                    os.unlink(entry.path)
                    removed.append(entry.name)
                elif mtime < self.opened_at:
                    older_kept.append(mtime)
            except FileNotFoundError:
                continue
        return removed, older_kept

    def close(self) -> None:
        """Let work in progress finish, then end the store's threads."""
        if self._sweeper is not None:
            self._sweeper.cancel()
        for pool in (self._stage_pool, self._aside_pool, self._fsync_pool):
            pool.shutdown(wait=True)
        self.files.close()

    def map_side_by_side(self, fn: Callable[[T], R], items: list[T]) -> list[R]:
        """``[fn(item) for item in items]``, side by side on the store's threads when it pays.

        That is when the caller's upload is the only one in progress
        (:meth:`alone`): hashing, writing and fsync release the GIL, so one
        file's wait overlaps another's work. Otherwise the items are done in
        order, on the caller's thread.
        """
        if len(items) <= 1 or not self.threads or not self.alone():
            return [fn(item) for item in items]
        return list(self._stage_pool.map(fn, items))

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Count one upload's staging or commit as in progress (see :meth:`alone`)."""
        with self._writers_lock:
            self._writers += 1
        try:
            yield
        finally:
            with self._writers_lock:
                self._writers -= 1

    def alone(self) -> bool:
        """Is the caller's the only upload in progress?

        Then its files are best written and fsynced side by side: the fsync
        waits overlap. When other uploads are in progress, they already keep
        the cores busy, and the hand-offs between threads only cost (measured:
        32 concurrent submits ran ~15 % faster without them; one at a time, ~7 %
        slower).
        """
        return self._writers <= 1

    def path_for(self, sha256: str) -> Path:
        """Where the filesystem backend keeps the blob (the digest's form checked)."""
        return self.root / blob_name(sha256)

    def stages_in_memory(self, size: int) -> bool:
        """Would :meth:`stage` hold ``size`` bytes in memory (no file written)?"""
        return bool(self.inline_bytes) and size <= self.inline_bytes

    def stage(self, data: bytes | memoryview) -> StagedBlob:
        """Compute ``data``'s digests; write it to a temp file and fsync it unless it is small."""
        if self.stages_in_memory(len(data)):
            return self._hold(bytes(data))
        return self._stage_file(data)

    def _hold(self, data: bytes) -> StagedBlob:
        """A small blob staged in memory (see :meth:`commit`).

        Its md5 and packed form are needed only when the file's row is
        written. For an upload that is alone in progress they are computed on
        other cores meanwhile (the md5 was two thirds of the hashing, which
        was a fifth of a sequential feedback upload); with others in progress
        the cores are busy, and they are computed at once.
        """
        aside = self.threads and self.alone()
        pack = _pack if self.packing else _no_packing
        return StagedBlob(
            temp_path=None,
            sha256=hashlib.sha256(data).hexdigest(),
            md5_digest=self._aside_pool.submit(_md5_hex, data) if aside else _md5_hex(data),
            size=len(data),
            data=data,
            packing=self._aside_pool.submit(pack, data) if aside else pack(data),
        )

    def _stage_file(self, data: bytes | memoryview) -> StagedBlob:
        fd, temp_path = tempfile.mkstemp(dir=self.tmp, prefix="blob-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                if self.files.stage_fsync:
                    f.flush()
                    os.fsync(f.fileno())
        except BaseException:
            _unlink_quietly(temp_path)
            raise
        return StagedBlob(
            temp_path=temp_path,
            sha256=hashlib.sha256(data).hexdigest(),
            md5_digest=_md5_hex(data),
            size=len(data),
        )

    def stage_stream(self, chunks: Iterable[bytes]) -> StagedBlob:
        """Like :meth:`stage`, for content that arrives in pieces (hashed as it goes).

        Pieces are held in memory while they total at most ``inline_bytes``;
        content that stays that small is staged in memory.
        """
        pieces = iter(chunks)
        held: list[bytes] = []
        held_bytes = 0
        if self.inline_bytes:
            for chunk in pieces:
                held.append(chunk)
                held_bytes += len(chunk)
                if held_bytes > self.inline_bytes:
                    break
            else:
                return self._hold(held[0] if len(held) == 1 else b"".join(held))
        sha256 = hashlib.sha256()
        md5 = hashlib.md5(usedforsecurity=False)
        size = 0
        fd, temp_path = tempfile.mkstemp(dir=self.tmp, prefix="blob-")
        try:
            with os.fdopen(fd, "wb") as f:
                for chunk in itertools.chain(held, pieces):
                    f.write(chunk)
                    sha256.update(chunk)
                    md5.update(chunk)
                    size += len(chunk)
                if self.files.stage_fsync:
                    f.flush()
                    os.fsync(f.fileno())
        except BaseException:
            _unlink_quietly(temp_path)
            raise
        return StagedBlob(temp_path, sha256.hexdigest(), md5.hexdigest(), size)

    def commit(self, staged: list[StagedBlob], connection: Connection | None = None) -> None:
        """Move staged blobs into place; identical content already stored is kept.

        Blobs held in memory are inserted through ``connection``, in the
        caller's transaction; without one they are written as files.
        """
        staged = [b for b in staged if not b.stored]
        held = [b for b in staged if b.temp_path is None]
        if held and connection is None:
            staged = [self._stage_file(b.data) if b.temp_path is None else b for b in staged]
            held = []
        files = [b for b in staged if b.temp_path is not None]
        if files:
            with self.writing():
                self._commit(files)
        if held:
            self._insert_held(connection, held)

    def store_ahead(self, staged: list[StagedBlob]) -> None:
        """With a remote backend, store the staged files now, before the caller's transaction.

        The upload is then durable before its rows are written, as with
        :meth:`commit`, but no database connection (SQLite's single writer
        thread, a PostgreSQL connection) waits on the object store meanwhile.
        If the rows are then refused, the objects stay unreferenced until
        garbage collection. Blobs held in memory stay for :meth:`commit`; with
        a local backend nothing is done (its commit is a rename, cheap inside
        the transaction, and leaves no garbage behind a refusal).
        """
        if self.files.local:
            return
        files = [b for b in staged if b.temp_path is not None and not b.stored]
        if files:
            with self.writing():
                self._commit(files)
            for b in files:
                b.temp_path = None
                b.stored = True

    def _insert_held(self, connection: Connection, held: list[StagedBlob]) -> None:
        now = utcnow()
        stale = now - TOUCH_INTERVAL
        rows = {}
        for b in held:
            packed = b.packed
            rows[b.sha256] = {
                "sha256": b.sha256,
                "content": b.data if packed is None else packed,
                "codec": None if packed is None else CODEC_LZ4,
                "touched_at": now,
                "stale": stale,
            }
        _insert_statement(connection.dialect.name).run_many(connection, list(rows.values()))

    def _commit(self, staged: list[StagedBlob]) -> None:
        self.files.commit(staged, self._fsync_pool if self.alone() else None)

    def discard(self, staged: list[StagedBlob]) -> None:
        """Remove staged blobs of a request that was refused (committed ones are gone already)."""
        for blob in staged:
            if blob.temp_path is not None:
                _unlink_quietly(blob.temp_path)

    def put(self, data: bytes) -> StagedBlob:
        """Stage and commit in one step (for callers with a single blob)."""
        blob = self.stage(data)
        self.commit([blob])
        return blob

    def open(self, sha256: str) -> BinaryIO:
        """The blob as a file opened for binary reading (the caller closes it).

        A local backend is tried first (most blobs read this way are files);
        a remote one only after the database, which saves a round trip to
        the object store for small blobs.
        """
        blob_name(sha256)  # the digest's form checked before any lookup
        if not self.files.local:
            data = self.read_small([sha256]).get(sha256)
            if data is not None:
                return io.BytesIO(data)
            return self.files.open(sha256)
        try:
            return self.files.open(sha256)
        except FileNotFoundError:
            data = self.read_small([sha256]).get(sha256)
            if data is None:
                raise
            return io.BytesIO(data)

    def read(self, sha256: str) -> bytes:
        with self.open(sha256) as f:
            return f.read()

    def exists(self, sha256: str) -> bool:
        if self.files.local:
            return self.files.exists(sha256) or sha256 in self.read_small([sha256])
        return sha256 in self.read_small([sha256]) or self.files.exists(sha256)

    def all_digests(self) -> set[str]:
        """Every digest in the store, in files or in the database."""
        out = self.file_digests()
        if self.engine is not None:
            with self.engine.connect() as conn:
                out.update(conn.scalars(select(_BLOBS.c.sha256)))
        return out

    def file_digests(self) -> set[str]:
        """Digests of the blobs kept as files (for garbage collection)."""
        return {f.digest for f in self.files.scan() if f.digest is not None}

    def remove(self, sha256: str) -> None:
        """Remove the blob's file (those in the database go by :meth:`remove_untouched_since`)."""
        self.files.remove(sha256)

    def remove_untouched_since(self, cutoff: datetime, keep: set[str]) -> int:
        """Delete blobs kept in the database, not in ``keep``, untouched since ``cutoff``.

        The age is checked again by the DELETE itself, so a blob stored again
        meanwhile (fresh ``touched_at``) stays. Returns how many went.
        """
        if self.engine is None:
            return 0
        with self.engine.connect() as conn:
            old = set(conn.scalars(select(_BLOBS.c.sha256).where(_BLOBS.c.touched_at < cutoff)))
        doomed = sorted(old - keep)
        removed = 0
        for i in range(0, len(doomed), 500):
            with self.engine.begin() as conn:
                removed += conn.execute(
                    delete(_BLOBS).where(
                        _BLOBS.c.sha256.in_(doomed[i : i + 500]), _BLOBS.c.touched_at < cutoff
                    )
                ).rowcount
        return removed

    def read_small_in(self, session: Session, digests: list[str]) -> dict[str, bytes]:
        """Contents of those of ``digests`` kept in the database, on ``session``'s transaction.

        For a reader that found ``digests`` in that transaction: no second
        transaction (a BEGIN, a pool check-out and an end, each a round trip on
        PostgreSQL). On psycopg the contents come back in binary, not as hex text.
        """
        if not digests:
            return {}
        connection = session.connection()
        dialect = connection.dialect
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        sql = _SMALL_SQL.format(",".join([mark] * len(digests)))
        if dialect.driver == "psycopg":  # bytea as bytes on the wire
            cursor = connection.connection.driver_connection.cursor(binary=True)
        else:
            cursor = connection.connection.cursor()
        try:
            cursor.execute(sql, list(digests))
            rows = cursor.fetchall()
        finally:
            cursor.close()
        return {digest: _unpack(content, codec) for digest, content, codec in rows}

    def read_small(self, digests: list[str]) -> dict[str, bytes]:
        """Contents of those of ``digests`` kept in the database, in one query.

        A download of several small files reads them all at once; :meth:`open`
        and :meth:`exists` use it for a blob that is not a file.
        """
        if self.engine is None or not digests:
            return {}
        for digest in digests:
            blob_name(digest)  # the same check of the digest's form
        # the driver directly: SQLAlchemy's per-statement work costs more than
        # the query here (one per download of small files)
        mark = "?" if self.engine.dialect.paramstyle == "qmark" else "%s"
        marks = ",".join([mark] * len(digests))
        sql = f"SELECT sha256, content, codec FROM blobs WHERE sha256 IN ({marks})"
        conn = self.engine.raw_connection()
        try:
            cursor = conn.cursor()
            cursor.execute(sql, list(digests))
            rows = cursor.fetchall()
            cursor.close()
        finally:
            conn.close()
        return {digest: _unpack(content, codec) for digest, content, codec in rows}


def _md5_hex(data: bytes | memoryview) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _no_packing(data: bytes) -> None:
    """Stored as is (``NgShare.blob_packing_enabled`` off)."""
    return None


def _pack(data: bytes) -> bytes | None:
    """``data`` as an LZ4 frame, if that is at least ``PACK_MIN_SAVING`` smaller."""
    if len(data) < PACK_MIN_BYTES:
        return None
    if len(data) > 2 * PACK_PROBE_BYTES:
        probe = lz4.block.compress(memoryview(data)[:PACK_PROBE_BYTES], store_size=False)
        if len(probe) > PACK_PROBE_BYTES * (1 - PACK_MIN_SAVING):
            return None
    packed = lz4.frame.compress(data)
    return packed if len(packed) <= len(data) * (1 - PACK_MIN_SAVING) else None


def _unpack(content: bytes | memoryview, codec: str | None) -> bytes:
    """A ``blobs`` row's content as stored by :func:`_pack` (or as is)."""
    if codec is None:
        return bytes(content)
    if codec == CODEC_LZ4:
        return lz4.frame.decompress(content)
    raise ValueError(f"unknown blob codec {codec!r}")


@functools.cache
def _insert_statement(dialect: str) -> DriverStatement:
    """Insert blobs, or refresh ``touched_at`` of stored ones older than ``:stale`` (built once)."""
    insert = _INLINE_DIALECTS[dialect](_BLOBS)
    upsert = insert.on_conflict_do_update(
        index_elements=["sha256"],
        set_={"touched_at": insert.excluded.touched_at},
        where=_BLOBS.c.touched_at < bindparam("stale"),
    )
    return DriverStatement(upsert, column_keys=["sha256", "content", "codec", "touched_at"])


def _inline_capable(engine: Engine) -> bool:
    """Can this database keep blobs? (A known dialect, shared by every thread.)"""
    if engine.dialect.name not in _INLINE_DIALECTS:
        return False
    database = engine.url.database
    return engine.dialect.name != "sqlite" or bool(database) and database != ":memory:"


def _unlink_quietly(path: str | os.PathLike) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
