"""Where the blob store keeps blobs that are files: a folder, or an S3-compatible bucket.

:class:`~ngshare.storage.BlobStore` stages every upload in ``<root>/tmp`` on
the local disk and hands the staged files to its backend at commit; the
backend makes them durable under their digest before the rows that refer to
them are committed. Small blobs kept in the database are no backend's
business. Two backends::

    FilesystemBackend(root)        # <root>/ab/cdef…: renamed into place, folder fsynced
    S3Backend(bucket, prefix=...)  # <prefix>ab/cdef…: PUT, see ngshare.storage_s3

Every method blocks (call them from a worker thread). A backend names its
blobs ``ab/cdef…`` (relative to its root or prefix) in reports.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Iterator
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from tornado.web import HTTPError

if TYPE_CHECKING:
    from ngshare.storage import StagedBlob

_HEX = frozenset("0123456789abcdef")


class StorageError(HTTPError):
    """The blob storage failed (unreachable, bucket missing, access denied).

    An HTTP error, so that any feature set's handler answers it with a JSON
    error in its own envelope: ``message`` is what the client sees; the
    backend's own text (``detail``) goes only to the log.
    """

    def __init__(self, status: int, message: str, detail: str = "") -> None:
        super().__init__(status, detail or message, reason=message)
        self.message = message

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class StoredFile:
    """One entry of a backend's listing: ``name`` is ``ab/cdef…`` for a blob."""

    name: str
    mtime: float  # last stored (time.time() scale)

    @property
    def digest(self) -> str | None:
        """The blob's sha256, or None if the name is no blob's (a stray file)."""
        shard, slash, rest = self.name.partition("/")
        digest = shard + rest
        if slash and len(shard) == 2 and len(digest) == 64 and _HEX.issuperset(digest):
            return digest
        return None


def blob_name(sha256: str) -> str:
    """``ab/cdef…``: the name of a blob in any backend (the digest's form checked)."""
    if len(sha256) != 64 or not _HEX.issuperset(sha256):
        raise ValueError(f"not a sha256 digest: {sha256!r}")
    return sha256[:2] + "/" + sha256[2:]


class FileBackend(ABC):
    """Durable, content-addressed storage of the blobs that are files."""

    #: Does a staged temp file need an fsync? (Not when commit copies it elsewhere.)
    stage_fsync: bool = True
    #: Is a read cheap enough to try before the database? (A round trip to an object store is not.)
    local: bool = True

    @abstractmethod
    def commit(self, staged: list[StagedBlob], pool: Executor | None) -> None:
        """Store staged temp files under their digests and remove the temp files.

        Content already stored is kept, its modification time refreshed
        (garbage collection spares young blobs). ``pool``: threads on which
        the blobs may be stored side by side, when the caller is alone.
        """

    @abstractmethod
    def open(self, sha256: str) -> BinaryIO:
        """The blob for binary reading; :class:`FileNotFoundError` if it is not stored."""

    @abstractmethod
    def exists(self, sha256: str) -> bool: ...

    @abstractmethod
    def scan(self) -> Iterator[StoredFile]:
        """Every stored file, blob or not, with its modification time."""

    @abstractmethod
    def remove_if_older(self, name: str, cutoff: float) -> bool:
        """Remove the file ``name`` unless stored at ``cutoff`` or later; True if it is gone."""

    @abstractmethod
    def remove(self, sha256: str) -> None:
        """Remove the blob whatever its age (a corrupt copy)."""

    def describe(self) -> str:
        """Where the blobs are, for logs and reports."""
        return type(self).__name__

    def close(self) -> None:  # noqa: B027 - most backends hold nothing to release
        """Release connections."""


class FilesystemBackend(FileBackend):
    """Blobs in ``<root>/ab/cdef…``: a temp file renamed into place, its folder fsynced.

    Several replicas need ``root`` on one shared filesystem (NFS, CephFS…)
    that keeps ``rename`` atomic; see docs/deployment.md.
    """

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self._shards: set[str] = set()  # shard folders known to exist (saves a mkdir each)

    def describe(self) -> str:
        return f"filesystem {self.root}"

    def path_for(self, sha256: str) -> Path:
        return self.root / blob_name(sha256)

    def commit(self, staged: list[StagedBlob], pool: Executor | None) -> None:
        touched_dirs = set()
        for blob in staged:
            assert blob.temp_path is not None
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
        if len(touched_dirs) > 1 and pool is not None:
            for done in [pool.submit(_fsync_dir, d) for d in touched_dirs]:
                done.result()
        else:
            for d in touched_dirs:
                _fsync_dir(d)

    def open(self, sha256: str) -> BinaryIO:
        return open(self.path_for(sha256), "rb")  # noqa: SIM115 - the caller closes it

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).exists()

    def scan(self) -> Iterator[StoredFile]:
        try:
            shards = list(os.scandir(self.root))
        except FileNotFoundError:
            return
        for shard in shards:
            if len(shard.name) != 2 or not shard.is_dir(follow_symlinks=False):
                continue
            for entry in os.scandir(shard.path):
                try:
                    if entry.is_file(follow_symlinks=False):
                        mtime = entry.stat(follow_symlinks=False).st_mtime
                        yield StoredFile(f"{shard.name}/{entry.name}", mtime)
                except FileNotFoundError:
                    continue

    def remove_if_older(self, name: str, cutoff: float) -> bool:
        return unlink_if_older(self.root / name, cutoff)

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


def unlink_if_older(path: Path, cutoff: float) -> bool:
    """Remove ``path`` if it is still older than ``cutoff`` (a Unix time); True if it is gone."""
    try:
        if path.stat().st_mtime >= cutoff:
            return False
        path.unlink()
    except FileNotFoundError:
        pass
    return True
