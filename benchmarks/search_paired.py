"""Server CPU per CourseGrab search, two servers side by side: one setting on (A) and off (B).

On a shared, loaded machine a search's latency moves by 2-3x between
identical runs; the server's CPU per request moves far less, and comparing
two servers up at the same time, in alternating blocks of the same queries,
cancels most of what is left. Both servers (``vngshare --plugins
coursegrab``, each its own data dir) ingest the same roster stand-in
(``--sections`` courses); then each round sends ``--searches`` anonymous
searches at ``--concurrency`` (kept-alive connections) to A and to B, in
alternating order, and reads each server's CPU (user + system, every
thread) from /proc before and after its block.

    .venv/bin/python benchmarks/search_paired.py --b-option=--CourseGrab.search_grams_enabled=False
    .venv/bin/python benchmarks/search_paired.py --rounds 5 --searches 3200   # A/A: no options

Reported per side: CPU ms per search per round and their median, search
latency p50 / p99 (medians of the rounds), and B's CPU over A's per round.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.coursegrab import (  # noqa: E402
    _search_load,
    coursegrab_server,
    process_cpu_seconds,
    start_roster,
)
from benchmarks.plain_http import PlainTransport  # noqa: E402
from benchmarks.vivere_server import percentile  # noqa: E402

#: One poll window a day: the first poll (10 s after start) and no other during the rounds.
POLL_INTERVAL = 86400
#: No wait for a start-up ingest lasts longer than this.
INGEST_SECONDS = 600


async def _ingested(base: str) -> None:
    """Wait until ``base`` answers a search with courses (its start-up ingest is done)."""
    client = PlainTransport(1, 60.0)
    deadline = time.monotonic() + INGEST_SECONDS
    try:
        while time.monotonic() < deadline:
            response = await client.send(
                "POST",
                base + "/api/coursegrab/courses/search",
                {"Content-Type": "application/json"},
                json.dumps({"query": "Topic 0"}).encode(),
            )
            if response.status == 200 and json.loads(response.body)["data"]["courses"]:
                return
            await asyncio.sleep(0.5)
    finally:
        await client.close()
    raise RuntimeError(f"{base}: no courses after {INGEST_SECONDS} s")


async def _block(args, base: str, pid: int, seed: int) -> tuple[float, list[float]]:
    """One block of searches to one server: (its CPU ms per search, latencies)."""
    block = argparse.Namespace(**vars(args))
    user, system = process_cpu_seconds(pid)
    latencies = await _search_load(block, base + "/api/coursegrab/", random.Random(seed), None)
    after = process_cpu_seconds(pid)
    cpu = (after[0] - user) + (after[1] - system)
    return 1000 * cpu / len(latencies), latencies


async def _rounds(args, sides: dict[str, tuple[str, int]]) -> dict:
    for base, _ in sides.values():
        await _ingested(base)
    for base, pid in sides.values():  # warm-up: first-time code paths, caches
        await _block(args, base, pid, seed=-1)
    cpu: dict[str, list[float]] = {name: [] for name in sides}
    p50: dict[str, list[float]] = {name: [] for name in sides}
    p99: dict[str, list[float]] = {name: [] for name in sides}
    loads = [os.getloadavg()[0]]
    for r in range(args.rounds):
        order = list(sides) if r % 2 == 0 else list(reversed(sides))
        for name in order:
            base, pid = sides[name]
            ms, latencies = await _block(args, base, pid, seed=r)
            cpu[name].append(round(ms, 4))
            p50[name].append(round(1000 * percentile(latencies, 50), 1))
            p99[name].append(round(1000 * percentile(latencies, 99), 1))
        loads.append(os.getloadavg()[0])
    ratios = [round(b / a, 3) for a, b in zip(cpu["A"], cpu["B"], strict=True)]
    return {
        "rounds": args.rounds,
        "searches_per_block": args.searches,
        "concurrency": args.concurrency,
        "a_options": args.a_option,
        "b_options": args.b_option,
        "cpu_ms_per_search": cpu,
        "cpu_ms_per_search_median": {k: round(statistics.median(v), 4) for k, v in cpu.items()},
        "b_over_a_cpu": ratios,
        "b_over_a_cpu_median": statistics.median(ratios),
        "search_p50_ms_median": {k: statistics.median(v) for k, v in p50.items()},
        "search_p99_ms_median": {k: statistics.median(v) for k, v in p99.items()},
        "search_p99_ms": p99,
        "load_average_1min": loads,
    }


def run(args) -> dict:
    """Both servers up, the rounds run, both stopped (by PID)."""
    standin, url, roster_loop = start_roster(args.sections, args.per_subject)
    try:
        with ExitStack() as stack:
            sides = {}
            for name, options in (("A", args.a_option), ("B", args.b_option)):
                server = coursegrab_server(url, tuple(options), poll_interval=POLL_INTERVAL)
                base, _, pid = stack.enter_context(server)
                sides[name] = (base, pid)
            return asyncio.run(_rounds(args, sides))
    finally:
        roster_loop.call_soon_threadsafe(roster_loop.stop)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sections", type=int, default=10_000)
    parser.add_argument("--per-subject", type=int, default=100)
    parser.add_argument("--searches", type=int, default=3_200, help="per block")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--a-option", action="append", default=[], help="a server option of side A (repeatable)"
    )
    parser.add_argument(
        "--b-option", action="append", default=[], help="a server option of side B (repeatable)"
    )
    args = parser.parse_args(argv)
    args.client = "plain"
    print(json.dumps(run(args), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
