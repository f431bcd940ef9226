"""Freed request buffers are kept for reuse (ngshare.malloc), on glibc."""

import subprocess
import sys

import pytest

from ngshare import malloc

# Allocate and free buffers of upload sizes, as concurrent requests do; count page faults.
CHURN = """
import random, resource, sys
from ngshare import malloc
print(malloc.keep_freed_buffers() if sys.argv[1] == "tuned" else None)
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


def _faults_per_cycle(mode: str, **env) -> tuple[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CHURN, mode], capture_output=True, text=True, check=True,
        env={"PATH": "/usr/bin:/bin", **env},
    ).stdout.split()
    return out[0], float(out[1])


def _is_glibc() -> bool:
    import ctypes

    return hasattr(ctypes.CDLL(None), "gnu_get_libc_version")


@pytest.mark.skipif(not _is_glibc(), reason="the thresholds are glibc's")
def test_freed_buffers_are_reused_instead_of_faulted_in_again():
    applied, tuned = _faults_per_cycle("tuned")
    _, default = _faults_per_cycle("default")
    assert applied == "True"
    # each cycle touches ~8 MB: glibc's defaults fault most of it in again (~2000 pages)
    assert default > 500 and tuned < default / 10


def test_an_operators_malloc_settings_win(monkeypatch):
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "1000000")
    assert malloc.keep_freed_buffers() is False
    applied, _ = _faults_per_cycle("tuned", GLIBC_TUNABLES="glibc.malloc.trim_threshold=1")
    assert applied == "False"
