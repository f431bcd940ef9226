"""Start a real ``vngshare``/``ngshare`` process for tests that need one (stopped by PID)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server(data_dir: Path, *args: str, command: str = "vngshare", env=None):
    """Run the server on a free loopback port; yield its base URL (no prefix)."""
    port = free_port()
    log = open(data_dir / f"{command}-{port}.log", "wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"from ngshare.cli import {_entry(command)} as m; m()",
            f"--port={port}",
            f"--data-dir={data_dir}",
            "--admins=root",
            *args,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=data_dir,
        env={**os.environ, **(env or {})},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "server did not start:\n" + (data_dir / log.name).read_text()
                    ) from None
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _entry(command: str) -> str:
    return {"vngshare": "main_dev", "ngshare": "main"}[command]
