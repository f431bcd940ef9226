"""Count the database round trips a server makes, per benchmark phase (PostgreSQL).

``run.py --count-roundtrips`` starts our server through :func:`launch`, which
wraps psycopg's ``Cursor.execute``/``executemany`` and ``Connection.commit``/
``rollback`` with counters (the last two only when a transaction is open:
otherwise psycopg sends nothing) (the ``BEGIN`` psycopg sends before a transaction's
first statement is counted with ``begin``). On ``SIGUSR2`` the server writes its
counters to the file named by ``NGSHARE_BENCH_ROUNDTRIPS``; :class:`RoundTripHooks`
asks for them at the start and end of each phase, so a phase's counts divided
by its requests are the round trips per request. The wrappers cost a little
CPU: use it for counts, not for throughput figures.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

ENV = "NGSHARE_BENCH_ROUNDTRIPS"
KINDS = ("begin", "execute", "executemany", "commit", "rollback")


def install() -> None:
    """Wrap psycopg's methods with counters; SIGUSR2 dumps them to ``$NGSHARE_BENCH_ROUNDTRIPS``."""
    import psycopg

    counts = dict.fromkeys(KINDS, 0)
    path = Path(os.environ[ENV])

    def counting(cls, name, kind):
        original = getattr(cls, name)

        def wrapper(self, *args, **kwargs):
            conn = self.connection if kind.startswith("execute") else self
            idle = conn.info.transaction_status == 0  # psycopg.pq.TransactionStatus.IDLE
            if kind.startswith("execute"):
                counts[kind] += 1
                # psycopg sends BEGIN itself before the first statement of a transaction
                counts["begin"] += idle and not conn.autocommit
            else:  # COMMIT / ROLLBACK of an idle connection send nothing
                counts[kind] += not idle
            return original(self, *args, **kwargs)

        setattr(cls, name, wrapper)

    counting(psycopg.Cursor, "execute", "execute")
    counting(psycopg.Cursor, "executemany", "executemany")
    counting(psycopg.Connection, "commit", "commit")
    counting(psycopg.Connection, "rollback", "rollback")

    def dump(_signo, _frame):
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(counts))
        tmp.replace(path)

    signal.signal(signal.SIGUSR2, dump)


def launch_code(entry: str) -> str:
    """``python -c`` source that installs the counters, then runs ngshare's ``entry``."""
    return (
        "from benchmarks.roundtrips import install\ninstall()\n"
        f"from ngshare.cli import {entry}\n{entry}()"
    )


class RoundTripHooks:
    """Driver hooks: the server's round-trip counters at each phase's start and end."""

    def __init__(self, pid: int, path: Path) -> None:
        self.pid, self.path = pid, path
        self.start: dict[str, int] = {}
        self.per_phase: dict[str, dict[str, int]] = {}

    def _read(self) -> dict[str, int]:
        before = self.path.stat().st_mtime_ns if self.path.exists() else 0
        os.kill(self.pid, signal.SIGUSR2)
        stop = time.monotonic() + 10
        while time.monotonic() < stop:
            if self.path.exists() and self.path.stat().st_mtime_ns != before:
                return json.loads(self.path.read_text())
            time.sleep(0.01)
        raise TimeoutError("the server did not write its round-trip counters")

    def phase_start(self, name: str) -> None:
        self.start = self._read()

    def phase_end(self, name: str) -> None:
        end = self._read()
        self.per_phase[name] = {k: end[k] - self.start.get(k, 0) for k in KINDS}


def table(per_phase: dict[str, dict[str, int]], ops: dict[str, int]) -> str:
    """Markdown: round trips per request of each phase."""
    lines = [
        "| phase | requests | BEGIN | statements | executemany | COMMIT | ROLLBACK "
        "| round trips / request |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, c in per_phase.items():
        n = max(1, ops.get(name, 1))
        total = sum(c.values())
        lines.append(
            f"| {name} | {ops.get(name, 0)} | {c['begin'] / n:.2f} | {c['execute'] / n:.2f} | "
            f"{c['executemany'] / n:.2f} | {c['commit'] / n:.2f} | {c['rollback'] / n:.2f} | "
            f"{total / n:.2f} |"
        )
    return "\n".join(lines)
