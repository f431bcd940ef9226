"""Read files from ngshare 0.6's storage folder (one flat folder of UUID-named files).

A file that is missing, unreadable or not a plain name inside the folder
raises :class:`FileProblem` with a reason a person can act on; the import
lists it and goes on.
"""

from __future__ import annotations

import os
from pathlib import Path

from ngshare.importers.ngshare06.reader import OldFile


class FileProblem(Exception):
    """One old file cannot be read; ``str()`` says why."""


def storage_path(storage: Path, f: OldFile) -> Path:
    """Where ``f`` lives; only a plain file name inside ``storage`` is accepted."""
    name = f.storage_name
    if not name:
        raise FileProblem("the database names no storage file for it")
    if "/" in name or "\\" in name or name in (".", "..") or "\x00" in name:
        raise FileProblem(f"unsafe storage name {name!r}")
    return storage / name


def read_old_file(storage: Path, f: OldFile) -> bytes:
    """The content of ``f`` (read-only); :class:`FileProblem` if it cannot be had."""
    path = storage_path(storage, f)
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        raise FileProblem(f"missing: {path}") from None
    except IsADirectoryError:
        raise FileProblem(f"not a file: {path}") from None
    except OSError as e:
        raise FileProblem(f"unreadable ({e.strerror or e}): {path}") from None


def size_on_disk(storage: Path, f: OldFile) -> int:
    """The file's size for the progress bar, 0 when it cannot be had (reported when read)."""
    try:
        return os.stat(storage_path(storage, f)).st_size
    except (OSError, FileProblem):
        return 0
