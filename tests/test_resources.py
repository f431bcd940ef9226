"""Memory stays within stated bounds over repeated deadline workloads (benchmarks/soak.py).

Three small ``deadline`` runs against one real server (a subprocess on its own
SQLite), then its own report: the Python heap must be flat after the first run
(no Python-level leak), the RSS must level off, and what glibc keeps as freed
heap must be handed back by ``malloc_trim``. The bounds are the ones
docs/reliability.md states.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent

#: Growth of the Python heap (allocated blocks) from the first run to the third.
MAX_HEAP_GROWTH = 0.02
#: RSS the second and third runs may add to the first's.
MAX_RSS_GROWTH_MIB = 48
#: RSS after malloc_trim, above the RSS at start (bounded caches: the response cache, SQLite's).
MAX_TRIMMED_ABOVE_START_MIB = 64


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads RSS from /proc")
def test_three_deadline_runs_leave_memory_within_the_stated_bounds(tmp_path):
    out = tmp_path / "soak.json"
    done = subprocess.run(
        [sys.executable, "benchmarks/soak.py", "--rounds", "3", "--students", "20",
         "--idle", "1", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    reports = {r["when"]: r for r in json.loads(out.read_text())["reports"]}
    start, first, third = reports["started"], reports["after round 1"], reports["after round 3"]
    idle = reports["idle 1 s"]
    assert first.get("errors") == third.get("errors") == 0
    assert third["allocated_blocks"] <= first["allocated_blocks"] * (1 + MAX_HEAP_GROWTH)
    assert third["rss_kib"] <= first["rss_kib"] + MAX_RSS_GROWTH_MIB * 1024
    assert idle["rss_after_trim_kib"] <= start["rss_kib"] + MAX_TRIMMED_ABOVE_START_MIB * 1024
