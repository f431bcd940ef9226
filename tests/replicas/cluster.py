"""Several real ``ngshare`` processes on one database, for tests of running replicas.

``replica_cluster(tmp_path, db_url, count)`` starts ``count`` servers at once
(each on a free loopback port, its own data folder, one shared storage
folder), waits until every one answers ``/healthz`` and yields a
:class:`Cluster`; every process is stopped by its PID at the end.
``fresh_postgresql_database()`` gives a new, empty PostgreSQL database
(``CREATE DATABASE``) and drops it afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from tests.conftest import PG_URL
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
#: How long all replicas together may take to start (they migrate one after another).
START_SECONDS = 60


@dataclass
class Replica:
    name: str
    base: str
    proc: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def get(self, path: str, headers: dict | None = None, timeout: float = 10) -> tuple[int, bytes]:
        request = urllib.request.Request(self.base + path, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def post(self, path: str, body: bytes, headers: dict | None = None) -> tuple[int, bytes]:
        request = urllib.request.Request(
            self.base + path, data=body, headers=headers or {}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks run (a crashed replica)."""
        self.proc.kill()
        self.proc.wait(timeout=10)


@dataclass
class Cluster:
    db_url: str
    replicas: list[Replica] = field(default_factory=list)

    def __getitem__(self, i: int) -> Replica:
        return self.replicas[i]

    def wait_until_up(self, seconds: float = START_SECONDS) -> None:
        deadline = time.monotonic() + seconds
        for replica in self.replicas:
            _wait_until_up(replica, deadline)


@contextmanager
def replica_cluster(
    tmp_path: Path,
    db_url: str,
    count: int = 3,
    *args: str,
    command: str = "vngshare",
    env: dict | None = None,
    together: bool = True,
    wait: bool = True,
):
    """Start ``count`` servers on ``db_url``; yield a :class:`Cluster`.

    ``together``: all at once (PostgreSQL), else each once the previous one
    serves (several processes migrating one SQLite file at once is not
    supported). ``wait=False`` yields without waiting for them to serve.
    """
    storage = tmp_path / "shared-files"
    storage.mkdir(parents=True, exist_ok=True)
    cluster = Cluster(db_url)
    logs = []
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        **(env or {}),
    }
    try:
        for i in range(count):
            name = f"replica-{i}"
            data = tmp_path / name
            data.mkdir(parents=True, exist_ok=True)
            port = free_port()
            log_path = data / "server.log"
            log = open(log_path, "wb")
            logs.append(log)
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    f"from ngshare.cli import {_entry(command)} as m; m()",
                    f"--port={port}",
                    f"--data-dir={data}",
                    f"--database={db_url}",
                    f"--storage={storage}",
                    "--admins=root",
                    f"--NgShare.replica_id={name}",
                    *args,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=data,
                env=environment,
            )
            replica = Replica(name, f"http://127.0.0.1:{port}", proc, log_path)
            cluster.replicas.append(replica)
            if not together:
                _wait_until_up(replica, time.monotonic() + START_SECONDS)
        if wait:
            cluster.wait_until_up()
        yield cluster
    finally:
        for replica in cluster.replicas:
            if replica.proc.poll() is None:
                replica.proc.terminate()
        for replica in cluster.replicas:
            try:
                replica.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                replica.proc.kill()
                replica.proc.wait()
        for log in logs:
            log.close()


def _wait_until_up(replica: Replica, deadline: float) -> None:
    while True:
        try:
            urllib.request.urlopen(replica.base + "/healthz", timeout=1).read()
            return
        except OSError:
            if replica.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{replica.name} did not start:\n{replica.log()}") from None
            time.sleep(0.1)


def _entry(command: str) -> str:
    return {"vngshare": "main_dev", "ngshare": "main"}[command]


@contextmanager
def fresh_postgresql_database():
    """A new empty PostgreSQL database on the test server; dropped afterwards."""
    name = f"ngshare_replicas_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_URL.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"
                ),
                {"n": name},
            )
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()
