"""Load driver: runs a workload against any ngshare-compatible server over HTTP.

It needs only a base URL and a way to say who is calling, so it can drive
this project's server, ngshare 0.6, or a deployment behind JupyterHub::

    python benchmarks/driver.py --base-url http://127.0.0.1:10101 --workload deadline
    python benchmarks/driver.py --base-url ... --workload bigfile --sizes-mib 16,64
    python benchmarks/driver.py --base-url ... --identity token --tokens tokens.json ...

``--server-pid`` (or, failing that, the PID found listening on the URL's
port) adds the server's CPU time and peak RSS per phase. Results are printed
as a table and, with ``--json``, written as JSON.

Workloads: ``deadline`` (deadline.py), ``bigfile`` and ``limit`` (bigfile.py).
``--identity token --tokens FILE`` (``{"user": "token"}``) sends each user's
JupyterHub API token instead of ``user=``, to drive a server behind a hub.
The benchmark's ``auth`` workload (deadline with token identity, against a
hub stand-in that hands out the tokens) is run by ``run.py --workloads auth``,
since it starts the stand-in and the server itself (auth.py, hub_standin.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from urllib.parse import urlparse

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import client_heap, report  # noqa: E402
from benchmarks.bigfile import MIB, run_bigfile, run_limit_probe  # noqa: E402
from benchmarks.deadline import Deadline, DeadlineConfig  # noqa: E402
from benchmarks.httpclient import TRANSPORTS, ApiClient, DevUser, TokenAuth  # noqa: E402
from benchmarks.metrics import PhaseResult, ProcWatch, pid_listening_on  # noqa: E402

WORKLOADS = ("deadline", "bigfile", "limit")


async def drive(
    base_url: str,
    workload: str,
    *,
    identity=None,
    transport: str = "plain",
    prefix: str = "/api/",
    server_pid: int | None = None,
    hooks=None,
    deadline: DeadlineConfig | None = None,
    sizes: list[int] = (),
    limit_probe_bytes: int = 128 * MIB,
    server_limit: int | None = None,
) -> list[PhaseResult]:
    """Run one workload and return its phases (the programmatic entry point)."""
    cfg = deadline or DeadlineConfig()
    client_heap.keep_freed_buffers()
    watch = ProcWatch(server_pid) if server_pid else None
    api = ApiClient(base_url, identity or DevUser(), transport, cfg.concurrency, prefix)
    try:
        if workload == "deadline":
            return await Deadline(api, cfg, watch, hooks).run()
        if workload == "bigfile":
            results = []
            for size in sizes:
                results += await run_bigfile(api, size, watch, hooks)
            return results
        if workload == "limit":
            return await run_limit_probe(api, limit_probe_bytes, watch, hooks, server_limit)
        raise ValueError(f"unknown workload {workload!r}")
    finally:
        await api.close()


def identity_from_args(args: argparse.Namespace):
    if args.identity == "dev":
        return DevUser()
    if not args.tokens:
        raise SystemExit("--identity token needs --tokens FILE (JSON {user: token})")
    return TokenAuth(json.loads(Path(args.tokens).read_text()))


def add_workload_options(p: argparse.ArgumentParser) -> None:
    """Options shared with run.py."""
    d = DeadlineConfig()
    p.add_argument("--students", type=int, default=d.students, help="deadline: N students")
    p.add_argument(
        "--concurrency",
        type=int,
        default=d.concurrency,
        help="requests in flight for student phases",
    )
    p.add_argument("--notebooks", type=int, default=d.notebooks)
    p.add_argument("--notebook-kb", type=int, default=d.notebook_bytes // 1000)
    p.add_argument("--data-mb", type=float, default=d.data_bytes / 1e6)
    p.add_argument("--feedback-kb", type=int, default=d.feedback_bytes // 1000)
    p.add_argument("--sizes-mib", default="16,64,128,512", help="bigfile: comma-separated sizes")
    p.add_argument(
        "--limit-probe-mib",
        type=float,
        default=96,
        help="limit: file size whose base64 body exceeds the server's limit",
    )
    p.add_argument("--transport", choices=TRANSPORTS, default="plain")


def deadline_config(args: argparse.Namespace) -> DeadlineConfig:
    return DeadlineConfig(
        students=args.students,
        concurrency=args.concurrency,
        notebooks=args.notebooks,
        notebook_bytes=args.notebook_kb * 1000,
        data_bytes=int(args.data_mb * 1e6),
        feedback_bytes=args.feedback_kb * 1000,
    )


def sizes_from_args(args: argparse.Namespace) -> list[int]:
    return [int(float(s) * MIB) for s in args.sizes_mib.split(",") if s.strip()]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--base-url", required=True, help="e.g. http://127.0.0.1:10101")
    p.add_argument("--prefix", default="/api/")
    p.add_argument(
        "--workload",
        choices=WORKLOADS,
        default="deadline",
        help="(the auth workload needs the hub stand-in: run.py --workloads auth)",
    )
    p.add_argument("--identity", choices=("dev", "token"), default="dev")
    p.add_argument("--tokens", help="JSON file {username: API token} for --identity token")
    p.add_argument("--server-pid", type=int, help="server PID for CPU/RSS (default: by port)")
    p.add_argument("--json", help="write the results here")
    add_workload_options(p)
    args = p.parse_args(argv)
    pid = args.server_pid or pid_listening_on(urlparse(args.base_url).port or 80)
    results = asyncio.run(
        drive(
            args.base_url,
            args.workload,
            identity=identity_from_args(args),
            transport=args.transport,
            prefix=args.prefix,
            server_pid=pid,
            deadline=deadline_config(args),
            sizes=sizes_from_args(args),
            limit_probe_bytes=int(args.limit_probe_mib * MIB),
        )
    )
    print(report.phase_table(results, title=f"{args.workload} @ {args.base_url}"))
    if args.json:
        Path(args.json).write_text(json.dumps([r.as_dict() for r in results], indent=1))
    return 1 if any(r.errors for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
