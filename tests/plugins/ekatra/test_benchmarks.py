"""The Ekatra benchmark still runs: a tiny busy minute (not a performance test)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).parents[3]


def test_a_tiny_busy_minute_sends_every_message_once():
    args = ["--learners", "12", "--groups", "3", "--days", "3", "--lead", "4", "--timeout", "60"]
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "ekatra.py"), *args],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert (result["learners"], result["messages"], result["day_messages"]) == (12, 24, 12)
    assert 0 <= result["day_drift_p50_s"] <= result["day_drift_p99_s"] <= result["day_drift_max_s"]
    assert result["healthz_requests"] > 0
