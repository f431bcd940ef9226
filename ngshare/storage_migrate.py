"""``ngshare storage migrate --from filesystem --to s3`` (or back): copy every blob file.

Each blob is read from the source in pieces into a local temp file while it is
hashed; a blob whose content does not hash to its name is not copied (it is
reported, and the exit status is 1). A good one is committed to the target the
way an upload is (durable when the commit returns). Blobs the target already
holds are skipped, so the command is idempotent, and resumable after an
interruption: run it again. The source is left as it is; small blobs kept in
the database belong to neither backend and stay where they are.

Safe beside a running server that still uses the source: blobs uploaded
meanwhile are copied by a second run, made once the servers use the target
(see docs/deployment.md, "Moving the blobs").
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

from ngshare.storage import StagedBlob
from ngshare.storage_backend import FileBackend

if TYPE_CHECKING:
    from pathlib import Path

#: Blobs copied side by side (each is network or disk bound).
COPY_THREADS = 4
#: Bytes read from the source per step.
PIECE_BYTES = 1 << 20
#: A progress line at most this often (seconds), and at the end.
PROGRESS_EVERY = 2.0


@dataclass
class MigrationReport:
    """What a migration did: blobs seen, copied, already there, refused as corrupt."""

    total: int = 0
    copied: int = 0
    present: int = 0
    bytes_copied: int = 0
    corrupt: list[str] = field(default_factory=list)
    vanished: list[str] = field(default_factory=list)

    @property
    def done(self) -> int:
        return self.copied + self.present + len(self.corrupt) + len(self.vanished)


def migrate(
    source: FileBackend,
    target: FileBackend,
    tmp: Path,
    out: TextIO = sys.stderr,
    threads: int = COPY_THREADS,
) -> MigrationReport:
    """Copy every blob of ``source`` that ``target`` lacks, verifying its sha256 (blocking)."""
    digests = sorted({f.digest for f in source.scan() if f.digest is not None})
    report = MigrationReport(total=len(digests))
    print(f"migrate: {report.total} blob(s) in {source.describe()}", file=out)
    last = time.monotonic()

    def one(digest: str) -> tuple[str, str, int]:
        if target.exists(digest):
            return digest, "present", 0
        return (digest, *_copy(source, target, digest, tmp))

    with ThreadPoolExecutor(max(1, threads), thread_name_prefix="ngshare-migrate") as pool:
        for digest, outcome, size in pool.map(one, digests):
            if outcome == "copied":
                report.copied += 1
                report.bytes_copied += size
            elif outcome == "present":
                report.present += 1
            elif outcome == "corrupt":
                report.corrupt.append(digest)
                print(f"migrate: {digest}: content does not match its digest; not copied", file=out)
            else:
                report.vanished.append(digest)
            if time.monotonic() - last >= PROGRESS_EVERY:
                last = time.monotonic()
                _progress(report, out)
    _progress(report, out)
    return report


def _copy(source: FileBackend, target: FileBackend, digest: str, tmp: Path) -> tuple[str, int]:
    """Copy one blob via a temp file: ``(outcome, size)``, outcome copied, corrupt or vanished."""
    fd, temp_path = tempfile.mkstemp(dir=tmp, prefix="blob-migrate-")
    try:
        h = hashlib.sha256()
        size = 0
        try:
            with os.fdopen(fd, "wb") as dst, source.open(digest) as src:
                while piece := src.read(PIECE_BYTES):
                    h.update(piece)
                    dst.write(piece)
                    size += len(piece)
                if target.stage_fsync:
                    dst.flush()
                    os.fsync(dst.fileno())
        except FileNotFoundError:  # removed (garbage collection) since the listing
            return "vanished", 0
        if h.hexdigest() != digest:
            return "corrupt", 0
        target.commit([StagedBlob(temp_path, digest, "", size)], None)
        return "copied", size
    finally:
        try:
            os.unlink(temp_path)
        except FileNotFoundError:
            pass


def _progress(report: MigrationReport, out: TextIO) -> None:
    print(
        f"migrate: {report.done}/{report.total} blob(s): {report.copied} copied "
        f"({report.bytes_copied / 1e6:.1f} MB), {report.present} already there, "
        f"{len(report.corrupt)} corrupt",
        file=out,
        flush=True,
    )
