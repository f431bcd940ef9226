"""Workload ``auth``: the deadline workload with JupyterHub token identity (what lookups cost).

The same phases as ``deadline``, but every request carries ``Authorization:
token <t>`` (one random token per user: the admin, the instructor and each
student) instead of ``user=``, and the server runs as a hub service that asks
``hub_standin.py`` who owns each token. Comparing its phases with a
dev-identity run of the same workload shows what identity costs; the
stand-in's counters (per phase) show how many lookups the server made: with
a per-token cache, about one per distinct token, all in the first phase each
user calls. ``run.py --workloads auth`` starts the stand-in and the servers.
"""

from __future__ import annotations

from typing import Any

from benchmarks import driver
from benchmarks.deadline import DeadlineConfig
from benchmarks.httpclient import TokenAuth
from benchmarks.hub_standin import Standin
from benchmarks.metrics import PhaseResult, ProcWatch
from benchmarks.report import _ms, _num, div, spread, table


def users_for(cfg: DeadlineConfig) -> list[str]:
    """Everyone who calls in the deadline workload (each needs a token)."""
    return [cfg.admin, cfg.instructor, *cfg.student_names]


class StandinHooks:
    """Driver hooks: the stand-in's lookups and CPU per phase, around any other hooks.

    Counts are read between phases (outside the timed part of each phase).
    """

    def __init__(self, standin: Standin, inner: Any = None) -> None:
        self.standin, self.inner = standin, inner
        self.watch = ProcWatch(standin.pid)
        self.per_phase: dict[str, dict[str, Any]] = {}
        self._start: tuple[dict, float] | None = None

    def phase_start(self, name: str) -> None:
        self._start = (self.standin.stats(), self.watch.cpu_seconds())
        if self.inner is not None:
            self.inner.phase_start(name)

    def phase_end(self, name: str) -> None:
        if self.inner is not None:
            self.inner.phase_end(name)
        stats0, cpu0 = self._start
        stats = self.standin.stats()
        self.per_phase[name] = {
            "hub_requests": stats["requests"] - stats0["requests"],
            "hub_lookups": stats["lookups"] - stats0["lookups"],
            "hub_refused": stats["refused"] - stats0["refused"],
            "standin_cpu_s": self.watch.cpu_seconds() - cpu0,
        }

    def annotate(self, results: list[PhaseResult]) -> None:
        for r in results:
            r.notes.update(self.per_phase.get(r.name, {}))


async def drive_token(
    base_url: str,
    cfg: DeadlineConfig,
    tokens: dict[str, str],
    standin: Standin,
    *,
    server_pid: int | None = None,
    transport: str = "plain",
    hooks: Any = None,
    prefix: str = "/api/",
) -> list[PhaseResult]:
    """The deadline workload with token identity; each phase notes its hub lookups."""
    h = StandinHooks(standin, hooks)
    coro = driver.drive(
        base_url,
        "deadline",
        identity=TokenAuth(tokens),
        transport=transport,
        prefix=prefix,
        server_pid=server_pid,
        hooks=h,
        deadline=cfg,
    )
    results = await coro
    h.annotate(results)
    return results


def comparison_table(token: list[PhaseResult], dev: list[PhaseResult]) -> str:
    """Token identity against dev identity, per phase.

    ``ratio`` = median ops/s token / median ops/s dev; ``spread`` = how far
    the rounds of one identity differ among themselves, the noise any ratio
    must be read against. ``other CPU`` is what the rest of the
    machine used meanwhile (metrics.py). CPU, p99 and lookups are those of the
    median run.
    """
    by_name = {r.name: r for r in dev}
    header = [
        "phase",
        "ops/s token",
        "ops/s dev",
        "ratio",
        "spread % token",
        "spread % dev",
        "p99 ms token",
        "p99 ms dev",
        "server CPU s token",
        "server CPU s dev",
        "hub lookups",
        "stand-in CPU s",
        "other CPU s token",
        "other CPU s dev",
        "err token",
        "err dev",
    ]
    rows = []
    for t in token:
        d = by_name.get(t.name)
        if d is None:
            continue
        rows.append(
            [
                t.name,
                _num(t.ops_per_s, ".1f"),
                _num(d.ops_per_s, ".1f"),
                _num(div(t.ops_per_s, d.ops_per_s), ".3f"),
                spread(t),
                spread(d),
                _ms(t.p99),
                _ms(d.p99),
                _num(t.server_cpu),
                _num(d.server_cpu),
                str(t.notes.get("hub_lookups", "-")),
                _num(t.notes.get("standin_cpu_s")),
                _num(t.other_cpu, ".1f"),
                _num(d.other_cpu, ".1f"),
                str(t.errors),
                str(d.errors),
            ]
        )
    return table(header, rows)


def standin_summary(token: list[PhaseResult], tokens_issued: int) -> str:
    """One line: lookups served against requests made and tokens handed out."""
    lookups = sum(r.notes.get("hub_lookups", 0) for r in token)
    asked = sum(r.notes.get("hub_requests", 0) for r in token)
    refused = sum(r.notes.get("hub_refused", 0) for r in token)
    cpu = sum(r.notes.get("standin_cpu_s", 0.0) for r in token)
    requests = sum(r.ops for r in token)
    return (
        f"hub stand-in: {lookups} identity lookups served ({asked} hub API requests, "
        f"{refused} refused) for {requests} requests by {tokens_issued} users with a token; "
        f"stand-in CPU {cpu:.2f} s"
    )
