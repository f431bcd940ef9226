"""``ngshare fsck``: find, and on request repair, what a crash or a hand left in the blob store.

The store's write order (blob staged, then committed, then the rows that
reference it) means a crash never leaves a row pointing at nothing; it can
leave blobs no row points at, and temp files. Disks, restores from backup and
people with a shell can do worse. Each problem found is one :class:`Problem`
(kind: what it is -> what ``--repair`` does):

- ``temp-file``: a file in ``<storage>/tmp`` (staged blob, spooled body) not
  modified for ``TEMP_GRACE_SECONDS`` (or the grace period, if shorter: with
  the server stopped, ``--grace 0`` takes every one) -> removed;
- ``unreferenced-file``: a blob file no feature set's row refers to, older
  than the grace period -> removed;
- ``unreferenced-row``: the same for a row of ``blobs`` (small blobs kept in
  the database) -> deleted;
- ``stray-file``: a file in a blob folder whose name is no digest -> removed;
- ``missing-blob``: a digest rows refer to, stored neither as a file nor in
  ``blobs`` (those rows' content is lost) -> restored from a temp file holding
  that content if there is one, else nothing can be done here (a backup can);
- ``corrupt-blob`` (``--verify``): a stored blob whose content does not hash
  to its digest -> the bad copy removed if another copy is good or no row
  refers to it;
- ``disabled-feature-set``: tables of a feature set that is not enabled, whose
  references therefore cannot be read -> nothing (enable it with
  ``--plugins``); meanwhile no blob is taken for unreferenced.

Blob files are those of the store's backend: the storage folder, or the
S3 bucket (``NgShare.storage_backend``), where "file" means "object" and
targets are named ``ab/cdef…`` under the bucket's prefix; temp files are
always on the local disk.

Report only by default; ``--repair`` repairs. The exit status is 0 when no
problem remains (after repair, if asked), 1 otherwise. Everything re-checks
the age of what it removes at the moment of removal, so it is safe beside a
running server: an upload storing the same content again refreshes the blob.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import sqlalchemy as sa

from ngshare.garbage import referenced_digests
from ngshare.models import CoreBase, InlineBlob
from ngshare.storage import TEMP_GRACE_SECONDS, BlobStore, StagedBlob, _unpack
from ngshare.storage_backend import blob_name, unlink_if_older

if TYPE_CHECKING:
    from ngshare.context import ServerContext

#: Unreferenced blobs younger than this are not problems: an upload commits its
#: blobs a moment (well under a second) before the rows that reference them.
DEFAULT_GRACE_SECONDS = 3600.0
_BLOBS = InlineBlob.__table__


@dataclass
class Problem:
    """One thing wrong in the store; ``repaired`` is set once it is fixed."""

    kind: str
    target: str  # a digest, or a path relative to the storage folder
    detail: str = ""
    repaired: bool = False


@dataclass
class Report:
    """What :func:`check` found, and what :func:`repair` did about it."""

    problems: list[Problem] = field(default_factory=list)
    files: int = 0
    rows: int = 0
    referenced: int = 0

    @property
    def remaining(self) -> list[Problem]:
        return [p for p in self.problems if not p.repaired]

    def as_dict(self) -> dict:
        return {
            "files": self.files,
            "rows": self.rows,
            "referenced": self.referenced,
            "problems": [asdict(p) for p in self.problems],
            "remaining": len(self.remaining),
        }


def check(
    ctx: ServerContext, grace_seconds: float = DEFAULT_GRACE_SECONDS, verify: bool = False
) -> Report:
    """Find the store's problems (reads only; blocking)."""
    store = ctx.storage
    report = Report()
    now = time.time()
    cutoff = now - grace_seconds
    unknown = _tables_of_disabled_feature_sets(ctx)
    if unknown:
        report.problems.append(
            Problem(
                "disabled-feature-set",
                ", ".join(unknown),
                "tables of a feature set that is not enabled: its blob references cannot be read; "
                "enable it (--plugins) so that no blob it uses is taken for garbage",
            )
        )
    by_plugin = ctx.db.run_sync(_references_by_feature_set, ctx)
    keep: set[str] = set().union(*by_plugin.values()) if by_plugin else set()
    report.referenced = len(keep)

    files = _scan_files(store, report, cutoff)
    report.files = len(files)
    rows = _inline_rows(store)
    report.rows = len(rows)

    for digest, mtime in sorted(files.items()):
        if digest not in keep and mtime < cutoff and not unknown:
            report.problems.append(
                Problem(
                    "unreferenced-file",
                    blob_name(digest),
                    f"no row refers to it; last stored {_ago(now - mtime)} ago",
                )
            )
    row_cutoff = datetime.fromtimestamp(cutoff, timezone.utc).replace(tzinfo=None)
    for digest, touched in sorted(rows.items()):
        if digest not in keep and _naive_utc(touched) < row_cutoff and not unknown:
            report.problems.append(
                Problem("unreferenced-row", digest, "a row of blobs no row refers to")
            )
    for digest in sorted(keep - files.keys() - rows.keys()):
        owners = sorted(name for name, refs in by_plugin.items() if digest in refs)
        report.problems.append(
            Problem(
                "missing-blob",
                digest,
                f"referenced by {', '.join(owners)} but stored nowhere: its content is lost "
                "unless a temp file or a backup holds it",
            )
        )
    for path, mtime in _temp_files(store):
        if mtime < _temp_cutoff(grace_seconds, now):
            report.problems.append(
                Problem("temp-file", _rel(store, path), f"not modified for {_ago(now - mtime)}")
            )
    if verify:
        for digest in sorted(files):
            if _stored_sha256(store, digest) != digest:
                report.problems.append(
                    Problem(
                        "corrupt-blob",
                        blob_name(digest),
                        "the file's content does not hash to its name",
                    )
                )
        for digest in sorted(rows):
            data = _inline_content(store, digest)
            if data is None or hashlib.sha256(data).hexdigest() != digest:
                report.problems.append(
                    Problem(
                        "corrupt-blob",
                        digest,
                        "the blobs row's content does not hash to its digest",
                    )
                )
    return report


def repair(
    ctx: ServerContext, report: Report, grace_seconds: float = DEFAULT_GRACE_SECONDS
) -> Report:
    """Fix what can be fixed of ``report``'s problems (blocking); marks each one fixed."""
    store = ctx.storage
    missing = {p.target: p for p in report.problems if p.kind == "missing-blob"}
    if missing:
        _restore_from_temp(store, missing)
    keep: set[str] | None = None
    for problem in report.problems:
        if problem.repaired:
            continue
        cutoff = time.time() - grace_seconds
        if problem.kind == "temp-file":
            problem.repaired = unlink_if_older(
                store.root / problem.target, _temp_cutoff(grace_seconds, time.time())
            )
        elif problem.kind == "stray-file":
            problem.repaired = store.files.remove_if_older(problem.target, cutoff)
        elif problem.kind == "unreferenced-file":
            if keep is None:  # read again: rows may have been written since the check
                keep = ctx.db.run_sync(referenced_digests, ctx.plugins)
            digest = _digest_of(problem.target)
            if digest not in keep:
                problem.repaired = store.files.remove_if_older(problem.target, cutoff)
        elif problem.kind == "unreferenced-row":
            if keep is None:
                keep = ctx.db.run_sync(referenced_digests, ctx.plugins)
            problem.repaired = problem.target not in keep and _delete_row_if_older(
                store, problem.target, cutoff
            )
        elif problem.kind == "corrupt-blob":
            problem.repaired = _repair_corrupt(ctx, store, problem)
    return report


def fsck(
    ctx: ServerContext,
    repair_problems: bool = False,
    grace_seconds: float = DEFAULT_GRACE_SECONDS,
    verify: bool = False,
) -> Report:
    """Check the store and, if asked, repair it (blocking)."""
    report = check(ctx, grace_seconds, verify)
    if repair_problems:
        repair(ctx, report, grace_seconds)
    return report


def print_report(report: Report, repaired: bool, as_json: bool = False) -> None:
    """The report for people (one line a problem) or, with ``as_json``, for programs."""
    if as_json:
        print(json.dumps(report.as_dict(), indent=2))
        return
    print(
        f"{report.files} blob file(s), {report.rows} blob row(s), "
        f"{report.referenced} referenced digest(s)"
    )
    for p in report.problems:
        state = " [repaired]" if p.repaired else (" [NOT repaired]" if repaired else "")
        print(f"{p.kind}: {p.target}: {p.detail}{state}")
    left = len(report.remaining)
    if not report.problems:
        print("no problems found")
    elif left:
        hint = "" if repaired else " (run with --repair to fix what can be fixed)"
        print(f"{left} problem(s) remain{hint}")
    else:
        print("every problem repaired")


# -- checks ---------------------------------------------------------------------


def _references_by_feature_set(session, ctx: ServerContext) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for plugin in [*ctx.services, *ctx.plugins]:
        if plugin.blob_references is not None:
            out[plugin.name] = set(plugin.blob_references(session))
    return out


def _tables_of_disabled_feature_sets(ctx: ServerContext) -> list[str]:
    """Tables in the database that neither the core nor an enabled feature set declares."""
    import ngshare.accounts_models  # noqa: F401 - its tables are on CoreBase
    from ngshare.scheduler_models import SchedulerBase

    known = {"alembic_version", *CoreBase.metadata.tables, *SchedulerBase.metadata.tables}
    for plugin in [*ctx.services, *ctx.plugins]:
        if plugin.metadata is not None:
            known.update(plugin.metadata.tables)
    present = sa.inspect(ctx.db.engine).get_table_names()
    return sorted(t for t in present if t not in known and not t.startswith("alembic_version"))


def _scan_files(store: BlobStore, report: Report, cutoff: float) -> dict[str, float]:
    """Digest -> mtime of every blob file; files that are no blob become ``stray-file``."""
    files: dict[str, float] = {}
    for stored in store.files.scan():
        digest = stored.digest
        if digest is not None:
            files[digest] = stored.mtime
        elif stored.mtime < cutoff:
            report.problems.append(
                Problem("stray-file", stored.name, "not a blob: its name is no digest")
            )
    return files


def _inline_rows(store: BlobStore) -> dict[str, datetime]:
    if store.engine is None:
        return {}
    with store.engine.connect() as conn:
        return dict(conn.execute(sa.select(_BLOBS.c.sha256, _BLOBS.c.touched_at)).all())


def _inline_content(store: BlobStore, digest: str) -> bytes | None:
    assert store.engine is not None
    with store.engine.connect() as conn:
        row = conn.execute(
            sa.select(_BLOBS.c.content, _BLOBS.c.codec).where(_BLOBS.c.sha256 == digest)
        ).first()
    if row is None:
        return None
    try:
        return _unpack(row.content, row.codec)
    except Exception:  # noqa: BLE001 - an undecodable row is what is being looked for
        return None


def _temp_files(store: BlobStore) -> list[tuple[Path, float]]:
    out = []
    try:
        entries = list(os.scandir(store.tmp))
    except FileNotFoundError:
        return out
    for entry in entries:
        try:
            if entry.is_file(follow_symlinks=False):
                out.append((Path(entry.path), entry.stat(follow_symlinks=False).st_mtime))
        except FileNotFoundError:
            continue
    return sorted(out)


# -- repairs --------------------------------------------------------------------


def _restore_from_temp(store: BlobStore, missing: dict[str, Problem]) -> None:
    """Move a temp file whose content is a missing blob into its place."""
    for path, _ in _temp_files(store):
        digest = _file_sha256(path)
        problem = missing.get(digest)
        if problem is None or problem.repaired:
            continue
        staged = StagedBlob(str(path), digest, "", path.stat().st_size)
        store.commit([staged])
        problem.repaired = True
        problem.detail += f"; restored from {_rel(store, path)}"


def _repair_corrupt(ctx: ServerContext, store: BlobStore, problem: Problem) -> bool:
    """Remove a corrupt copy if a good one is left, or if nothing refers to it."""
    is_file = "/" in problem.target
    digest = _digest_of(problem.target) if is_file else problem.target
    keep = ctx.db.run_sync(referenced_digests, ctx.plugins)
    if is_file:
        other = _inline_content(store, digest) if store.engine is not None else None
        other_good = other is not None and hashlib.sha256(other).hexdigest() == digest
    else:
        other_good = store.files.exists(digest) and _stored_sha256(store, digest) == digest
    if not other_good and digest in keep:
        problem.detail += "; no good copy: restore it from a backup"
        return False
    if is_file:
        store.remove(digest)
    else:
        assert store.engine is not None
        with store.engine.begin() as conn:
            conn.execute(sa.delete(_BLOBS).where(_BLOBS.c.sha256 == digest))
    return True


def _delete_row_if_older(store: BlobStore, digest: str, cutoff: float) -> bool:
    assert store.engine is not None
    row_cutoff = datetime.fromtimestamp(cutoff, timezone.utc).replace(tzinfo=None)
    with store.engine.begin() as conn:
        conn.execute(
            sa.delete(_BLOBS).where(_BLOBS.c.sha256 == digest, _BLOBS.c.touched_at < row_cutoff)
        )
        still = conn.scalar(sa.select(sa.func.count()).where(_BLOBS.c.sha256 == digest))
    return not still


# -- helpers --------------------------------------------------------------------


def _temp_cutoff(grace_seconds: float, now: float) -> float:
    """Temp files modified before this are leftovers: ``TEMP_GRACE_SECONDS``, or less if asked.

    (``--grace 0`` with the server stopped: every temp file is a leftover.)
    """
    return now - min(grace_seconds, TEMP_GRACE_SECONDS)


def _digest_of(relative: str) -> str:
    shard, _, rest = relative.partition("/")
    return shard + rest


def _rel(store: BlobStore, path: Path) -> str:
    return path.relative_to(store.root).as_posix()


def _file_sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return _stream_sha256(f)


def _stored_sha256(store: BlobStore, digest: str) -> str | None:
    """The sha256 of the blob's stored file (read in pieces), None if it is gone."""
    try:
        with store.files.open(digest) as f:
            return _stream_sha256(f)
    except FileNotFoundError:
        return None


def _stream_sha256(f: BinaryIO) -> str:
    h = hashlib.sha256()
    while chunk := f.read(1 << 20):
        h.update(chunk)
    return h.hexdigest()


def _naive_utc(value: datetime) -> datetime:
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def _ago(seconds: float) -> str:
    return str(timedelta(seconds=int(max(0, seconds))))


def fsck_command(
    ctx: ServerContext,
    repair_problems: bool = False,
    grace_seconds: float = DEFAULT_GRACE_SECONDS,
    verify: bool = False,
    as_json: bool = False,
) -> int:
    """``ngshare fsck``: print the report; 0 if no problem remains, else 1."""
    report = fsck(ctx, repair_problems, grace_seconds, verify)
    print_report(report, repair_problems, as_json)
    sys.stdout.flush()
    return 1 if report.remaining else 0
