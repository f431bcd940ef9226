"""Keep freed request buffers for reuse: fixed thresholds for glibc's malloc.

An upload passes through buffers of a few hundred KB to a few MB (the body,
its percent-decoded copy, the decoded files). glibc serves such sizes with
fresh ``mmap`` pages and returns them on ``free``; its adaptive threshold
keeps them in the heap for one request at a time, but not with many requests
in flight, so each one paid page faults and page zeroing again (measured: ~20
faults per submit with 32 in flight, and ``clear_page_erms`` was 12 % of the
IOLoop thread's CPU). Fixed thresholds keep them in the heap, where the next
request reuses them.
"""

from __future__ import annotations

import ctypes
import logging
import os

log = logging.getLogger(__name__)

#: ``mallopt`` parameters (``<malloc.h>``).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
#: Allocations up to this size come from the heap (bodies up to 2 MiB are held in memory).
MMAP_THRESHOLD_BYTES = 4 << 20
#: Free memory kept at the top of a heap before it is handed back to the system.
TRIM_THRESHOLD_BYTES = 32 << 20
#: Settings an operator may have made; they win.
_OPERATOR_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")


def keep_freed_buffers() -> bool:
    """Set the thresholds; False if the C library is not glibc or the environment set them."""
    if any(name in os.environ for name in _OPERATOR_SETTINGS):
        return False
    ok = set_thresholds(MMAP_THRESHOLD_BYTES, TRIM_THRESHOLD_BYTES)
    if ok is False:
        log.warning("mallopt refused the malloc thresholds; keeping glibc's defaults")
    return bool(ok)


def set_thresholds(mmap_bytes: int, trim_bytes: int) -> bool | None:
    """``mallopt`` both thresholds for this process (also the benchmark driver's).

    None where the C library is not glibc (musl, macOS: other allocators,
    other rules); False if glibc refused a value.
    """
    try:
        libc = ctypes.CDLL(None)  # the C library this process runs on
    except OSError:
        return None
    if not hasattr(libc, "gnu_get_libc_version") or not hasattr(libc, "mallopt"):
        return None
    ok = libc.mallopt(M_MMAP_THRESHOLD, mmap_bytes) == 1
    return libc.mallopt(M_TRIM_THRESHOLD, trim_bytes) == 1 and ok
