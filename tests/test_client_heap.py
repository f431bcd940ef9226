"""The driver receives answers into heap it already touched (benchmarks/client_heap.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Holds 8 fetch-sized buffers at once, as a phase with answers in flight does,
#: and prints the page faults that took. Run in a child: mallopt is per process.
ALLOCATE = """
import resource, sys
sys.path.insert(0, {root!r})
from benchmarks import client_heap
if sys.argv[1] == "kept":
    assert client_heap.keep_freed_buffers()
    client_heap.prefault(8 * 7_500_000)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
held = [bytearray(7_500_000) for _ in range(8)]
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str) -> int:
    code = ALLOCATE.format(root=str(ROOT))
    out = subprocess.run(
        [sys.executable, "-c", code, mode], capture_output=True, text=True, check=True, timeout=60
    )
    return int(out.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_prefaulted_heap_takes_the_buffers_without_page_faults():
    default, kept = _faults("default"), _faults("kept")
    assert default > 8 * 1000  # each fresh 7.5 MB buffer faults in ~1,800 pages
    assert kept < default / 20
