"""Memory over repeated ``deadline`` runs: does the server's RSS keep growing, or level off?

Runs the ``deadline`` workload ``--rounds`` times against one fresh server
(each round its own course, so every round stores new content), then lets it
idle. After each round and after the idle period it asks the server, through a
signal handler installed at its start (``sitecustomize`` on its
``PYTHONPATH``), for:

- its RSS;
- the Python heap: ``sys.getallocatedblocks()`` and the number of objects the
  garbage collector tracks (a Python-level leak grows these round after round);
- the exchange's response cache (entries and bytes: bounded by
  ``c.Exchange.response_cache_bytes``);
- at the end only, its RSS again after ``malloc_trim(0)`` (the difference is
  freed memory that glibc keeps for reuse).

So a growth is attributed: Python objects, the cache, or freed memory the C
library keeps. Nothing is changed in the server itself; the handler only reads,
apart from the trim. Examples::

    python benchmarks/soak.py --rounds 3 --students 100 --idle 20
    python benchmarks/soak.py --rounds 6 --students 300 --idle 60 --json /tmp/soak.json
    python benchmarks/soak.py --rounds 3 --extra=--Exchange.response_cache_bytes=0
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.deadline import DeadlineConfig  # noqa: E402
from benchmarks.driver import drive  # noqa: E402
from benchmarks.metrics import ProcWatch  # noqa: E402
from benchmarks.servers import running  # noqa: E402

#: Installed in the server by ``sitecustomize``: on SIGUSR2, write a memory report.
PROBE = r"""
import ctypes, gc, json, os, signal, sys

_cache = []  # the exchange's ResponseCache, found once (it is frozen: see ngshare.gc_freeze)

def _rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0

def _find_cache():
    frozen = gc.get_freeze_count()
    gc.unfreeze()
    try:
        for obj in gc.get_objects():
            if type(obj).__name__ == "ResponseCache" and hasattr(obj, "_entries"):
                _cache.append(obj)
                break
    finally:
        if frozen:
            gc.freeze()

def _report(signum, frame):
    path = os.environ["NGSHARE_SOAK_REPORT"]
    if not _cache:
        _find_cache()
    cache = {"entries": None, "bytes": None}
    if _cache:
        cache = {"entries": len(_cache[0]._entries), "bytes": _cache[0]._size}
    out = {
        "rss_kib": _rss_kib(),
        "allocated_blocks": sys.getallocatedblocks(),
        "gc_objects": len(gc.get_objects()) + gc.get_freeze_count(),
        "response_cache": cache,
        "rss_after_trim_kib": None,
    }
    if os.path.exists(path + ".trim"):
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
            out["rss_after_trim_kib"] = _rss_kib()
        except OSError:
            pass
    with open(path + ".part", "w") as f:
        json.dump(out, f)
    os.replace(path + ".part", path)

signal.signal(signal.SIGUSR2, _report)
"""


def ask(pid: int, report: Path, trim: bool = False, timeout: float = 30.0) -> dict:
    """Signal the server and wait for its memory report; ``trim``: then ``malloc_trim(0)``."""
    report.unlink(missing_ok=True)
    marker = report.with_name(report.name + ".trim")
    if trim:
        marker.touch()
    else:
        marker.unlink(missing_ok=True)
    os.kill(pid, signal.SIGUSR2)
    deadline = time.monotonic() + timeout
    while not report.exists():
        if time.monotonic() > deadline:
            raise RuntimeError("the server did not write its memory report")
        time.sleep(0.05)
    return json.loads(report.read_text())


def row(label: str, r: dict) -> str:
    trim = r["rss_after_trim_kib"]
    cache = r["response_cache"]
    trimmed = "-" if trim is None else f"{trim / 1024:.0f}"
    cached = "-" if cache["bytes"] is None else f"{cache['bytes'] / 2**20:.1f}"
    return (
        f"| {label} | {r['rss_kib'] / 1024:.0f} | {trimmed} | {r['allocated_blocks']} | "
        f"{r['gc_objects']} | {cache['entries']} | {cached} |"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--students", type=int, default=100)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--idle", type=float, default=20.0, help="seconds idle after the rounds")
    p.add_argument("--extra", action="append", default=[], help="an option for the server")
    p.add_argument("--json", help="write the reports here")
    args = p.parse_args(argv)
    if not 1 <= args.rounds <= 50:
        p.error("--rounds: 1 to 50")
    probe_dir = Path(tempfile.mkdtemp(prefix="ngshare-soak-"))
    (probe_dir / "sitecustomize.py").write_text(PROBE)
    report = probe_dir / "report.json"
    os.environ["NGSHARE_SOAK_REPORT"] = str(report)
    os.environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(probe_dir), os.environ.get("PYTHONPATH")])
    )
    reports: list[tuple[str, dict]] = []
    with running("ours", extra=args.extra) as server:
        watch = ProcWatch(server.pid)
        reports.append(("started", ask(server.pid, report)))
        for i in range(1, args.rounds + 1):
            cfg = DeadlineConfig(
                students=args.students, concurrency=args.concurrency, course=f"soak{i}"
            )
            t0 = time.monotonic()
            phases = asyncio.run(
                drive(server.base_url, "deadline", deadline=cfg, server_pid=server.pid)
            )
            errors = sum(ph.errors for ph in phases)
            peak = watch.peak_rss_mib()
            r = ask(server.pid, report)
            r.update(seconds=round(time.monotonic() - t0, 1), errors=errors, peak_rss_mib=peak)
            reports.append((f"after round {i}", r))
            print(f"round {i}: {r['seconds']} s, {errors} errors", file=sys.stderr)
        time.sleep(args.idle)
        reports.append((f"idle {args.idle:.0f} s", ask(server.pid, report, trim=True)))
    print(
        "| when | RSS MiB | RSS after malloc_trim MiB | Python blocks | gc objects "
        "| cache entries | cache MiB |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for label, r in reports:
        print(row(label, r))
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {"args": vars(args), "reports": [{"when": w, **r} for w, r in reports]}, indent=2
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
