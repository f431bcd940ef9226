"""How long does creating a file take in a folder, right now?

On ext4 without a journal, creating a file skips inodes deleted in the last
minutes, reading their inode table blocks to find out (kernel functions
``find_inode_bit`` and ``recently_deleted``). In a folder where many files
were recently deleted (a benchmark's data folder removed, /tmp) a creation
costs many times what it costs in a fresh folder, whatever server is
measured. This is why small files are kept in the database
(docs/contributor/decisions.md, 23)::

    python benchmarks/file_create_cost.py /tmp /var/tmp
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time


def creation_ms(parent: str, count: int) -> float:
    """Median milliseconds of ``mkstemp`` for ``count`` files in a new folder under ``parent``."""
    folder = tempfile.mkdtemp(dir=parent, prefix="create-cost-")
    try:
        times = []
        for _ in range(count):
            start = time.perf_counter()
            fd, _path = tempfile.mkstemp(dir=folder)
            times.append(time.perf_counter() - start)
            os.close(fd)
        return statistics.median(times) * 1e3
    finally:
        shutil.rmtree(folder)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("parents", nargs="+", help="folders to create the test folders in")
    p.add_argument("--count", type=int, default=900, help="files per folder")
    args = p.parse_args(argv)
    for parent in args.parents:
        print(f"{parent}: median {creation_ms(parent, args.count):.3f} ms per file creation")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
