"""Run ``ngshare import ngshare06`` as users run it: the command, in a process of its own."""

from __future__ import annotations

import json
import subprocess
import sys


def run_import(target: dict, *args: str) -> tuple[int, dict, str]:
    """Run ``ngshare import ngshare06 ... --json`` as a user would: (status, report, stderr)."""
    done = subprocess.run(
        [sys.executable, "-m", "ngshare", "import", "ngshare06", *args, "--json",
         f"--database={target['url']}", f"--storage={target['storage']}"],
        capture_output=True, text=True, timeout=300, cwd=target["storage"].parent,
    )  # fmt: skip
    try:
        report = json.loads(done.stdout)
    except ValueError:
        report = {}
    return done.returncode, report, done.stderr


def added(report: dict, kind: str) -> int:
    """How many of ``kind`` the report says were added, over every course."""
    return sum(c["added"][kind] for c in report["courses"])
