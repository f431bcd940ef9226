"""Our server at two revisions, side by side: did a change make it faster?

::

    python benchmarks/ab.py --base 95a9fe5                 # base vs the work tree, 5 rounds
    python benchmarks/ab.py --base HEAD~1 --head HEAD --rounds 7 --students 100

Each round runs the ``deadline`` workload once on a fresh server of each
revision, alternating which goes first (with ``os.sync()`` before each run),
and the table gives each phase's median ops/s per revision, their ratio, and
how many rounds the new revision won. On a shared virtual machine one run of
the same code moves by ±15 %, so a change worth a few percent shows only in
medians and win counts over several alternating rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
from contextlib import ExitStack
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import driver, servers  # noqa: E402
from benchmarks.metrics import PhaseResult  # noqa: E402
from benchmarks.report import table  # noqa: E402


def run_once(source: Path | None, args: argparse.Namespace) -> list[PhaseResult]:
    with servers.running("ours", source=source) as s:
        return asyncio.run(
            driver.drive(
                s.base_url,
                "deadline",
                server_pid=s.pid,
                deadline=driver.deadline_config(args),
            )
        )


def ab_table(base: list[list[PhaseResult]], head: list[list[PhaseResult]]) -> str:
    """Per phase: median ops/s of each side, head / base, and head's wins (paired by round)."""
    rows = []
    for i, first in enumerate(base[0]):
        b = [run[i].ops_per_s for run in base]
        h = [run[i].ops_per_s for run in head]
        mb, mh = statistics.median(b), statistics.median(h)
        wins = sum(1 for x, y in zip(b, h, strict=True) if y > x)
        errors = sum(run[i].errors for run in base + head)
        rows.append(
            [
                first.name,
                f"{mb:.1f}",
                f"{mh:.1f}",
                f"{mh / mb:.3f}" if mb else "-",
                f"{wins}/{len(b)}",
                str(errors),
            ]
        )
    return table(["phase", "ops/s base", "ops/s head", "head / base", "head wins", "errors"], rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--base", required=True, help="the revision to compare against")
    p.add_argument("--head", help="the revision to test (default: the work tree)")
    p.add_argument("--rounds", type=int, default=5)
    driver.add_workload_options(p)
    args = p.parse_args(argv)
    runs: dict[str, list[list[PhaseResult]]] = {"base": [], "head": []}
    with ExitStack() as stack:
        sources = {"base": stack.enter_context(servers.snapshot(args.base))[0], "head": None}
        if args.head:
            sources["head"] = stack.enter_context(servers.snapshot(args.head))[0]
        for i in range(args.rounds):
            for side in ("base", "head") if i % 2 == 0 else ("head", "base"):
                print(f"== round {i + 1}/{args.rounds}: {side}", file=sys.stderr, flush=True)
                os.sync()
                runs[side].append(run_once(sources[side], args))
    print(f"base {args.base}, head {args.head or 'work tree'}, {args.rounds} rounds\n")
    print(ab_table(runs["base"], runs["head"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
