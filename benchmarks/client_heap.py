"""The driver's own memory: answers are received into heap it already touched.

A fetch answer is ~7.5 MB, received into one buffer of its size. glibc hands
out such sizes as fresh ``mmap`` pages and unmaps them again on ``free``, so
each answer cost the driver ~1,800 page faults and their zeroing: 267k faults
and 0.97 s of system CPU in one 300-fetch phase, CPU taken from the server on
the shared 2 cores, and the first wave of 32 answers waited on it most.

:func:`keep_freed_buffers` fixes glibc's thresholds so a freed buffer stays in
the heap for the next answer; :func:`prefault` touches enough heap before a
phase for its first wave, as request bodies are built before a phase rather
than in it. Both servers are driven by the same process, so both gain alike.
"""

from __future__ import annotations

import ctypes

#: ``mallopt`` parameters (``<malloc.h>``).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3

#: glibc's largest mmap threshold on 64-bit: buffers up to this come from the heap.
MMAP_THRESHOLD_BYTES = 32 << 20
#: Free heap kept instead of handed back (the fetch phase's buffers fit twice).
TRIM_THRESHOLD_BYTES = 1 << 30
#: Pieces :func:`prefault` allocates (below the mmap threshold, so from the heap).
PREFAULT_PIECE_BYTES = 8 << 20


def set_thresholds(mmap_bytes: int, trim_bytes: int) -> bool | None:
    """``mallopt`` both thresholds for this process; None where the C library is not glibc."""
    try:
        libc = ctypes.CDLL(None)  # the C library this process runs on
    except OSError:
        return None
    if not hasattr(libc, "gnu_get_libc_version") or not hasattr(libc, "mallopt"):
        return None
    ok = libc.mallopt(M_MMAP_THRESHOLD, mmap_bytes) == 1
    return libc.mallopt(M_TRIM_THRESHOLD, trim_bytes) == 1 and ok


def keep_freed_buffers() -> bool:
    """Set the thresholds for this process; False where the C library is not glibc."""
    return bool(set_thresholds(MMAP_THRESHOLD_BYTES, TRIM_THRESHOLD_BYTES))


def prefault(total_bytes: int) -> None:
    """Touch ``total_bytes`` of heap and free it, for the next buffers to reuse.

    Only useful after :func:`keep_freed_buffers` (else glibc returns it at once).
    """
    count = -(-total_bytes // PREFAULT_PIECE_BYTES)
    pieces = [bytearray(PREFAULT_PIECE_BYTES) for _ in range(count)]
    del pieces  # bytearray(n) zero-fills: every page was written
