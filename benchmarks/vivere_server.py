"""Run a real ``vngshare --plugins vivere`` for the Vivere benchmarks (loopback, stopped by PID).

Shared by :mod:`benchmarks.vivere_fanout` and :mod:`benchmarks.vivere_queue`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from benchmarks.servers import free_port, stop, wait_until_answering


@dataclass
class VivereServer:
    base_url: str  # http://127.0.0.1:PORT
    pid: int
    data_dir: Path

    @property
    def api(self) -> str:
        return self.base_url + "/api/vivere/"

    def rss_bytes(self) -> int:
        """Resident memory now (VmRSS)."""
        return _status_bytes(self.pid, "VmRSS")

    def cpu_seconds(self) -> float:
        """User + system CPU time the server has used so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def peak_rss_bytes(self) -> int:
        """Highest resident memory so far (VmHWM)."""
        return _status_bytes(self.pid, "VmHWM")


def _status_bytes(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} for pid {pid}")


@contextmanager
def vivere_server(
    *args: str, database: str | None = None, keep: bool = False
) -> Iterator[VivereServer]:
    """Start ``vngshare --plugins vivere`` on a free loopback port in a fresh temp dir.

    The temp dir (database, blobs, ``server.log``) is removed afterwards unless ``keep``.
    """
    data_dir = Path(tempfile.mkdtemp(prefix="vivere-bench-"))
    port = free_port()
    command = [
        sys.executable,
        "-c",
        "from ngshare.cli import main_dev; main_dev()",
        "--plugins=vivere",
        "--admins=root",
        "--host=127.0.0.1",
        f"--port={port}",
        f"--data-dir={data_dir}",
        "--log-level=WARN",
        *args,
    ]
    if database:
        command.append(f"--database={database}")
    log = open(data_dir / "server.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=data_dir)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(base + "/healthz", proc, data_dir / "server.log", "server")
        yield VivereServer(base_url=base, pid=proc.pid, data_dir=data_dir)
    finally:
        stop(proc)
        log.close()
        if not keep:
            shutil.rmtree(data_dir, ignore_errors=True)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of a non-empty list."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]
