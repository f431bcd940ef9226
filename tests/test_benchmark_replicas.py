"""The replica benchmark's parts: the loopback balancer and the per-group CPU reader.

The balancer runs as it does in benchmarks/replicas.py (its own process) in
front of two real HTTP servers on loopback: requests alternate between them,
bodies larger than a read pass through whole in both directions, headers and
status codes are passed on, and a backend that is down gives a JSON 502.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from benchmarks import servers
from benchmarks.cpu_groups import CpuGroups, cpu_seconds

ROOT = Path(__file__).resolve().parent.parent


class Echo(BaseHTTPRequestHandler):
    """Answers with its name, the request's method/path and the sha256 and size of its body."""

    name = "?"

    def _answer(self) -> None:
        size = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(size) if size else b""
        if self.path.startswith("/big"):
            payload = b"x" * (3 << 20)
        else:
            payload = json.dumps(
                {
                    "backend": self.name,
                    "method": self.command,
                    "path": self.path,
                    "sha256": hashlib.sha256(body).hexdigest(),
                    "size": len(body),
                    "forwarded_for": self.headers.get("X-Forwarded-For"),
                }
            ).encode()
        self.send_response(201 if self.command == "POST" else 200)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("X-Backend", self.name)
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _answer

    def log_message(self, *args) -> None:
        pass


def backend(name: str) -> tuple[ThreadingHTTPServer, str]:
    handler = type(f"Echo{name}", (Echo,), {"name": name})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def balanced(tmp_path):
    one, url1 = backend("one")
    two, url2 = backend("two")
    port = servers.free_port()
    log = tmp_path / "balancer.log"
    cmd = [sys.executable, str(ROOT / "benchmarks" / "balancer.py"), f"--port={port}", url1, url2]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        url = f"http://127.0.0.1:{port}"
        servers.wait_until_answering(url + "/ready", proc, log, "balancer", timeout=30)
        yield url, (one, two)
    finally:
        servers.stop(proc)
        one.shutdown()
        two.shutdown()


def fetch(url: str, data: bytes | None = None) -> tuple[int, dict, bytes]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def test_requests_alternate_and_bodies_pass_whole(balanced):
    url, _ = balanced
    fetch(url + "/warm")  # the order starts wherever the readiness probe left it
    seen = []
    body = os.urandom(5 << 20)  # several reads' worth each way
    for i in range(4):
        status, headers, answer = fetch(f"{url}/api/x?i={i}", body)
        doc = json.loads(answer)
        assert status == 201
        assert headers["X-Backend"] == doc["backend"]
        assert (doc["method"], doc["path"]) == ("POST", f"/api/x?i={i}")
        assert (doc["size"], doc["sha256"]) == (len(body), hashlib.sha256(body).hexdigest())
        assert doc["forwarded_for"] == "127.0.0.1"
        seen.append(doc["backend"])
    assert seen in (["one", "two"] * 2, ["two", "one"] * 2)
    status, headers, answer = fetch(url + "/big")
    assert status == 200 and answer == b"x" * (3 << 20)
    assert int(headers["Content-Length"]) == len(answer)


def test_a_backend_that_is_down_gives_a_json_502(balanced):
    url, (one, _two) = balanced
    one.shutdown()
    one.server_close()
    answers = [fetch(url + "/api/y") for _ in range(4)]
    failed = [(s, json.loads(b)) for s, _, b in answers if s == 502]
    assert len(failed) == 2  # every other request went to the stopped one
    assert all(doc["success"] is False and "unreachable" in doc["message"] for _, doc in failed)
    assert sorted(s for s, _, _ in answers) == [200, 200, 502, 502]


def test_cpu_groups_count_a_busy_process():
    """Half a second of CPU burnt during a phase is counted in its group, not in the driver's."""
    code = (
        "import sys, time\n"
        "sys.stdin.readline()\n"
        "t = time.process_time()\n"
        "while time.process_time() - t < 0.5: pass\n"
        "print('done', flush=True)\n"
        "sys.stdin.readline()\n"
    )
    burn = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        groups = CpuGroups({"burn": lambda: [burn.pid], "me": lambda: [os.getpid()]})
        groups.phase_start("p")
        burn.stdin.write("go\n")
        burn.stdin.flush()
        assert burn.stdout.readline().strip() == "done"
        groups.phase_end("p")
        phase = groups.per_phase["p"]
        assert 0.45 <= phase["burn"] <= 1.0
        assert phase["me"] < 0.3
        assert phase["machine"] >= phase["burn"]
    finally:
        burn.kill()
        burn.wait()
    assert cpu_seconds(burn.pid) is None  # gone: a group's ended processes count no more


def test_replicas_benchmark_end_to_end(db_url, tmp_path):
    """A tiny run of replicas.py: 2 replicas on a database of its own, every phase without errors.

    PostgreSQL pass only (replicas share one database); the database is created
    for the test under a unique name and dropped after it.
    """
    if not db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only (NGSHARE_TEST_DB=postgresql)")
    import uuid

    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    from benchmarks import pgdb, replicas

    base = make_url(db_url.split("?", 1)[0])
    url = str(base.set(database=f"ngshare_replicas_{uuid.uuid4().hex[:10]}")).replace(
        "***", base.password or ""
    )
    out = tmp_path / "replicas.json"
    try:
        rc = replicas.main(
            [
                f"--database={url}",
                "--replicas=2",
                "--students=6",
                "--concurrency=3",
                "--notebook-kb=20",
                "--data-mb=0.2",
                "--feedback-kb=10",
                "--max-minutes=5",
                f"--json={out}",
            ]
        )
        assert rc == 0
        run = json.loads(out.read_text())["runs"]["2"]
        assert all(r["errors"] == 0 for r in run["results"])
        # both replicas served requests, and PostgreSQL's backends were found (CPU
        # is read in clock ticks: summed over the phases, not per phase)
        for group in ("replica1", "replica2", "balancer", "postgres backends"):
            assert sum(p[group] for p in run["cpu"].values()) > 0, group
    finally:
        name = make_url(url).database
        with psycopg.connect(pgdb.libpq_dsn(url, "postgres"), autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
