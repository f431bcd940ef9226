"""Start and stop the servers under test: ours (``vngshare``) or ngshare 0.6.0.

Each server gets a fresh temp directory (database, files, log) and a free
loopback port, and is stopped by its PID on every way out (``with`` block):
SIGTERM, then SIGKILL after a grace period. ngshare 0.6 runs from its own
venv, created on first use (see :func:`ensure_ngshare06`).

Identity is ``user=`` (development mode) by default. Given ``hub_env`` (the
``JUPYTERHUB_*`` variables a hub sets for a service, e.g. pointing at
``hub_standin.py``), a server runs as a hub service instead and identifies
callers by their API tokens: ours as ``ngshare --NgShare.identity=hub``,
ngshare 0.6 without ``--vngshare``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from benchmarks import pgdb, roundtrips

HERE = Path(__file__).resolve().parent
NGSHARE06_VENV = HERE / ".venv-ngshare"
#: ngshare 0.6.0 stores nothing under SQLAlchemy 2 (it commits objects it never
#: ``add``s), so pin 1.4; alembic 1.19.2 is the pin the issue names and exists.
NGSHARE06_REQUIREMENTS = ["ngshare==0.6.0", "SQLAlchemy==1.4.54", "alembic==1.19.2"]
START_TIMEOUT = 60.0
STOP_GRACE = 15.0
#: ngshare 0.6 accepts bodies up to Tornado's default max_body_size.
NGSHARE06_BODY_LIMIT = 100 * 1024 * 1024


@dataclass
class Server:
    kind: str  # "ours" or "ngshare06"
    base_url: str
    pid: int
    data_dir: Path
    log_path: Path
    body_limit: int | None = None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_ngshare06(venv: Path = NGSHARE06_VENV, log=print) -> Path:
    """Create the ngshare 0.6 venv if needed; return its python."""
    python = venv / "bin" / "python"
    marker = venv / ".benchmark-requirements"
    wanted = "\n".join(NGSHARE06_REQUIREMENTS)
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python
    log(f"creating {venv} with {' '.join(NGSHARE06_REQUIREMENTS)} ...")
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    pip = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", *NGSHARE06_REQUIREMENTS],
        capture_output=True,
        text=True,
    )
    if pip.returncode != 0:
        raise RuntimeError(f"pip install failed:\n{pip.stdout}\n{pip.stderr}")
    # from inside the venv dir, so that our own `ngshare` package cannot be the one imported
    subprocess.run([str(python), "-c", "import ngshare.ngshare"], check=True, cwd=venv)
    marker.write_text(wanted)
    return python


#: Starts our server; revisions older than ngshare.cli kept the commands in ngshare.config.
_LAUNCH = (
    "try:\n    from ngshare.cli import {entry}\n"
    "except ImportError:\n    from ngshare.config import {entry}\n{entry}()"
)


def our_command(
    port: int, data_dir: Path, extra: list[str], hub: bool = False, counted: bool = False
) -> list[str]:
    """``counted``: start through :func:`benchmarks.roundtrips.launch_code` (counts round trips)."""
    entry, identity = ("main", ["--NgShare.identity=hub"]) if hub else ("main_dev", [])
    launch = roundtrips.launch_code(entry) if counted else _LAUNCH.format(entry=entry)
    return [
        sys.executable,
        "-c",
        launch,
        f"--port={port}",
        f"--data-dir={data_dir}",
        "--admins=root",
        *identity,
        *extra,
    ]


def ngshare06_command(python: Path, port: int, data_dir: Path, hub: bool = False) -> list[str]:
    return [
        str(python),
        str(HERE / "ngshare06_launcher.py"),
        "--hub" if hub else "--vngshare",
        f"--port={port}",
        f"--database=sqlite:///{data_dir / 'ngshare.db'}",
        f"--storage={data_dir / 'files'}/",
        "--admins=root",
    ]


@contextmanager
def running(
    kind: str,
    extra: list[str] = (),
    keep: bool = False,
    source: Path | None = None,
    hub_env: dict[str, str] | None = None,
    database: str | None = None,
    count_roundtrips: bool = False,
) -> Iterator[Server]:
    """Run a fresh server of ``kind`` ("ours" | "ngshare06"); always stopped on exit.

    ``extra`` is passed to our server (e.g. ``--NgShare.max_body_bytes=N``);
    ``source`` is a folder holding an ``ngshare`` package to run instead of
    the installed one (see :func:`snapshot`); ``hub_env`` runs it as a hub
    service with token identity (see the module docstring); ``database``
    (a PostgreSQL URL of the caller's own) is dropped, re-created empty and
    used instead of SQLite in the temp dir (ours only); ``count_roundtrips``
    starts ours with psycopg's round trips counted (:mod:`benchmarks.roundtrips`,
    counters in ``Server.data_dir / "roundtrips.json"``).
    """
    data_dir = Path(tempfile.mkdtemp(prefix=f"ngshare-bench-{kind}-"))
    port = free_port()
    hub = hub_env is not None
    if kind == "ours":
        if database:
            pgdb.recreate(database)
            extra = [f"--NgShare.db_url={database}", *extra]
        cmd = our_command(port, data_dir, list(extra), hub, counted=count_roundtrips)
        limit = _our_limit(extra)
    elif kind == "ngshare06":
        python = ensure_ngshare06()
        cmd, limit = ngshare06_command(python, port, data_dir, hub), NGSHARE06_BODY_LIMIT
    else:
        raise ValueError(f"unknown server kind {kind!r}")
    log_path = data_dir / "server.log"
    with open(log_path, "wb") as log:
        env = dict(os.environ)
        if hub:
            env.update(hub_env, JUPYTERHUB_SERVICE_URL=f"http://127.0.0.1:{port}")
        if count_roundtrips and kind == "ours":
            env[roundtrips.ENV] = str(data_dir / "roundtrips.json")
            env["PYTHONPATH"] = os.pathsep.join(
                filter(None, [str(HERE.parent), env.get("PYTHONPATH")])
            )
        if source is not None and kind == "ours":
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(source), env.get("PYTHONPATH")]))
        proc = subprocess.Popen(
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=data_dir,
            env=env,
            start_new_session=True,
        )
    server = Server(kind, f"http://127.0.0.1:{port}", proc.pid, data_dir, log_path, limit)
    try:
        _wait_ready(server, proc)
        yield server
    finally:
        stop(proc)
        if not keep:
            shutil.rmtree(data_dir, ignore_errors=True)


@contextmanager
def snapshot(rev: str) -> Iterator[tuple[Path, str]]:
    """Our ``ngshare`` package and ``alembic/`` as committed at ``rev``, in a temp dir: (dir, sha).

    Benchmarks then measure one fixed revision even while the working tree
    changes; PYTHONPATH puts it ahead of the (editable) installed package.
    """
    repo = HERE.parent
    sha = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--verify", rev + "^{commit}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # the core's migrations: top-level alembic/ (found by ngshare/migrations.py next to
    # ngshare/), inside ngshare/ in revisions from before that folder moved
    paths = ["ngshare"] + [
        p
        for p in ["alembic"]
        if subprocess.run(["git", "-C", str(repo), "cat-file", "-e", f"{sha}:{p}"]).returncode == 0
    ]
    out = Path(tempfile.mkdtemp(prefix="ngshare-bench-src-"))
    try:
        archive = subprocess.run(
            ["git", "-C", str(repo), "archive", "--format=tar", sha, *paths],
            capture_output=True,
            check=True,
        )
        subprocess.run(["tar", "-x", "-C", str(out)], input=archive.stdout, check=True)
        yield out, sha
    finally:
        shutil.rmtree(out, ignore_errors=True)


def _our_limit(extra) -> int:
    for arg in extra:
        if arg.startswith("--NgShare.max_body_bytes="):
            return int(arg.split("=", 1)[1])
    return 1 << 30  # the server's default


def _wait_ready(server: Server, proc: subprocess.Popen) -> None:
    wait_until_answering(server.base_url + "/healthz", proc, server.log_path, server.kind)


def wait_until_answering(
    url: str, proc: subprocess.Popen, log_path: Path, what: str, timeout: float = START_TIMEOUT
) -> None:
    """Poll ``url`` until it answers; fail with the log's tail if ``proc`` dies or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"{what} did not start:\n{log_path.read_text()[-3000:]}"
                ) from None
            time.sleep(0.1)


def stop(proc: subprocess.Popen) -> None:
    """Stop the server by its PID: SIGTERM, then SIGKILL after STOP_GRACE."""
    if proc.poll() is not None:
        return
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=STOP_GRACE)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
