"""Per-phase measurements: latency percentiles, errors, client and server CPU, peak RSS.

The machine is shared (2 cores), so each phase also reports ``other_cpu``:
CPU time used meanwhile by everything but the server and the driver; a large
value means the timings of that phase were disturbed.

Server numbers come from ``/proc/<pid>`` of the server process (all threads):
CPU is ``utime + stime`` from ``stat``; peak memory is ``VmHWM`` from
``status``, reset at each phase start by writing ``5`` to ``clear_refs``
(Linux >= 4.0, needs the right to write there: same user or root), so every
phase reports its *own* peak. Where the reset is refused the peak is the
process's lifetime peak and the result says so (``peak_rss_scope``).
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import asdict, dataclass, field

from benchmarks.httpclient import Response

_TICKS = os.sysconf("SC_CLK_TCK")
#: Keep at most this many error texts per phase (the count is always exact).
MAX_ERROR_TEXTS = 5


class ProcWatch:
    """CPU time and memory of one (server) process, read from ``/proc``."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.can_reset_peak = True

    def cpu_seconds(self) -> float:
        with open(f"/proc/{self.pid}/stat") as f:
            stat = f.read()
        fields = stat[stat.rindex(")") + 2 :].split()
        return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime

    def _status_kb(self, key: str) -> int:
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
        raise KeyError(key)

    def rss_mib(self) -> float:
        return self._status_kb("VmRSS") / 1024

    def peak_rss_mib(self) -> float:
        return self._status_kb("VmHWM") / 1024

    def reset_peak(self) -> None:
        if not self.can_reset_peak:
            return
        try:
            with open(f"/proc/{self.pid}/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            self.can_reset_peak = False


def machine_busy_seconds() -> float:
    """CPU seconds all processes of the machine have used (``/proc/stat``, not idle/iowait)."""
    with open("/proc/stat") as f:
        cols = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (cols + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / _TICKS


def pid_listening_on(port: int) -> int | None:
    """The PID owning a loopback TCP listen socket on ``port`` (None if not visible).

    Lets the driver measure a server it did not start; needs to see its /proc.
    """
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    cols = line.split()
                    if cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                        inodes.add(cols[9])
        except OSError:
            continue
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    return int(pid)
        except OSError:
            continue
    return None


def percentile(sorted_values: list[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100) of an ascending list."""
    if not sorted_values:
        return float("nan")
    k = (len(sorted_values) - 1) * q / 100
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


@dataclass
class PhaseResult:
    """What one phase measured; every time is in seconds, memory in MiB."""

    name: str
    ops: int = 0
    errors: int = 0
    verified_files: int = 0
    wall: float = 0.0
    ops_per_s: float = 0.0
    p50: float = 0.0
    p95: float = 0.0
    p99: float = 0.0
    max: float = 0.0
    bytes_up: int = 0
    bytes_down: int = 0
    client_cpu: float = 0.0
    server_cpu: float | None = None
    #: CPU used by everything else on the machine meanwhile (other jobs disturb timings)
    other_cpu: float | None = None
    server_peak_rss_mib: float | None = None
    peak_rss_scope: str = "phase"
    error_texts: list[str] = field(default_factory=list)
    notes: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


class Phase:
    """Records one phase: ``with Phase(name, watch) as ph: ... ph.record(resp)``."""

    def __init__(self, name: str, watch: ProcWatch | None, hooks=None) -> None:
        self.result = PhaseResult(name)
        self.watch = watch
        self.hooks = hooks
        self._latencies: list[float] = []

    def __enter__(self) -> Phase:
        if self.hooks is not None:
            self.hooks.phase_start(self.result.name)
        if self.watch is not None:
            self.watch.reset_peak()
            self._server_cpu0 = self.watch.cpu_seconds()
        self._client_cpu0 = time.process_time()
        self._busy0 = machine_busy_seconds()
        self._t0 = time.perf_counter()
        return self

    def record(
        self, resp: Response, *, sent: int = 0, ok: bool | None = None, problem: str | None = None
    ) -> None:
        """Count one request; ``ok`` defaults to HTTP 200 (callers pass their verdict).

        A failed request is listed with ``problem`` if given, else its status and body.
        """
        self.result.ops += 1
        self._latencies.append(resp.seconds)
        self.result.bytes_up += sent
        self.result.bytes_down += len(resp.body)
        if ok is None:
            ok = resp.status == 200 and resp.error is None
        if not ok:
            self.error(problem or resp.describe())

    def error(self, text: str) -> None:
        self.result.errors += 1
        if len(self.result.error_texts) < MAX_ERROR_TEXTS:
            self.result.error_texts.append(text)

    def __exit__(self, *exc) -> None:
        r = self.result
        r.wall = time.perf_counter() - self._t0
        r.client_cpu = time.process_time() - self._client_cpu0
        busy = machine_busy_seconds() - self._busy0
        if self.watch is not None:
            r.server_cpu = self.watch.cpu_seconds() - self._server_cpu0
            r.server_peak_rss_mib = self.watch.peak_rss_mib()
            r.peak_rss_scope = "phase" if self.watch.can_reset_peak else "process lifetime"
            r.other_cpu = max(0.0, busy - r.client_cpu - r.server_cpu)
        lat = sorted(self._latencies)
        r.ops_per_s = r.ops / r.wall if r.wall > 0 else 0.0
        r.p50, r.p95, r.p99 = (percentile(lat, q) for q in (50, 95, 99))
        r.max = lat[-1] if lat else 0.0
        if self.hooks is not None:
            self.hooks.phase_end(r.name)


def median_run(runs: list[list[PhaseResult]]) -> list[PhaseResult]:
    """Per phase, the run with the median throughput (the lower one of an even count).

    Its notes keep every round's ops/s (``rounds_ops_per_s``) for the table's spread.
    """
    out = []
    for i, first in enumerate(runs[0]):
        candidates = [run[i] for run in runs if i < len(run) and run[i].name == first.name]
        mid = statistics.median_low(r.ops_per_s for r in candidates)
        chosen = next(r for r in candidates if r.ops_per_s == mid)
        chosen.notes["rounds_ops_per_s"] = [round(r.ops_per_s, 1) for r in candidates]
        out.append(chosen)
    return out
