"""Two servers up at once, the sequential phases measured in alternating blocks.

The two are revisions of ours, or ours and ngshare 0.6.0 (``--against-ngshare06``).

::

    python benchmarks/ab_paired.py --base 3b825d0                 # base vs the work tree
    python benchmarks/ab_paired.py --base HEAD~1 --head HEAD --students 960 --block 30
    python benchmarks/ab_paired.py --against-ngshare06 --students 300   # ours / ngshare 0.6.0

:mod:`benchmarks.ab` runs each side's whole workload on a fresh server in
turn; on a shared virtual machine one run moves by +-10-15 %, so it sees
only large changes. The phases nbgrader runs one request at a time (collect,
release_feedback) are where a few percent of latency matter, and they can be
measured more finely: both servers are set up the same way (the
``deadline`` workload up to the listing of submissions), then blocks of
``--block`` students are collected and given feedback, one request at a
time, on one server and then on the other, alternating which goes first.
Each block on one side is paired with the same block on the other, seconds
apart, so the machine's slow stretches hit both.

The server set up last was faster in collect by 7-15 % in runs of one
revision against itself (not understood; it held for every block), so there
are two passes with fresh servers, set up in opposite orders, and the
head / base figure is the geometric mean of each pass's median paired ratio.
The table also gives each side's median ops/s, server CPU per request, and
how many paired blocks the head won. Figures from runs of a revision against
itself are in benchmarks/results/runs.md (runs AB-AF).

``--against-ngshare06`` puts ngshare 0.6.0 on the base side: the compare
targets for collect and release_feedback (ours / ngshare >= 4x) measured in
paired blocks, so a slow stretch of the machine, which in ``run.py
--compare`` falls on one server's round and not the other's, hits both.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import client_heap, driver, payloads, servers  # noqa: E402
from benchmarks.checks import envelope  # noqa: E402
from benchmarks.deadline import Deadline, DeadlineConfig  # noqa: E402
from benchmarks.httpclient import ApiClient, DevUser  # noqa: E402
from benchmarks.metrics import ProcWatch  # noqa: E402
from benchmarks.report import table  # noqa: E402

PHASES = ("collect", "release_feedback")


@dataclass
class Side:
    """One server, set up up to the listing of submissions, and its measured blocks."""

    name: str
    deadline: Deadline
    watch: ProcWatch
    feedback: dict[str, bytes]
    #: per phase: (ops/s, server CPU ms per request) of each block
    blocks: dict[str, list[tuple[float, float]]] = field(default_factory=dict)

    async def run_block(self, students: list[str]) -> None:
        """Collect, then upload feedback for, ``students`` one request at a time.

        Every answer must be a success envelope; their contents are what the
        ``deadline`` workload checks, not this tool.
        """
        for phase, request in (("collect", self._collect), ("release_feedback", self._feedback)):
            cpu0, t0 = self.watch.cpu_seconds(), time.perf_counter()
            answers = [await request(s) for s in students]
            wall, cpu = time.perf_counter() - t0, self.watch.cpu_seconds() - cpu0
            bad = [s for s, r in zip(students, answers, strict=True) if envelope(r) is None]
            if bad:
                raise RuntimeError(f"{self.name} {phase}: no success for {bad[0]}")
            self.blocks.setdefault(phase, []).append(
                (len(students) / wall, cpu / len(students) * 1e3)
            )

    def forget(self) -> None:
        """Drop what was measured so far (the warm-up)."""
        self.blocks.clear()

    async def _collect(self, student: str):
        d = self.deadline
        return await d.api.get(
            f"submission/{d.c_a}/{student}", d.cfg.instructor, timestamp=d.listed_ts[student]
        )

    async def _feedback(self, student: str):
        d = self.deadline
        return await d.api.post(
            f"feedback/{d.c_a}/{student}",
            d.cfg.instructor,
            {"timestamp": d.listed_ts[student]},
            raw={"files": self.feedback[student]},
        )


async def set_up(name: str, server: servers.Server, cfg: DeadlineConfig) -> Side:
    """The deadline workload up to the listing of submissions; feedback bodies built."""
    api = ApiClient(server.base_url, DevUser(), "plain", cfg.concurrency, "/api/")
    d = Deadline(api, cfg, None)
    for step in (
        d.create_course,
        d.enrol,
        d.release_assignment,
        d.fetch,
        d.submit,
        d.list_submissions,
    ):
        await step()
    failed = [f"{r.name}: {r.error_texts[:1]}" for r in d.results if r.errors]
    if failed:
        raise RuntimeError(f"{name}: setting up failed: {failed}")
    feedback = {
        s: payloads.files_field(d.feedback_blobs(s), line_wrapped=True) for s in cfg.student_names
    }
    return Side(name, d, ProcWatch(server.pid), feedback)


async def measure(sides: list, warm_up: list[str], chunks: list[list[str]]) -> None:
    """``warm_up`` on each side, unrecorded; then every chunk on each side, alternating
    which side goes first. (Shared with ``auth_paired.py``: a side has
    ``run_block(students)`` and ``forget()``.)
    """
    for side in sides:
        await side.run_block(warm_up)
        side.forget()
    for k, chunk in enumerate(chunks):
        for side in sides if k % 2 == 0 else reversed(sides):
            await side.run_block(chunk)


def blocks_of(students: list[str], block: int) -> list[list[str]]:
    """``students`` in consecutive blocks of ``block`` (the last may be shorter)."""
    return [students[i : i + block] for i in range(0, len(students), block)]


def paired_ratio(passes: list[list[tuple[float, float]]]) -> tuple[float, list[float], int]:
    """(geometric mean of the per-pass medians, those medians, pairs won) of
    (head, base) ops/s pairs grouped by pass. (Shared with ``auth_paired.py``.)"""
    per_pass = [statistics.median(h / b for h, b in pairs) for pairs in passes]
    wins = sum(h > b for pairs in passes for h, b in pairs)
    return statistics.geometric_mean(per_pass), per_pass, wins


def paired_table(passes: list[dict[str, Side]]) -> str:
    """Per phase: medians per side, and head / base: the paired ratios' median per pass.

    The two passes set the servers up in opposite orders, which moved the
    ratio by up to +-10 % in runs of one revision against itself; their
    geometric mean cancels that.
    """
    rows = []
    for phase in PHASES:
        b = [x for sides in passes for x in sides["base"].blocks[phase]]
        h = [x for sides in passes for x in sides["head"].blocks[phase]]
        ratio, per_pass, wins = paired_ratio(
            [
                [
                    (hh[0], bb[0])
                    for bb, hh in zip(
                        sides["base"].blocks[phase], sides["head"].blocks[phase], strict=True
                    )
                ]
                for sides in passes
            ]
        )
        rows.append(
            [
                phase,
                f"{statistics.median(x[0] for x in b):.1f}",
                f"{statistics.median(x[0] for x in h):.1f}",
                f"{ratio:.3f}",
                " / ".join(f"{r:.3f}" for r in per_pass),
                f"{wins}/{len(b)}",
                f"{statistics.fmean(x[1] for x in b):.2f}",
                f"{statistics.fmean(x[1] for x in h):.2f}",
            ]
        )
    return table(
        [
            "phase",
            "ops/s base",
            "ops/s head",
            "head / base",
            "per pass",
            "head wins",
            "CPU ms/req base",
            "CPU ms/req head",
        ],
        rows,
    )


def run_pass(
    sources: dict[str, Path | None],
    order: tuple[str, str],
    cfg: DeadlineConfig,
    block: int,
    kinds: dict[str, str],
) -> dict[str, Side]:
    """Fresh servers for both sides (of ``kinds``), set up in ``order``, then measured."""
    with ExitStack() as stack:
        running = {
            n: stack.enter_context(servers.running(kinds[n], source=sources[n])) for n in order
        }

        async def run() -> dict[str, Side]:
            sides = {n: await set_up(n, running[n], cfg) for n in order}
            students = cfg.student_names
            # the first block once more first, so both servers start warm (its
            # feedback is then uploaded twice: the second replaces the first)
            await measure(
                [sides["base"], sides["head"]], students[:block], blocks_of(students, block)
            )
            return sides

        return asyncio.run(run())


def side_kinds(against_ngshare06: bool) -> dict[str, str]:
    """The server kind of each side: the base is ngshare 0.6.0 with ``--against-ngshare06``."""
    return {"base": "ngshare06" if against_ngshare06 else "ours", "head": "ours"}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--base", help="the revision to compare against")
    which.add_argument(
        "--against-ngshare06",
        action="store_true",
        help="compare against ngshare 0.6.0 (installed in its own venv)",
    )
    p.add_argument("--head", help="the revision to test (default: the work tree)")
    p.add_argument("--block", type=int, default=30, help="students per block")
    driver.add_workload_options(p)
    p.set_defaults(students=960)
    args = p.parse_args(argv)
    cfg = driver.deadline_config(args)
    client_heap.keep_freed_buffers()
    kinds = side_kinds(args.against_ngshare06)
    if args.against_ngshare06:
        servers.ensure_ngshare06(log=lambda m: print(m, file=sys.stderr))
    with ExitStack() as stack:
        sources: dict[str, Path | None] = {"base": None, "head": None}
        if args.base:
            sources["base"] = stack.enter_context(servers.snapshot(args.base))[0]
        if args.head:
            sources["head"] = stack.enter_context(servers.snapshot(args.head))[0]
        passes = []
        for order in (("base", "head"), ("head", "base")):
            print(
                f"== pass {len(passes) + 1}/2: set up {order[0]}, then {order[1]}",
                file=sys.stderr,
                flush=True,
            )
            passes.append(run_pass(sources, order, cfg, args.block, kinds))
    blocks = sum(len(sides["base"].blocks[PHASES[0]]) for sides in passes)
    base = "ngshare 0.6.0" if args.against_ngshare06 else args.base
    print(
        f"base {base}, head {args.head or 'work tree'}: {cfg.students} students, "
        f"2 passes, {blocks} pairs of blocks of {args.block}\n"
    )
    print(paired_table(passes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
