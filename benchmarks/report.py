"""Tables for results: one run, or ours against ngshare 0.6 with ratios.

Tables are Markdown pipe tables so they can be pasted into
benchmarks/results/runs.md unchanged.
"""

from __future__ import annotations

import math

from benchmarks.metrics import PhaseResult


def _ms(x: float | None) -> str:
    return "-" if x is None or math.isnan(x) else f"{x * 1000:.1f}"


def _num(x: float | None, fmt: str = ".2f") -> str:
    return "-" if x is None else format(x, fmt)


def table(header: list[str], rows: list[list[str]]) -> str:
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)
    ]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), sep, *(line(r) for r in rows)])


def phase_table(results: list[PhaseResult], title: str = "") -> str:
    header = [
        "phase",
        "ops",
        "err",
        "ops/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "client CPU s",
        "server CPU s",
        "other CPU s",
        "server peak RSS MiB",
        "verified files",
    ]
    rows = [
        [
            r.name,
            str(r.ops),
            str(r.errors),
            _num(r.ops_per_s, ".1f"),
            _ms(r.p50),
            _ms(r.p95),
            _ms(r.p99),
            _num(r.client_cpu),
            _num(r.server_cpu),
            _num(r.other_cpu),
            _num(r.server_peak_rss_mib, ".0f"),
            str(r.verified_files),
        ]
        for r in results
    ]
    out = (f"### {title}\n\n" if title else "") + table(header, rows)
    errors = [f"- {r.name}: {t}" for r in results for t in r.error_texts]
    if errors:
        out += "\n\nerrors (first few per phase):\n" + "\n".join(errors)
    return out


def div(a: float | None, b: float | None) -> float | None:
    """a / b, or None when either is missing or b is 0."""
    if a is None or b is None or b == 0 or math.isnan(a) or math.isnan(b):
        return None
    return a / b


def compare_table(ours: list[PhaseResult], theirs: list[PhaseResult]) -> str:
    """Side by side per phase; every ``x`` column is "times better" for ours (>1 = ours wins).

    ``x thru`` = our ops/s / theirs; ``x p99`` = their p99 / ours; ``x CPU`` =
    their server CPU seconds / ours. With ``--rounds`` each side is its median
    run per phase, and ``spread %`` says how far its rounds differed.
    """
    by_name = {r.name: r for r in theirs}
    header = [
        "phase",
        "ops/s ours",
        "ops/s 0.6",
        "x thru",
        "spread % ours",
        "spread % 0.6",
        "p50 ms ours",
        "p50 ms 0.6",
        "p99 ms ours",
        "p99 ms 0.6",
        "x p99",
        "CPU s ours",
        "CPU s 0.6",
        "x CPU",
        "RSS MiB ours",
        "RSS MiB 0.6",
        "other CPU s ours",
        "other CPU s 0.6",
        "err ours",
        "err 0.6",
    ]
    rows = []
    for o in ours:
        t = by_name.get(o.name)
        if t is None:
            continue
        thru = div(o.ops_per_s, t.ops_per_s)
        rows.append(
            [
                o.name,
                _num(o.ops_per_s, ".1f"),
                _num(t.ops_per_s, ".1f"),
                _num(thru, ".1f"),
                spread(o),
                spread(t),
                _ms(o.p50),
                _ms(t.p50),
                _ms(o.p99),
                _ms(t.p99),
                _num(div(t.p99, o.p99), ".1f"),
                _num(o.server_cpu),
                _num(t.server_cpu),
                _num(div(t.server_cpu, o.server_cpu), ".1f"),
                _num(o.server_peak_rss_mib, ".0f"),
                _num(t.server_peak_rss_mib, ".0f"),
                _num(o.other_cpu, ".1f"),
                _num(t.other_cpu, ".1f"),
                str(o.errors),
                str(t.errors),
            ]
        )
    return table(header, rows)


def bigfile_table(runs: list[tuple[str, list[PhaseResult]]]) -> str:
    """Per server and size: time, status, peak RSS and its ratio to the file size."""
    header = [
        "server",
        "step",
        "size MiB",
        "status",
        "seconds",
        "peak RSS MiB",
        "RSS before MiB",
        "peak / size",
        "verified",
        "answer",
    ]
    rows = []
    for server, results in runs:
        for r in results:
            n = r.notes
            size = n.get("size_mib")
            peak = r.server_peak_rss_mib
            answer = n.get("message") or n.get("body_start") or n.get("transport_error") or ""
            if n.get("skipped"):
                answer = n["skipped"]
            if not n and r.error_texts:
                answer = r.error_texts[0]
            rows.append(
                [
                    server,
                    r.name.split("_")[0],
                    _num(size, ".0f"),
                    str(n.get("status", "-")),
                    _num(r.wall, ".2f") if r.ops else "-",
                    _num(peak, ".0f"),
                    _num(n.get("rss_before_mib"), ".0f"),
                    _num(peak / size if peak and size and r.ops else None, ".2f"),
                    str(r.verified_files),
                    repr(answer)[:60] if answer else "",
                ]
            )
    return table(header, rows)


def spread(r: PhaseResult) -> str:
    """(max - min) / median of the rounds' ops/s, in %; '-' for one round."""
    rounds = r.notes.get("rounds_ops_per_s") or []
    if len(rounds) < 2 or not r.ops_per_s:
        return "-"
    return f"{100 * (max(rounds) - min(rounds)) / r.ops_per_s:.0f}"
