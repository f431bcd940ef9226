"""CPU per phase of groups of processes (replicas, balancer, PostgreSQL, driver), from /proc.

On a 2-core machine shared with other work, ops/s says little on its own;
the CPU each part used per phase says where the time went. A group is a
function returning its current PIDs; a PID's CPU is counted from the
phase's start (or from its birth, if it appeared during the phase). CPU of a
process that ended during the phase is lost (PostgreSQL backends of pooled
connections live for the whole run).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of ``pid`` (all threads), or None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def machine_busy_seconds() -> float:
    """CPU seconds every process of the machine used (``/proc/stat``, not idle or iowait)."""
    with open("/proc/stat") as f:
        cols = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (cols + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / _TICKS


def pids_by_cmdline(fragment: str) -> Callable[[], list[int]]:
    """A group: every process whose command line contains ``fragment``."""
    needle = fragment.encode()

    def find() -> list[int]:
        out = []
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                    if needle in f.read():
                        out.append(int(entry.name))
            except OSError:
                continue
        return out

    return find


def postgres_backends(database: str) -> Callable[[], list[int]]:
    """A group: PostgreSQL's backend processes serving ``database`` (named in their title)."""
    return pids_by_cmdline(f" {database} ")


class CpuGroups:
    """Driver hooks: per phase, the CPU seconds of each group and of the whole machine."""

    def __init__(self, groups: dict[str, Callable[[], list[int]]]) -> None:
        self.groups = groups
        self.per_phase: dict[str, dict[str, float]] = {}
        self._start: dict[str, dict[int, float]] = {}
        self._busy0 = 0.0

    def _sample(self) -> dict[str, dict[int, float]]:
        out = {}
        for name, find in self.groups.items():
            out[name] = {}
            for pid in find():
                cpu = cpu_seconds(pid)
                if cpu is not None:
                    out[name][pid] = cpu
        return out

    def phase_start(self, name: str) -> None:
        self._start = self._sample()
        self._busy0 = machine_busy_seconds()

    def phase_end(self, name: str) -> None:
        end = self._sample()
        result = {}
        for group, pids in end.items():
            before = self._start.get(group, {})
            result[group] = sum(cpu - before.get(pid, 0.0) for pid, cpu in pids.items())
        result["machine"] = machine_busy_seconds() - self._busy0
        result["other"] = max(0.0, result["machine"] - sum(result[g] for g in self.groups))
        self.per_phase[name] = result


class Hooks:
    """Several driver hooks as one."""

    def __init__(self, *hooks) -> None:
        self.hooks = [h for h in hooks if h is not None]

    def phase_start(self, name: str) -> None:
        for h in self.hooks:
            h.phase_start(name)

    def phase_end(self, name: str) -> None:
        for h in self.hooks:
            h.phase_end(name)
