"""The glibc settings docs/index.md gives ("Memory allocator") keep freed buffers for reuse."""

import ctypes
import subprocess
import sys

import pytest

#: What docs/index.md tells operators to put in the service's environment.
DOCUMENTED = {"MALLOC_MMAP_THRESHOLD_": "4194304", "MALLOC_TRIM_THRESHOLD_": "33554432"}

# Allocate and free buffers of upload sizes, as concurrent requests do; count page faults.
CHURN = """
import random, resource
rng = random.Random(1)
def cycle():
    buffers = [bytearray(rng.randrange(200_000, 2_000_000)) for _ in range(8)]
    del buffers
cycle()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(50):
    cycle()
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 50)
"""


def _faults_per_cycle(**env: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", CHURN],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", **env},
    ).stdout
    return float(out)


def _is_glibc() -> bool:
    return hasattr(ctypes.CDLL(None), "gnu_get_libc_version")


@pytest.mark.skipif(not _is_glibc(), reason="the thresholds are glibc's")
def test_the_documented_settings_make_freed_buffers_reused_instead_of_faulted_in():
    default = _faults_per_cycle()
    tuned = _faults_per_cycle(**DOCUMENTED)
    # each cycle touches ~8 MB: glibc's defaults fault most of it in again (~2000 pages)
    assert default > 500 and tuned < default / 10


def test_the_settings_are_the_ones_the_docs_give():
    from pathlib import Path

    text = (Path(__file__).parents[2] / "docs" / "index.md").read_text()
    for name, value in DOCUMENTED.items():
        assert f"{name}={value}" in text
