"""Content-addressed blob store shared by the core and plugins.

Every file is stored once under its sha256 (``<root>/ab/cdef…``). Writing is
two-phase so that a rejected request leaves nothing behind and an accepted one
is durable before any database row points at it::

    staged = store.stage(data)     # temp file in <root>/tmp, fsynced
    store.commit([staged])         # renamed into place, directory fsynced
    # ... only now write the rows that reference staged.sha256

A staged blob that is never committed is removed with :meth:`BlobStore.discard`.
All methods block: call them from a worker thread (``run_in_executor``).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

#: Threads that only wait in ``fsync``: the folders touched by one commit are
#: synced at the same time (the journal commits once for several of them).
_FSYNC_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="ngshare-fsync")


@dataclass
class StagedBlob:
    """A blob written to a private temp file, not yet visible in the store."""

    temp_path: str
    sha256: str
    md5: str
    size: int


class BlobStore:
    """sha256-addressed files with atomic writes and de-duplication."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self.tmp = self.root / "tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)
        self._shards: set[str] = set()  # shard folders known to exist (saves a mkdir each)
        self._writers = 0  # uploads being staged or committed (see :meth:`alone`)
        self._writers_lock = threading.Lock()

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
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a sha256 digest: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:]

    def stage(self, data: bytes | memoryview) -> StagedBlob:
        """Write ``data`` to a temp file, fsync it and compute its digests."""
        fd, temp_path = tempfile.mkstemp(dir=self.tmp, prefix="blob-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        except BaseException:
            _unlink_quietly(temp_path)
            raise
        return StagedBlob(
            temp_path=temp_path,
            sha256=hashlib.sha256(data).hexdigest(),
            md5=hashlib.md5(data, usedforsecurity=False).hexdigest(),
            size=len(data),
        )

    def stage_stream(self, chunks: Iterable[bytes]) -> StagedBlob:
        """Like :meth:`stage`, for content that arrives in pieces (hashed as it goes)."""
        sha256 = hashlib.sha256()
        md5 = hashlib.md5(usedforsecurity=False)
        size = 0
        fd, temp_path = tempfile.mkstemp(dir=self.tmp, prefix="blob-")
        try:
            with os.fdopen(fd, "wb") as f:
                for chunk in chunks:
                    f.write(chunk)
                    sha256.update(chunk)
                    md5.update(chunk)
                    size += len(chunk)
                f.flush()
                os.fsync(f.fileno())
        except BaseException:
            _unlink_quietly(temp_path)
            raise
        return StagedBlob(temp_path, sha256.hexdigest(), md5.hexdigest(), size)

    def commit(self, staged: list[StagedBlob]) -> None:
        """Move staged blobs into place; identical content already stored is kept."""
        with self.writing():
            self._commit(staged)

    def _commit(self, staged: list[StagedBlob]) -> None:
        touched_dirs = set()
        for blob in staged:
            final = self.path_for(blob.sha256)
            if final.exists():
                _unlink_quietly(blob.temp_path)
                # fresh mtime: garbage collection spares blobs younger than its
                # grace period, and this one is about to be referenced again
                os.utime(final)
                continue
            if blob.sha256[:2] not in self._shards:
                final.parent.mkdir(exist_ok=True)
                self._shards.add(blob.sha256[:2])
            try:
                os.replace(blob.temp_path, final)
            except FileNotFoundError:  # the shard folder was removed behind our back
                final.parent.mkdir(exist_ok=True)
                os.replace(blob.temp_path, final)
            touched_dirs.add(final.parent)
        if len(touched_dirs) > 1 and self.alone():
            for done in [_FSYNC_POOL.submit(_fsync_dir, d) for d in touched_dirs]:
                done.result()
        else:
            for d in touched_dirs:
                _fsync_dir(d)

    def discard(self, staged: list[StagedBlob]) -> None:
        """Remove staged blobs of a request that was refused (committed ones are gone already)."""
        for blob in staged:
            _unlink_quietly(blob.temp_path)

    def put(self, data: bytes) -> StagedBlob:
        """Stage and commit in one step (for callers with a single blob)."""
        blob = self.stage(data)
        self.commit([blob])
        return blob

    def open(self, sha256: str) -> BinaryIO:
        """The blob as a file opened for binary reading (the caller closes it)."""
        return open(self.path_for(sha256), "rb")  # noqa: SIM115

    def read(self, sha256: str) -> bytes:
        with open(self.path_for(sha256), "rb") as f:
            return f.read()

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).exists()

    def all_digests(self) -> set[str]:
        """Every digest in the store (for garbage collection)."""
        out = set()
        for sub in self.root.iterdir():
            if len(sub.name) == 2 and sub.is_dir():
                out.update(sub.name + p.name for p in sub.iterdir())
        return out

    def remove(self, sha256: str) -> None:
        _unlink_quietly(self.path_for(sha256))


def _unlink_quietly(path: str | os.PathLike) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
