"""What a job run's claim costs: claim + finish of one run, through the server's database workers.

Every scheduled run now starts with a claim (``scheduler_run_claims``) and
ends by closing it, so this is the per-run overhead replicas pay for "each
run once". Runs are sequential (a job's runs are), ``--runs`` of them
(bounded), on SQLite and on a PostgreSQL database of its own.

    .venv/bin/python -m benchmarks.run_claims --runs 500 \
        --pg postgresql+psycopg://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa

from ngshare.app import build
from ngshare.config import VNgShare
from ngshare.scheduler.claims import claim, finish

#: A bound on the wall time of one backend's loop, whatever --runs says.
MAX_SECONDS = 60.0


async def measure(ctx, runs: int) -> list[float]:
    start = datetime(2030, 1, 1)
    took = []
    deadline = time.monotonic() + MAX_SECONDS
    for i in range(runs):
        if time.monotonic() > deadline:
            break
        run_at = start + timedelta(seconds=i)
        t0 = time.perf_counter()
        assert await ctx.db.run(claim, "bench.tick", run_at, "bench", 60.0, True)
        await ctx.db.run(finish, "bench.tick", run_at, "bench", None)
        took.append((time.perf_counter() - t0) * 1000)
    return took


def run_on(db_url: str, runs: int) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        config = VNgShare(db_url=db_url, data_dir=tmp, config_file="", admins=["root"])
        ctx, _ = build(config)
        try:
            return asyncio.run(measure(ctx, runs))
        finally:
            ctx.close()


def report(name: str, took: list[float]) -> str:
    took = sorted(took)
    p95 = took[int(len(took) * 0.95) - 1]
    return (
        f"| {name} | {len(took)} | {statistics.median(took):.2f} | {p95:.2f} "
        f"| {1000 / statistics.mean(took):.0f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--pg", help="URL of a PostgreSQL server's maintenance database")
    args = parser.parse_args()
    lines = ["| database | runs | median ms | p95 ms | runs/s |", "| --- | --- | --- | --- | --- |"]
    with tempfile.TemporaryDirectory() as tmp:
        lines.append(report("SQLite", run_on(f"sqlite:///{tmp}/claims.db", args.runs)))
    if args.pg:
        name = f"bench_claims_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(args.pg, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            url = args.pg.rsplit("/", 1)[0] + "/" + name
            lines.append(report("PostgreSQL", run_on(url, args.runs)))
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            admin.dispose()
    print("\n".join(lines))


if __name__ == "__main__":
    main()
