"""Benchmark ``ngshare import ngshare06``: wall time and peak RSS of a large course.

Goal (issue 29): a 300-student course with 10 assignments and 3 submissions
each imports in at most 60 s and 300 MiB on the project's machine::

    python benchmarks/import06.py                        # 300 x 10 x 3 into SQLite
    python benchmarks/import06.py --students 50          # smaller, on a loaded machine
    python benchmarks/import06.py --database postgresql+psycopg://postgres@127.0.0.1/test

The source is built with ngshare 0.6.0's own code in its venv
(``ngshare06_populate.py``; not timed), then the import runs as users run it,
as the ``ngshare`` command in a process of its own: its wall time, and its
peak RSS as the kernel reports it for that process (``wait4``). A second run
checks that nothing is added again and how long that takes. The machine's
load average is printed alongside, since the numbers depend on it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.servers import HERE, NGSHARE06_VENV, ensure_ngshare06

GOAL_SECONDS = 60.0
GOAL_RSS_MIB = 300.0


def populate(python: Path, data_dir: Path, args: argparse.Namespace) -> float:
    started = time.monotonic()
    subprocess.run(
        [str(python), str(HERE / "ngshare06_populate.py"), str(data_dir), str(args.students),
         str(args.assignments), str(args.submissions), str(args.notebook_kb)],
        check=True, cwd=data_dir, timeout=3600,
    )  # fmt: skip
    return time.monotonic() - started


def timed_import(source: Path, target: Path, database: str | None) -> dict:
    """Run the import once; its report, wall seconds and peak RSS (MiB)."""
    command = [
        sys.executable, "-m", "ngshare", "import", "ngshare06", "--json",
        f"--from-database=sqlite:///{source / 'ngshare.db'}", f"--from-storage={source / 'files'}",
        f"--data-dir={target}", *([f"--database={database}"] if database else []),
    ]  # fmt: skip
    started = time.monotonic()
    with open(target / "import.out", "wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.PIPE, cwd=target)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"import failed ({proc.returncode}):\n{stderr[-3000:]}")
    report = json.loads((target / "import.out").read_text())
    return {"report": report, "wall": wall, "rss_mib": usage.ru_maxrss / 1024}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--assignments", type=int, default=10)
    parser.add_argument("--submissions", type=int, default=3, help="per student and assignment")
    parser.add_argument("--notebook-kb", type=int, default=20, help="size of each notebook")
    parser.add_argument("--database", help="target database URL (default: SQLite in a temp dir)")
    parser.add_argument("--ngshare06-venv", type=Path, default=NGSHARE06_VENV)
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    args = parser.parse_args(argv)

    python = ensure_ngshare06(args.ngshare06_venv)
    work = Path(tempfile.mkdtemp(prefix="ngshare-import06-"))
    try:
        source, target = work / "ngshare06", work / "target"
        source.mkdir()
        target.mkdir()
        built = populate(python, source, args)
        first = timed_import(source, target, args.database)
        again = timed_import(source, target, args.database)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    added = first["report"]["courses"][0]["added"]
    expected = args.students * args.assignments * args.submissions
    assert added["submissions"] == expected, added
    assert not any(again["report"]["courses"][0]["added"].values()), again["report"]
    size_mib = first["report"]["courses"][0]["bytes_added"] / 2**20
    load = os.getloadavg()
    verdict = (
        "met" if first["wall"] <= GOAL_SECONDS and first["rss_mib"] <= GOAL_RSS_MIB else "NOT met"
    )
    print(f"source: {args.students} students x {args.assignments} assignments x "
          f"{args.submissions} submissions, {args.notebook_kb} KiB notebooks "
          f"(built by ngshare 0.6.0's code in {built:.1f} s)")  # fmt: skip
    print(f"target: {args.database or 'SQLite'}; load average {load[0]:.2f} {load[1]:.2f} "
          f"{load[2]:.2f} on {os.cpu_count()} cores")  # fmt: skip
    print("| run | wall s | peak RSS MiB | submissions | feedback | files | MiB |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, run in (("import", first), ("rerun (adds nothing)", again)):
        a = run["report"]["courses"][0]["added"]
        mib = run["report"]["courses"][0]["bytes_added"] / 2**20
        print(f"| {name} | {run['wall']:.1f} | {run['rss_mib']:.0f} | {a['submissions']} | "
              f"{a['feedback']} | {a['files']} | {mib:.1f} |")  # fmt: skip
    print(f"goal (<= {GOAL_SECONDS:.0f} s, <= {GOAL_RSS_MIB:.0f} MiB for 300 x 10 x 3): {verdict}"
          f" at this size ({size_mib:.1f} MiB imported)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
