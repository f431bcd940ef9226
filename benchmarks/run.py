"""Run the benchmark: start a fresh server, drive it, stop it, print tables.

::

    python benchmarks/run.py                      # our server, all workloads
    python benchmarks/run.py --compare            # ours and ngshare 0.6.0, with ratios
    python benchmarks/run.py --server ngshare06 --workloads deadline --students 50
    python benchmarks/run.py --profile benchmarks/profiles --workloads deadline
    python benchmarks/run.py --workloads auth     # token identity vs dev identity
    python benchmarks/run.py --workloads deadline --database postgresql --storage s3

Every server runs on 127.0.0.1 with a fresh database in a temp dir and is
stopped by its PID whatever happens. ``bigfile`` starts a fresh server per
size so each peak RSS belongs to that size; ``limit`` starts one whose body
limit equals ngshare 0.6's (100 MiB) and sends a larger release. ``auth``
starts the hub stand-in (hub_standin.py) and a server in hub mode, runs the
deadline workload with per-user tokens, and compares it with a dev-identity
deadline run on a fresh server (reused from ``deadline`` when that ran in
the same invocation); ``--auth-rounds N`` (default 3) alternates N such
pairs and keeps the median per phase, since a 5 % comparison is below the
run-to-run noise of a shared machine. For the same reason ``--rounds N``
runs ``deadline`` N times per server, alternating which server goes first,
and reports each server's median run per phase (with the rounds' spread).
The whole run is bounded by ``--max-minutes``. Results also go to ``--json``.
``--database postgresql`` and ``--storage s3`` put our server's data in a new
PostgreSQL database and a bucket on a local S3 server (see backing.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import auth, backing, driver, hub_standin, report, roundtrips, servers  # noqa: E402
from benchmarks.bigfile import MIB  # noqa: E402
from benchmarks.cpu_groups import CpuGroups, Hooks, postgres_backends  # noqa: E402
from benchmarks.metrics import PhaseResult, median_run  # noqa: E402
from benchmarks.profiling import PySpyHooks, summary_text  # noqa: E402
from benchmarks.targets import auth_targets, evaluate, targets_table  # noqa: E402

NAMES = {"ours": "ours", "ngshare06": "ngshare 0.6.0"}


class Runner:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.deadline = driver.deadline_config(args)
        self.profile_dir = Path(args.profile) if args.profile else None
        self.profiles: dict[str, Path] = {}
        self.stop_at = time.monotonic() + args.max_minutes * 60
        self.source: Path | None = None  # set by --ours-rev
        self.roundtrips: dict[str, roundtrips.RoundTripHooks] = {}
        self.pg_cpu: dict[str, CpuGroups] = {}
        self.database_url: str | None = None  # our running server's PostgreSQL database

    @contextmanager
    def server(self, kind: str, extra: list[str] = (), hub_env: dict | None = None):
        """A fresh server; ours on ``--database`` (``postgresql``: a new one) and ``--storage``."""
        with ExitStack() as stack:
            extra = list(extra)
            database = None
            if kind == "ours":
                extra = [*self.args.server_arg, *extra]
                database = self.args.database
                if database == "postgresql":
                    database = stack.enter_context(
                        backing.postgres_database(self.args.pg_admin_url)
                    )
                if self.args.storage == "s3":
                    extra += stack.enter_context(backing.object_store())
                self.database_url = database
            yield stack.enter_context(
                servers.running(
                    kind,
                    extra,
                    source=self.source,
                    hub_env=hub_env,
                    database=database,
                    count_roundtrips=self.args.count_roundtrips and kind == "ours",
                )
            )

    def _drive(
        self,
        server: servers.Server,
        workload: str,
        label: str,
        *,
        standin: hub_standin.Standin | None = None,
        tokens: dict | None = None,
        **kw,
    ):
        hooks = None
        if self.profile_dir is not None:
            hooks = PySpyHooks(server.pid, self.profile_dir, label)
        elif self.args.count_roundtrips and server.kind == "ours":
            hooks = roundtrips.RoundTripHooks(server.pid, server.data_dir / "roundtrips.json")
            self.roundtrips[label] = hooks
        if self.database_url and server.kind == "ours":  # CPU of PostgreSQL's backends too
            name = make_url(self.database_url).database
            self.pg_cpu[label] = CpuGroups({"postgres backends": postgres_backends(name)})
            hooks = Hooks(hooks, self.pg_cpu[label])
        remaining = self.stop_at - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("--max-minutes reached")
        if standin is not None:  # the deadline workload with token identity
            coro = auth.drive_token(
                server.base_url,
                self.deadline,
                tokens,
                standin,
                server_pid=server.pid,
                transport=self.args.transport,
                hooks=hooks,
            )
        else:
            coro = driver.drive(
                server.base_url,
                workload,
                transport=self.args.transport,
                server_pid=server.pid,
                hooks=hooks,
                deadline=self.deadline,
                server_limit=server.body_limit,
                **kw,
            )
        try:
            return asyncio.run(asyncio.wait_for(coro, remaining))
        finally:
            if isinstance(hooks, PySpyHooks):
                self.profiles.update({f"{label} {k}": v for k, v in hooks.files.items()})

    def run(self, kind: str, workload: str) -> list[PhaseResult]:
        print(f"== {NAMES[kind]}: {workload}", file=sys.stderr, flush=True)
        if workload == "deadline":
            with self.server(kind) as s:
                return self._drive(s, "deadline", f"{kind}-deadline")
        if workload == "bigfile":
            results = []
            for size in driver.sizes_from_args(self.args):
                with self.server(kind) as s:  # fresh per size: VmHWM is per size
                    results += self._drive(s, "bigfile", f"{kind}-bigfile", sizes=[size])
            return results
        if workload == "limit":
            extra = [f"--NgShare.max_body_bytes={servers.NGSHARE06_BODY_LIMIT}"]
            with self.server(kind, extra if kind == "ours" else []) as s:
                probe = int(self.args.limit_probe_mib * MIB)
                return self._drive(s, "limit", f"{kind}-limit", limit_probe_bytes=probe)
        raise SystemExit(f"unknown workload {workload!r}")

    def run_auth(
        self, kind: str, reuse: list[PhaseResult] | None = None
    ) -> tuple[list[PhaseResult], list[PhaseResult]]:
        """(token identity, dev identity) phases: the median of ``--auth-rounds`` pairs.

        Rounds alternate which identity goes first, so slow drift of the
        machine does not favour one. Each run starts after ``os.sync()``, so
        that the previous run's writes (~0.3 GB, and its deleted data folder)
        are not still being flushed while this run fsyncs: without it, submit
        medians were ~20 % lower and varied more. ``reuse`` (a clean deadline
        run of this invocation) stands in for the first dev run.
        """
        tokens = hub_standin.make_tokens(auth.users_for(self.deadline))
        token_runs, dev_runs = [], []
        for i in range(self.args.auth_rounds):
            for mode in ("dev", "token") if i % 2 == 0 else ("token", "dev"):
                tag = f"round {i + 1}/{self.args.auth_rounds}"
                os.sync()
                if mode == "dev" and i == 0 and reuse and not any(r.errors for r in reuse):
                    print(
                        f"== {NAMES[kind]}: auth, dev identity: reusing deadline",
                        file=sys.stderr,
                        flush=True,
                    )
                    dev_runs.append(reuse)
                elif mode == "dev":
                    print(
                        f"== {NAMES[kind]}: auth, dev identity, {tag}", file=sys.stderr, flush=True
                    )
                    with self.server(kind) as s:
                        dev_runs.append(self._drive(s, "deadline", f"{kind}-auth-dev"))
                else:
                    print(
                        f"== {NAMES[kind]}: auth, token identity, {tag}",
                        file=sys.stderr,
                        flush=True,
                    )
                    with (
                        hub_standin.running(tokens) as hub,
                        self.server(kind, hub_env=hub.service_env()) as s,
                    ):
                        token_runs.append(
                            self._drive(
                                s, "deadline", f"{kind}-auth-token", standin=hub, tokens=tokens
                            )
                        )
        return median_run(token_runs), median_run(dev_runs)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--server", choices=tuple(NAMES), default="ours")
    p.add_argument("--compare", action="store_true", help="run ours and ngshare 0.6.0")
    p.add_argument("--workloads", default="deadline,bigfile,limit")
    p.add_argument("--max-minutes", type=float, default=30, help="stop everything after this")
    p.add_argument("--json", help="write all results here (default: benchmarks/results/)")
    p.add_argument("--profile", metavar="DIR", help="py-spy each phase of the server into DIR")
    p.add_argument(
        "--ours-rev",
        metavar="REV",
        help="run our server as committed at REV (git archive), not the working tree",
    )
    p.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="deadline: runs per server; the median per phase is reported",
    )
    p.add_argument(
        "--auth-rounds",
        type=int,
        default=3,
        help="auth: pairs of (dev, token) runs; the median per phase is reported",
    )
    p.add_argument(
        "--database",
        metavar="URL",
        help="our server on this PostgreSQL database (dropped and re-created per run: "
        "use one of your own), e.g. postgresql+psycopg://postgres@127.0.0.1:5432/bench; "
        "'postgresql': a new database on --pg-admin-url, dropped afterwards; "
        "default: SQLite in the run's temp dir",
    )
    p.add_argument(
        "--pg-admin-url",
        default=backing.PG_ADMIN_URL,
        help="where --database=postgresql creates it",
    )
    p.add_argument(
        "--storage",
        choices=("filesystem", "s3"),
        default="filesystem",
        help="our server's blob backend: its temp dir, or a bucket on a local moto_server",
    )
    p.add_argument(
        "--server-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="extra command-line setting for our server, e.g. --NgShare.db_workers=16 (repeatable)",
    )
    p.add_argument(
        "--count-roundtrips",
        action="store_true",
        help="PostgreSQL: count our server's database round trips per request and phase "
        "(benchmarks/roundtrips.py; costs CPU, so not for throughput figures)",
    )
    driver.add_workload_options(p)
    args = p.parse_args(argv)
    kinds = ["ours", "ngshare06"] if args.compare else [args.server]
    workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    if "deadline" in workloads and "auth" in workloads:  # auth reuses deadline: run it next
        workloads.remove("auth")
        workloads.insert(workloads.index("deadline") + 1, "auth")
    if "ngshare06" in kinds:
        servers.ensure_ngshare06(log=lambda m: print(m, file=sys.stderr))
    runner = Runner(args)
    results: dict[str, dict[str, list[PhaseResult]]] = {k: {} for k in kinds}
    started = time.time()
    with ExitStack() as stack:
        if args.ours_rev:
            runner.source, args.ours_revision = stack.enter_context(servers.snapshot(args.ours_rev))
        _run_all(runner, kinds, workloads, results, args, started)
    print(render(results, kinds, workloads, len(auth.users_for(runner.deadline))))
    for label, groups in runner.pg_cpu.items():
        ops = {r.name: r.ops for r in results["ours"].get("deadline", [])}
        print(f"\n## PostgreSQL backend CPU per request ({label}, last run)\n")
        print("| phase | ms/op |\n|---|---|")
        for phase, cpu in groups.per_phase.items():
            if ops.get(phase):
                print(f"| {phase} | {cpu['postgres backends'] * 1000 / ops[phase]:.2f} |")
    for label, hooks in runner.roundtrips.items():
        ops = {r.name: r.ops for r in results["ours"].get("deadline", [])}
        print(f"\n## Database round trips per request ({label})\n")
        print(roundtrips.table(hooks.per_phase, ops))
    if runner.profiles:
        print("\n## Profiles (py-spy, server process)\n")
        print(summary_text(runner.profiles))
    return 0


def _run_all(runner: Runner, kinds, workloads, results, args, started: float) -> None:
    try:
        for workload in workloads:
            if workload == "deadline" and args.rounds > 1:
                _run_rounds(runner, kinds, results, args.rounds)
                continue
            for kind in kinds:
                results[kind][workload] = _run_one(runner, kind, workload, results)
    finally:
        _write_json(args, results, started)


def _run_rounds(runner: Runner, kinds, results, rounds: int) -> None:
    """``deadline`` ``rounds`` times per server, alternating the order; medians kept."""
    runs: dict[str, list[list[PhaseResult]]] = {k: [] for k in kinds}
    for i in range(rounds):
        for kind in kinds if i % 2 == 0 else kinds[::-1]:
            print(f"== round {i + 1}/{rounds}", file=sys.stderr, flush=True)
            os.sync()  # the previous run's writes are not flushed during this one
            run = _run_one(runner, kind, "deadline", results)
            if not any(r.name.endswith("(failed)") for r in run):
                runs[kind].append(run)
    for kind in kinds:
        results[kind]["deadline"] = (
            median_run(runs[kind])
            if runs[kind]
            else [PhaseResult("deadline (failed)", errors=1, error_texts=["every round failed"])]
        )


def _run_one(runner: Runner, kind: str, workload: str, results) -> list[PhaseResult]:
    try:
        if workload == "auth":
            token, results[kind]["auth_dev"] = runner.run_auth(
                kind, reuse=results[kind].get("deadline")
            )
            return token
        return runner.run(kind, workload)
    except Exception as e:  # noqa: BLE001 - report it, go on with the rest
        print(f"!! {kind} {workload} failed: {e!r}", file=sys.stderr)
        return [PhaseResult(f"{workload} (failed)", errors=1, error_texts=[repr(e)])]


def render(results: dict, kinds: list[str], workloads: list[str], auth_users: int = 0) -> str:
    out = []
    for workload in workloads:
        out.append(f"## {workload}\n")
        if workload == "auth":
            out.append(render_auth(results, kinds, auth_users))
        elif workload == "deadline":
            for kind in kinds:
                out.append(report.phase_table(results[kind][workload], NAMES[kind]) + "\n")
            if len(kinds) == 2:
                out.append("### ours vs ngshare 0.6.0 (x = times better for ours)\n")
                out.append(report.compare_table(*(results[k][workload] for k in kinds)) + "\n")
        else:
            out.append(report.bigfile_table([(NAMES[k], results[k][workload]) for k in kinds]))
            out.append("")
    if len(kinds) == 2:
        out.append("## Targets\n")
        out.append(targets_table(evaluate(results["ours"], results["ngshare06"])))
    return "\n".join(out)


def render_auth(results: dict, kinds: list[str], auth_users: int) -> str:
    out = []
    for kind in kinds:
        token, dev = results[kind].get("auth", []), results[kind].get("auth_dev")
        out.append(
            f"### {NAMES[kind]}: token identity vs dev identity (ratio = ops/s token / dev)\n"
        )
        if dev is None:  # failed before a comparison existed
            out.append(report.phase_table(token) + "\n")
            continue
        out.append(auth.comparison_table(token, dev) + "\n")
        out.append(auth.standin_summary(token, auth_users) + "\n")
        errors = [
            f"- {mode} {r.name}: {t}"
            for mode, rs in (("token", token), ("dev", dev))
            for r in rs
            for t in r.error_texts
        ]
        if errors:
            out.append("errors (first few per phase):\n" + "\n".join(errors) + "\n")
    if len(kinds) == 2 and all(results[k].get("auth_dev") for k in kinds):
        out.append("### token identity: ours vs ngshare 0.6.0 (x = times better for ours)\n")
        out.append(report.compare_table(*(results[k]["auth"] for k in kinds)) + "\n")
    if kinds == ["ours"]:  # with --compare these are in the Targets table
        out.append("### Target\n")
        out.append(targets_table(auth_targets(results["ours"])) + "\n")
    return "\n".join(out)


def _write_json(args, results, started: float) -> None:
    path = (
        Path(args.json)
        if args.json
        else (Path(__file__).resolve().parent / "results" / time.strftime("%Y%m%d-%H%M%S.json"))
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "argv": sys.argv,
        "ours_revision": getattr(args, "ours_revision", None) or _revision(),
        "started": started,
        "seconds": time.time() - started,
        "results": {
            k: {w: [r.as_dict() for r in rs] for w, rs in v.items()} for k, v in results.items()
        },
    }
    path.write_text(json.dumps(doc, indent=1))
    print(f"results written to {path}", file=sys.stderr)


def _revision() -> str:
    """The commit our server ran from, marked dirty if ngshare/ had local changes."""
    repo = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "ngshare"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


if __name__ == "__main__":
    sys.exit(main())
