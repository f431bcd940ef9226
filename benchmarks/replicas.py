"""Scale-out benchmark: the deadline workload against 1, 2, 3... replicas behind a load balancer.

::

    python benchmarks/replicas.py --database postgresql+psycopg://postgres@127.0.0.1:5432/mine
    python benchmarks/replicas.py --database ... --replicas 1,2 --students 150
    python benchmarks/replicas.py --database ... --storage-arg=--SomeStorage.setting=value

For each replica count N: the database (your own: it is dropped and
re-created) is migrated once with ``ngshare db upgrade``; N servers
(``vngshare``, dev identity) are started one after the other on it and on one
shared data folder (filesystem storage, shared cookie secret); the small
loopback balancer of :mod:`benchmarks.balancer` is put in front; and the
deadline workload runs through it. ``--storage-arg`` passes settings to every
replica, so another blob backend (an S3-compatible store) is used by naming
its settings there. Besides ops/s per phase it reports the CPU seconds of the
driver, the balancer, each replica, PostgreSQL's backends of this database
and PostgreSQL's shared writer processes, read from /proc per phase
(:mod:`benchmarks.cpu_groups`): on a 2-core machine that says where the
ceiling is. Every process is started here and stopped by its PID; the whole
run is bounded by ``--max-minutes``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy.engine import make_url  # noqa: E402

from benchmarks import driver, pgdb, report, servers  # noqa: E402
from benchmarks.cpu_groups import CpuGroups, pids_by_cmdline, postgres_backends  # noqa: E402
from benchmarks.metrics import PhaseResult  # noqa: E402

HERE = Path(__file__).resolve().parent
#: Seconds between replica starts (staggered, as a rolling start would be).
STAGGER = 0.5
PHASES = ("fetch", "submit", "collect", "release_feedback", "fetch_feedback")


@contextmanager
def process(cmd: list[str], log_path: Path, env: dict | None = None, cwd: Path | None = None):
    """Run ``cmd`` (output to ``log_path``); stopped by its PID on the way out."""
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
    try:
        yield proc
    finally:
        servers.stop(proc)


def migrate(database: str, data_dir: Path, extra: list[str]) -> None:
    """``ngshare db upgrade`` once, before any replica starts."""
    ngshare = Path(sys.executable).with_name("ngshare")
    subprocess.run(
        [str(ngshare), "db", "upgrade", f"--NgShare.db_url={database}", f"--data-dir={data_dir}"]
        + [a for a in extra if a.startswith("--NgShare.storage") is False],
        check=True,
        capture_output=True,
        timeout=300,
    )


def nginx_command(data_dir: Path, port: int, urls: list[str]) -> list[str]:
    """nginx in the foreground, balancing over ``urls`` as deploy/nginx.conf does."""
    prefix = data_dir / "nginx"
    prefix.mkdir(exist_ok=True)
    upstreams = "".join(f"    server {u.removeprefix('http://')};\n" for u in urls)
    conf = prefix / "nginx.conf"
    conf.write_text(
        "daemon off; pid nginx.pid; error_log stderr; worker_processes 1;\n"
        "events { worker_connections 1024; }\n"
        "http { access_log off; client_body_temp_path body; proxy_temp_path proxy;\n"
        f"  upstream ngshare {{\n{upstreams}    keepalive 64;\n  }}\n"
        f"  server {{ listen 127.0.0.1:{port}; client_max_body_size 0;\n"
        "    proxy_request_buffering off; proxy_buffering off;\n"
        "    location / { proxy_pass http://ngshare; proxy_http_version 1.1;\n"
        '      proxy_set_header Connection ""; proxy_next_upstream error timeout; }\n'
        "  }\n}\n"
    )
    return [shutil.which("nginx") or "/usr/sbin/nginx", "-p", str(prefix), "-c", str(conf)]


def child_pids(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


@contextmanager
def cluster(n: int, database: str, extra: list[str], balancer: str = "python"):
    """N replicas on ``database`` and one data folder, a balancer in front: (url, pids)."""
    pgdb.recreate(database)
    data_dir = Path(tempfile.mkdtemp(prefix="ngshare-replicas-"))
    try:
        migrate(database, data_dir, [])
        with ExitStack() as stack:
            pids: dict[str, int] = {}
            urls = []
            for i in range(1, n + 1):
                port = servers.free_port()
                cmd = servers.our_command(port, data_dir, [f"--NgShare.db_url={database}", *extra])
                log = data_dir / f"replica{i}.log"
                proc = stack.enter_context(process(cmd, log, cwd=data_dir))
                url = f"http://127.0.0.1:{port}"
                servers.wait_until_answering(url + "/healthz", proc, log, f"replica {i}")
                pids[f"replica{i}"] = proc.pid
                urls.append(url)
                time.sleep(STAGGER)
            port = servers.free_port()
            log = data_dir / "balancer.log"
            if balancer == "nginx":
                cmd = nginx_command(data_dir, port, urls)
            else:
                cmd = [sys.executable, str(HERE / "balancer.py"), f"--port={port}", *urls]
            proc = stack.enter_context(process(cmd, log))
            url = f"http://127.0.0.1:{port}"
            servers.wait_until_answering(url + "/healthz", proc, log, "balancer")
            pids["balancer"] = proc.pid
            yield url, pids
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def run_one(n: int, args: argparse.Namespace) -> tuple[list[PhaseResult], dict, str]:
    database_name = make_url(args.database).database
    with cluster(n, args.database, args.storage_arg, args.balancer) as (url, pids):
        groups = {"driver": lambda: [os.getpid()]}
        groups.update({name: (lambda p=pid: [p]) for name, pid in pids.items()})
        if args.balancer == "nginx":  # its master process and the worker it forks
            groups["balancer"] = lambda p=pids["balancer"]: [p, *child_pids(p)]
        groups["postgres backends"] = postgres_backends(database_name)
        groups["postgres writers"] = pids_by_cmdline("walwriter")
        hooks = CpuGroups(groups)
        load_before = os.getloadavg()
        results = asyncio.run(
            asyncio.wait_for(
                driver.drive(url, "deadline", deadline=driver.deadline_config(args), hooks=hooks),
                args.max_minutes * 60,
            )
        )
        load = f"load average {load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after"
        return results, hooks.per_phase, load


def cpu_table(per_phase: dict[str, dict[str, float]], results: list[PhaseResult]) -> str:
    """CPU milliseconds per request of each group, per phase."""
    ops = {r.name: r.ops for r in results}
    wall = {r.name: r.wall for r in results}
    names = [p for p in PHASES if p in per_phase]
    groups = list(per_phase[names[0]]) if names else []
    header = "| phase | wall s | " + " | ".join(f"{g} ms/op" for g in groups) + " |"
    lines = [header, "|" + "---|" * (len(groups) + 2)]
    for name in names:
        n = max(1, ops.get(name, 1))
        cells = " | ".join(f"{per_phase[name][g] * 1000 / n:.2f}" for g in groups)
        lines.append(f"| {name} | {wall.get(name, 0):.2f} | {cells} |")
    lines.append("")
    lines.append(
        "Cores busy per phase (CPU seconds / wall seconds; the machine has "
        f"{os.cpu_count()}): "
        + ", ".join(
            f"{name} {per_phase[name]['machine'] / max(wall.get(name, 1), 1e-9):.2f}"
            for name in names
        )
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--database", required=True, help="a PostgreSQL URL of your own (dropped!)")
    p.add_argument("--replicas", default="1,2,3", help="replica counts to run, e.g. 1,2,3")
    p.add_argument(
        "--storage-arg",
        "--storage",
        dest="storage_arg",
        action="append",
        default=[],
        metavar="ARG",
        help="a setting for every replica (repeatable), e.g. another blob backend's; "
        "default: filesystem storage in the shared data folder",
    )
    p.add_argument(
        "--balancer",
        choices=("python", "nginx"),
        default="python",
        help="the loopback balancer: benchmarks/balancer.py, or nginx (must be installed)",
    )
    p.add_argument("--max-minutes", type=float, default=20, help="per replica count")
    p.add_argument("--json", help="write the results here")
    driver.add_workload_options(p)
    p.set_defaults(students=300)
    args = p.parse_args(argv)
    if not pgdb.is_postgresql(args.database):
        raise SystemExit("--database must be a PostgreSQL URL (replicas share one database)")
    counts = [int(x) for x in args.replicas.split(",") if x.strip()]
    out, doc = [], {"argv": sys.argv, "runs": {}}
    for n in counts:
        print(f"== {n} replica(s)", file=sys.stderr, flush=True)
        os.sync()
        results, cpu, load = run_one(n, args)
        doc["runs"][n] = {"results": [r.as_dict() for r in results], "cpu": cpu, "load": load}
        out.append(report.phase_table(results, f"{n} replica(s)"))
        out.append(f"\n{load}\n\nCPU per request (from /proc):\n")
        out.append(cpu_table(cpu, results) + "\n")
    if len(counts) > 1:
        out.append("## ops/s relative to the first replica count\n")
        base = {r["name"]: r["ops_per_s"] for r in doc["runs"][counts[0]]["results"]}
        lines = ["| phase | " + " | ".join(f"{n} replica(s)" for n in counts) + " |"]
        lines.append("|" + "---|" * (len(counts) + 1))
        for phase in PHASES:
            cells = []
            for n in counts:
                r = {x["name"]: x["ops_per_s"] for x in doc["runs"][n]["results"]}
                cells.append(
                    f"{r.get(phase, 0):.1f} "
                    f"({r.get(phase, 0) / max(base.get(phase, 1), 1e-9):.2f}x)"
                )
            lines.append(f"| {phase} | " + " | ".join(cells) + " |")
        out.append("\n".join(lines))
    print("\n".join(out))
    if args.json:
        Path(args.json).write_text(json.dumps(doc, indent=1))
    errors = sum(r["errors"] for run in doc["runs"].values() for r in run["results"])
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
