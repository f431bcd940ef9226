"""A venv with the stock nbgrader client ``ngshare_exchange`` from PyPI, for integration tests.

ngshare_exchange 0.5.3 pins ``jupyter_core<4.11.2``, which nbgrader 0.9 cannot
run with, so it is installed with ``--no-deps`` after nbgrader, into a venv of
its own (``stock-client-venv`` in the test cache, ``.cache`` unless
``NGSHARE_TEST_CACHE`` says otherwise): the project's ``.venv`` keeps only
what its own requirements allow. Built once, reused while its marker file
names the same requirements; a file lock keeps two test runs from building it
at once. Every step has a timeout.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.integration.hub import CACHE

VENV = CACHE / "stock-client-venv"
NBGRADER_REQ = "nbgrader==0.9.*"
CLIENT_REQ = "ngshare_exchange==0.5.3"
#: Written last: a venv without it (or with other requirements in it) is rebuilt.
MARKER = VENV / "ngshare-test-ready"
CHECK = (
    "import nbgrader, ngshare_exchange; print(nbgrader.__version__, ngshare_exchange.__version__)"
)
#: ngshare_exchange reads $JUPYTERHUB_USER, else $USER, at import (KeyError without both).
CHECK_ENV = {**os.environ, "JUPYTERHUB_USER": "check"}


def stock_client_bin() -> Path:
    """The stock client venv's ``bin`` folder (holding ``nbgrader``); built if needed."""
    VENV.parent.mkdir(parents=True, exist_ok=True)
    with open(VENV.parent / "stock-client-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        wanted = f"{NBGRADER_REQ} {CLIENT_REQ}\n"
        if not (MARKER.exists() and MARKER.read_text() == wanted and _works()):
            _build()
            MARKER.write_text(wanted)
    return VENV / "bin"


def _works() -> bool:
    try:
        done = subprocess.run(
            [str(VENV / "bin" / "python"), "-c", CHECK],
            capture_output=True,
            timeout=60,
            env=CHECK_ENV,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _build() -> None:
    shutil.rmtree(VENV, ignore_errors=True)
    python = str(VENV / "bin" / "python")
    steps = [
        ([sys.executable, "-m", "venv", str(VENV)], 120),
        ([python, "-m", "pip", "install", "-q", NBGRADER_REQ], 420),
        # its jupyter_core<4.11.2 pin would break nbgrader 0.9: no dependencies
        ([python, "-m", "pip", "install", "-q", "--no-deps", CLIENT_REQ], 120),
        ([python, "-c", CHECK], 60),
    ]
    for command, timeout in steps:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, env=CHECK_ENV
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"building the stock client venv failed at {' '.join(command)}:\n"
                f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
            )
