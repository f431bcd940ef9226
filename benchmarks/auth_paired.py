"""Token identity against dev identity in the fetch phase: two servers up at once, paired blocks.

::

    python benchmarks/auth_paired.py                      # 2 passes of 11 blocks of 300 fetches
    python benchmarks/auth_paired.py --head-rev HEAD      # our server as committed

The ``auth`` workload (``run.py --workloads auth``) compares whole runs on
fresh servers, one after the other; on a shared virtual machine a phase of
one run moves by 15-60 % against the next, so nine rounds put the fetch
ratio somewhere in 0.93-0.95 and phases that make no lookup at all anywhere
in 0.92-1.18. Fetch is the phase where every request is a student's first,
so every one of them waits for a hub lookup; this tool measures only it, finely:

* one server runs as a hub service against ``hub_standin.py`` (token
  identity), one in dev mode (``user=``); both are set up alike (a course,
  ``--students`` enrolled, the deadline's release);
* then blocks of ``--block`` students, each student new to both servers,
  fetch the release (C at a time, every answer checked) from one server and
  then the other, alternating who goes first. On the token side each
  block therefore costs ``--block`` hub lookups (checked against the
  stand-in's counter); the first block of each pass is a warm-up, not recorded;
* as in ``ab_paired.py``, two passes with fresh servers set up in opposite
  orders, and token / dev is the geometric mean of each pass's median
  paired ratio (ops/s token / ops/s dev of the same block, seconds apart).

The table also gives the blocks the token side won, each side's median
ops/s and p50 latency, its server CPU per fetch, and the stand-in's CPU per
block.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import auth, client_heap, driver, hub_standin, servers  # noqa: E402
from benchmarks.ab_paired import blocks_of, measure, paired_ratio  # noqa: E402
from benchmarks.deadline import Deadline, DeadlineConfig  # noqa: E402
from benchmarks.httpclient import ApiClient, DevUser, TokenAuth  # noqa: E402
from benchmarks.metrics import PhaseResult, ProcWatch  # noqa: E402
from benchmarks.report import table  # noqa: E402

SIDES = ("token", "dev")


@dataclass
class Side:
    """One server with the release in place, and its measured fetch blocks."""

    name: str
    deadline: Deadline
    standin: hub_standin.Standin | None = None
    blocks: list[PhaseResult] = field(default_factory=list)
    #: per block: (hub lookups, stand-in CPU s); token side only
    hub: list[tuple[int, float]] = field(default_factory=list)

    async def run_block(self, students: list[str]) -> None:
        """``students`` fetch the release; any error, or a lookup count off, stops the run."""
        d = self.deadline
        before = self.standin.stats()["lookups"] if self.standin else 0
        watch = ProcWatch(self.standin.pid) if self.standin else None
        cpu0 = watch.cpu_seconds() if watch else 0.0
        d.results.clear()
        await d.fetch(students)
        result = d.results[-1]
        if result.errors or result.ops != len(students):
            raise RuntimeError(f"{self.name}: fetch block failed: {result.error_texts[:1]}")
        if self.standin is not None:
            lookups = self.standin.stats()["lookups"] - before
            if lookups != len(students):  # every student is new: one lookup each
                raise RuntimeError(f"token: {lookups} hub lookups for {len(students)} students")
            self.hub.append((lookups, watch.cpu_seconds() - cpu0))
        self.blocks.append(result)

    def forget(self) -> None:
        """Drop what was measured so far (the warm-up)."""
        self.blocks.clear()
        self.hub.clear()


async def set_up(
    name: str,
    server: servers.Server,
    cfg: DeadlineConfig,
    identity,
    standin: hub_standin.Standin | None,
) -> Side:
    """A course, every student enrolled, the release in place (built for fetching)."""
    api = ApiClient(server.base_url, identity, "plain", cfg.concurrency, "/api/")
    d = Deadline(api, cfg, ProcWatch(server.pid))
    for step in (d.create_course, d.enrol, d.release_assignment):
        await step()
    failed = [f"{r.name}: {r.error_texts[:1]}" for r in d.results if r.errors]
    if failed:
        raise RuntimeError(f"{name}: setting up failed: {failed}")
    return Side(name, d, standin)


def run_pass(
    order: tuple[str, str], cfg: DeadlineConfig, block: int, source: Path | None
) -> dict[str, Side]:
    """Fresh servers (and stand-in), set up in ``order``, then measured."""
    tokens = hub_standin.make_tokens(auth.users_for(cfg))
    with ExitStack() as stack:
        hub = stack.enter_context(hub_standin.running(tokens))
        running = {}
        for name in order:
            env = hub.service_env() if name == "token" else None
            running[name] = stack.enter_context(servers.running("ours", source=source, hub_env=env))

        async def run() -> dict[str, Side]:
            sides = {}
            for name in order:
                identity = TokenAuth(tokens) if name == "token" else DevUser()
                sides[name] = await set_up(
                    name, running[name], cfg, identity, hub if name == "token" else None
                )
            chunks = blocks_of(cfg.student_names, block)
            # every student new to both servers: the warm-up block is not measured again
            await measure([sides["token"], sides["dev"]], chunks[0], chunks[1:])
            return sides

        return asyncio.run(run())


def paired_table(passes: list[dict[str, Side]]) -> str:
    """token / dev: the paired ratios' median per pass, and their geometric mean."""
    ratio, per_pass, wins = paired_ratio(
        [
            [
                (t.ops_per_s, d.ops_per_s)
                for t, d in zip(p["token"].blocks, p["dev"].blocks, strict=True)
            ]
            for p in passes
        ]
    )
    token = [b for p in passes for b in p["token"].blocks]
    dev = [b for p in passes for b in p["dev"].blocks]
    hub = [h for p in passes for h in p["token"].hub]
    row = [
        "fetch",
        f"{statistics.median(b.ops_per_s for b in token):.1f}",
        f"{statistics.median(b.ops_per_s for b in dev):.1f}",
        f"{ratio:.3f}",
        " / ".join(f"{r:.3f}" for r in per_pass),
        f"{wins}/{len(token)}",
        f"{statistics.median(b.p50 for b in token) * 1e3:.1f}",
        f"{statistics.median(b.p50 for b in dev) * 1e3:.1f}",
        f"{statistics.fmean(b.server_cpu / b.ops for b in token) * 1e3:.2f}",
        f"{statistics.fmean(b.server_cpu / b.ops for b in dev) * 1e3:.2f}",
        f"{sum(h[0] for h in hub) / len(hub):.0f}",
        f"{statistics.median(h[1] for h in hub):.3f}",
    ]
    return table(
        [
            "phase",
            "ops/s token",
            "ops/s dev",
            "token / dev",
            "per pass",
            "token wins",
            "p50 ms token",
            "p50 ms dev",
            "server CPU ms/fetch token",
            "server CPU ms/fetch dev",
            "hub lookups/block",
            "stand-in CPU s/block",
        ],
        [row],
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--head-rev",
        metavar="REV",
        help="run our server as committed at REV (default: the work tree)",
    )
    p.add_argument("--block", type=int, default=300, help="students per block")
    driver.add_workload_options(p)
    p.set_defaults(students=3300)
    args = p.parse_args(argv)
    cfg = driver.deadline_config(args)
    if cfg.students < 2 * args.block:
        p.error("--students must hold at least two blocks (the first is a warm-up)")
    client_heap.keep_freed_buffers()
    with ExitStack() as stack:
        source = stack.enter_context(servers.snapshot(args.head_rev))[0] if args.head_rev else None
        passes = []
        for order in (SIDES, SIDES[::-1]):
            print(
                f"== pass {len(passes) + 1}/2: set up {order[0]}, then {order[1]}",
                file=sys.stderr,
                flush=True,
            )
            passes.append(run_pass(order, cfg, args.block, source))
    blocks = len(passes[0]["token"].blocks) + len(passes[1]["token"].blocks)
    print(
        f"our server ({args.head_rev or 'work tree'}): {cfg.students} students, 2 passes, "
        f"{blocks} pairs of fetch blocks of {args.block} (C={cfg.concurrency})\n"
    )
    print(paired_table(passes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
