"""A zip archive written piece by piece, for downloads streamed as they are built.

:func:`zip_pieces` is a generator: each ``next()`` reads at most one chunk of
a blob, compresses it and returns the zip bytes produced so far, so a caller
can run each step on a worker thread and flush the piece to the client
before asking for the next. Nothing holds the whole archive: ``zipfile``
writes to a non-seekable sink (sizes and CRCs go in data descriptors after
each entry) and the sink hands over what it holds at every step.
"""

from __future__ import annotations

import time
import zipfile
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO, NamedTuple

#: Blob bytes read per step (and roughly the zip bytes sent per flush).
CHUNK_BYTES = 1 << 18


class ZipMember(NamedTuple):
    """A file of the archive: its name there, the blob holding it, its size."""

    name: str
    sha256: str
    size: int


class _Sink:
    """A write-only, non-seekable file that keeps what it is given until taken."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self.size = 0

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        out = b"".join(self._parts)
        self._parts.clear()
        self.size = 0
        return out


def zip_pieces(
    members: Iterable[ZipMember],
    open_blob: Callable[[str], BinaryIO],
    chunk_bytes: int = CHUNK_BYTES,
) -> Iterator[bytes]:
    """The archive of ``members`` in pieces (each non-empty); their concatenation is the zip."""
    sink = _Sink()
    stamp = time.gmtime()[:6]
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for member in members:
            info = zipfile.ZipInfo(member.name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            large = member.size >= zipfile.ZIP64_LIMIT
            with (
                open_blob(member.sha256) as blob,
                archive.open(info, "w", force_zip64=large) as out,
            ):
                while chunk := blob.read(chunk_bytes):
                    out.write(chunk)
                    if sink.size >= chunk_bytes:
                        yield sink.take()
            if sink.size:
                yield sink.take()
    if sink.size:  # the central directory
        yield sink.take()
