"""Live channels across replicas: delivery latency and events/s, one replica against two.

Starts real ``vngshare --plugins vivere`` processes on a PostgreSQL database
of their own (created on 127.0.0.1:5432 and dropped afterwards; servers
stopped by PID), subscribes over SSE on replica A, and publishes Vivere
announcements through the HTTP API. Scenarios:

- ``local-1``: one replica, ``EventBus.backend = 'local'`` (the in-process
  bus; reference);
- ``postgres-1``: one replica, ``backend = 'postgres'`` (publish and
  subscribe on A: the NOTIFY round trip);
- ``postgres-2``: two replicas, publishers on B only for latency, on A and B
  for throughput; subscribers on A and B (``--replicas 1,2,3`` adds three:
  publishers and subscribers on every replica).

Latency: ``--latency-events`` announcements one after the other; from just
before the POST is sent to the event's arrival (end to end: HTTP, commit,
delivery), and from the event's ``time`` (taken just before its row is
written, inside the commit) to its arrival (commit + NOTIFY + fan-out; the
clock is the same machine's, ``time`` has millisecond resolution).
Throughput: ``--events`` announcements from ``--concurrency`` concurrent
publishers; events/s = events / (first send to last arrival at every
subscriber). Bounded by counts and a timeout per event.

    .venv/bin/python benchmarks/events_replicas.py --json benchmarks/results/events_replicas.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.events_replicas.replicas import (  # noqa: E402
    ANNOUNCEMENTS,
    SseClient,
    announce,
    replica_database,
    running_replicas,
)


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _latency(publish_on: str, subscriber: SseClient, count: int) -> dict:
    end_to_end, after_commit = [], []
    for n in range(count):
        sent = time.time()
        await announce(publish_on, f"latency {n}")
        event = await subscriber.next(timeout=30)
        arrived = time.time()
        assert event["data"]["message"] == f"latency {n}", event
        end_to_end.append((arrived - sent) * 1000)
        after_commit.append((arrived - _epoch(event["time"])) * 1000)
    return {
        "events": count,
        "end_to_end_ms": {"p50": _pct(end_to_end, 0.5), "p99": _pct(end_to_end, 0.99)},
        "time_to_arrival_ms": {"p50": _pct(after_commit, 0.5), "p99": _pct(after_commit, 0.99)},
    }


async def _throughput(
    publish_on: list[str], subscribers: list[SseClient], count: int, concurrency: int
) -> dict:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(count):
        queue.put_nowait(n)

    async def publisher(k: int) -> None:
        while not queue.empty():
            n = queue.get_nowait()
            await announce(publish_on[n % len(publish_on)], f"burst {n}")

    async def drain(sub: SseClient) -> list[int]:
        return [(await sub.next(timeout=30))["id"] for _ in range(count)]

    started = time.perf_counter()
    drains = [asyncio.ensure_future(drain(s)) for s in subscribers]
    await asyncio.gather(*(publisher(k) for k in range(concurrency)))
    published = time.perf_counter() - started
    received = await asyncio.gather(*drains)
    elapsed = time.perf_counter() - started
    for ids in received:
        assert ids == sorted(ids) and len(set(ids)) == count, "out of order or duplicated"
    assert all(ids == received[0] for ids in received), "replicas disagree on the order"
    return {
        "events": count,
        "concurrency": concurrency,
        "publish_seconds": round(published, 3),
        "events_per_second": round(count / elapsed, 1),
        "in_order_everywhere": True,
    }


async def _scenario(bases: list[str], args: argparse.Namespace) -> dict:
    a = bases[0]
    b = bases[1] if len(bases) > 1 else a
    lat_sub = await SseClient.connect(a, [ANNOUNCEMENTS])
    for n in range(args.warmup):
        await announce(b, f"warm-up {n}")
        await lat_sub.next(timeout=30)
    latency = await _latency(b, lat_sub, args.latency_events)
    lat_sub.close()
    subs = [await SseClient.connect(base, [ANNOUNCEMENTS]) for base in bases]
    throughput = await _throughput(bases, subs, args.events, args.concurrency)
    for sub in subs:
        sub.close()
    return {"latency": latency, "throughput": throughput}


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--latency-events", type=int, default=200)
    parser.add_argument("--events", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument(
        "--replicas",
        type=lambda v: [int(n) for n in v.split(",")],
        default=[1, 2],
        help="replica counts for the postgres scenarios (default 1,2)",
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = {"load_before": _uptime(), "cpus": os.cpu_count(), "scenarios": {}}
    scenarios = [("local-1", "local", 1)] + [
        (f"postgres-{n}", "postgres", n) for n in args.replicas
    ]
    for name, backend, count in scenarios:
        with replica_database() as db, tempfile.TemporaryDirectory() as tmp:
            with running_replicas(db.url, count, Path(tmp), backend=backend) as bases:
                outcome = asyncio.run(_scenario(bases, args))
        outcome["load_after"] = _uptime()
        results["scenarios"][name] = outcome
        lat, thr = outcome["latency"], outcome["throughput"]
        print(
            f"{name:11} latency end-to-end p50 {lat['end_to_end_ms']['p50']:.1f} ms"
            f" p99 {lat['end_to_end_ms']['p99']:.1f} ms;"
            f" time-to-arrival p50 {lat['time_to_arrival_ms']['p50']:.1f} ms"
            f" p99 {lat['time_to_arrival_ms']['p99']:.1f} ms;"
            f" {thr['events_per_second']} events/s"
            f" ({thr['events']} events, C={thr['concurrency']})",
            flush=True,
        )
    results["load_after"] = _uptime()
    print(results["load_after"])
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
