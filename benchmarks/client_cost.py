"""Which async HTTP client costs the driver the least CPU? (It shares 2 cores with the server.)

Sets up one course with the deadline release (3 notebooks + 5 MB), then for
each transport runs the same fetches and submits and reports the driver's CPU
seconds (``time.process_time``, all threads, so curl's work counts), and the
wall time per submit sent one at a time (there the client's time is latency)::

    python benchmarks/client_cost.py                      # starts our server
    python benchmarks/client_cost.py --base-url http://127.0.0.1:10101

Transports that cannot be imported (``curl`` needs pycurl) are skipped.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import sys
import time
from contextlib import nullcontext
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import payloads  # noqa: E402
from benchmarks.checks import each, envelope, verify_files  # noqa: E402
from benchmarks.deadline import Deadline, DeadlineConfig  # noqa: E402
from benchmarks.httpclient import TRANSPORTS, ApiClient  # noqa: E402
from benchmarks.payloads import Blob  # noqa: E402

NEEDS = {"plain": "asyncio", "aiohttp": "aiohttp", "tornado": "tornado", "curl": "pycurl"}


async def measure(base_url: str, kind: str, cfg: DeadlineConfig, setup: Deadline) -> dict:
    api = ApiClient(base_url, transport_kind=kind, concurrency=cfg.concurrency)
    errors: list[str] = []
    students = cfg.student_names
    out = {"transport": kind}
    try:
        t0, c0 = time.perf_counter(), time.process_time()

        async def fetch(s: str) -> None:
            doc = envelope(await api.get(f"assignment/{cfg.course}/{cfg.assignment}", s))
            if doc is None or verify_files(doc, setup.release)[1]:
                errors.append(s)

        await each(students, cfg.concurrency, fetch, errors.append)
        out["fetch_cpu_ms_per_op"] = (time.process_time() - c0) * 1000 / len(students)
        out["fetch_wall_s"] = time.perf_counter() - t0
        nb = [Blob(f"problem{i}.ipynb", t.encode()) for i, t in enumerate(setup.templates, 1)]
        field = payloads.files_field(nb)
        t0, c0 = time.perf_counter(), time.process_time()

        async def submit(s: str) -> None:
            r = await api.post(f"submission/{cfg.course}/{cfg.assignment}", s, raw={"files": field})
            if envelope(r) is None:
                errors.append(s)

        await each(students, cfg.concurrency, submit, errors.append)
        out["submit_cpu_ms_per_op"] = (time.process_time() - c0) * 1000 / len(students)
        out["submit_wall_s"] = time.perf_counter() - t0
        # one at a time, as collect and release_feedback run: the client's time is latency
        t0 = time.perf_counter()
        for s in students:
            await submit(s)
        out["sequential_submit_ms_per_op"] = (time.perf_counter() - t0) * 1000 / len(students)
    finally:
        await api.close()
    out["errors"] = len(errors)
    return out


async def run(base_url: str, cfg: DeadlineConfig) -> list[dict]:
    setup = Deadline(ApiClient(base_url, concurrency=4), cfg, None)
    await setup.create_course()
    await setup.enrol()
    await setup.release_assignment()
    await setup.api.close()
    results = []
    for kind in TRANSPORTS:
        if importlib.util.find_spec(NEEDS[kind]) is None:
            results.append({"transport": kind, "skipped": f"{NEEDS[kind]} not installed"})
            continue
        results.append(await measure(base_url, kind, cfg, setup))
    return results


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--base-url", help="a running server (default: start ours)")
    p.add_argument("--students", type=int, default=60)
    p.add_argument("--concurrency", type=int, default=8)
    args = p.parse_args()
    cfg = DeadlineConfig(students=args.students, concurrency=args.concurrency)
    if args.base_url:
        ctx = nullcontext(args.base_url)
    else:
        from benchmarks import servers

        ctx = servers.running("ours")
    with ctx as server:
        url = server if isinstance(server, str) else server.base_url
        for row in asyncio.run(run(url, cfg)):
            print(json.dumps(row))


if __name__ == "__main__":
    main()
