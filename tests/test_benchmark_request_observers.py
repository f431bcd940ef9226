"""benchmarks/request_observers.py runs and prints its three figures (at a tiny size)."""

import re
import subprocess
import sys
from pathlib import Path


def test_the_request_observers_benchmark_runs():
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.request_observers", "--requests", "200"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    for line in ("access log (text)", "access log (json)", "metrics"):
        assert re.search(rf"^{re.escape(line)}: \d+\.\d us per request$", result.stdout, re.M)
