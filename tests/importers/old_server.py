"""ngshare 0.6.0 itself, for the import tests: its venv (cached) and a running server.

The venv holds the real ngshare 0.6.0 with the pins the benchmarks use
(:data:`benchmarks.servers.NGSHARE06_REQUIREMENTS`). It is built once into
the test cache (``ngshare06-venv`` under ``$NGSHARE_TEST_CACHE``, else
``.cache``), like the stock client's venv; a file lock keeps two test runs
from building it at once.
"""

from __future__ import annotations

import fcntl
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from benchmarks.servers import (
    NGSHARE06_REQUIREMENTS,
    ensure_ngshare06,
    free_port,
    ngshare06_command,
    stop,
    wait_until_answering,
)
from tests.integration.hub import CACHE

VENV = CACHE / "ngshare06-venv"


def ngshare06_python() -> Path:
    """The python of the cached ngshare 0.6.0 venv (built on first use)."""
    VENV.parent.mkdir(parents=True, exist_ok=True)
    with open(VENV.parent / "ngshare06-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return ensure_ngshare06(VENV, log=lambda _: None)


@dataclass
class OldServer:
    """A running ngshare 0.6.0 (development mode: ``user=`` names the caller)."""

    api: str  # base URL of its API, ending in /api
    database: Path  # its SQLite file
    storage: Path  # its storage folder

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.database}"


@contextmanager
def running_ngshare06(data_dir: Path) -> Iterator[OldServer]:
    """ngshare 0.6.0 on a free loopback port, with its database and files in ``data_dir``."""
    python = ngshare06_python()
    port = free_port()
    log_path = data_dir / "ngshare06.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            ngshare06_command(python, port, data_dir),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=data_dir,
            start_new_session=True,
        )
    try:
        wait_until_answering(f"http://127.0.0.1:{port}/healthz", proc, log_path, "ngshare 0.6")
        yield OldServer(f"http://127.0.0.1:{port}/api", data_dir / "ngshare.db", data_dir / "files")
    finally:
        stop(proc)


def run_ngshare06_alembic(database: Path, *args: str) -> None:
    """Run ngshare 0.6.0's own alembic on ``database`` (e.g. ``downgrade aa00db20c10a``)."""
    code = "import sys; from ngshare import dbutil; dbutil.main(sys.argv[2:], sys.argv[1])"
    subprocess.run(
        [str(ngshare06_python()), "-c", code, f"sqlite:///{database}", *args],
        check=True,
        capture_output=True,
        cwd=database.parent,
        timeout=120,
    )


__all__ = ["NGSHARE06_REQUIREMENTS", "OldServer", "running_ngshare06", "run_ngshare06_alembic"]
