"""What an import did: counts per course and every problem, as text or JSON."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

#: What is counted per course, in the order the report shows it.
KINDS = ("instructors", "students", "assignments", "submissions", "feedback", "files")


@dataclass
class Problem:
    """Something not imported (or imported with a doubt), and why.

    ``fatal`` problems make the command exit non-zero: data was left behind.
    Warnings (e.g. a file whose content no longer matches ngshare 0.6's md5)
    were imported and are listed for a person to look at.
    """

    course: str
    what: str
    reason: str
    fatal: bool = True


@dataclass
class CourseReport:
    name: str
    added: Counter = field(default_factory=Counter)
    present: Counter = field(default_factory=Counter)  # already in the target: left as it is
    bytes_added: int = 0
    failed: str | None = None  # why the course's transaction was rolled back

    def line(self, dry_run: bool) -> str:
        verb = "would add" if dry_run else "added"
        if self.failed is not None:
            return f"{self.name}: FAILED, nothing written: {self.failed}"
        added = ", ".join(f"{self.added[k]} {k}" for k in KINDS)
        present = ", ".join(f"{self.present[k]} {k}" for k in KINDS if self.present[k])
        text = f"{self.name}: {verb} {added} ({_human_bytes(self.bytes_added)})"
        return text + (f"; already there: {present}" if present else "")


@dataclass
class ImportReport:
    revision: str | None
    dry_run: bool
    courses: list[CourseReport] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Everything was imported: no failed course, no file left behind."""
        return not any(c.failed for c in self.courses) and not any(p.fatal for p in self.problems)

    def text(self) -> str:
        revision = self.revision or "unknown (no alembic_version)"
        head = f"source: ngshare 0.6 database at revision {revision}"
        lines = [head, *(c.line(self.dry_run) for c in self.courses)]
        totals = Counter()
        for c in self.courses:
            totals.update(c.added)
        lines.append(
            "total: "
            + ", ".join(f"{totals[k]} {k}" for k in KINDS)
            + f" ({_human_bytes(sum(c.bytes_added for c in self.courses))})"
            + (" (dry run: nothing written)" if self.dry_run else "")
        )
        fatal = [p for p in self.problems if p.fatal]
        warnings = [p for p in self.problems if not p.fatal]
        if fatal:
            lines.append(f"NOT IMPORTED ({len(fatal)}); fix and run again to add them:")
            lines += [f"  {p.course}: {p.what}: {p.reason}" for p in fatal]
        if warnings:
            lines.append(f"warnings ({len(warnings)}), imported:")
            lines += [f"  {p.course}: {p.what}: {p.reason}" for p in warnings]
        return "\n".join(lines)

    def as_json(self) -> dict:
        return {
            "revision": self.revision,
            "dry_run": self.dry_run,
            "ok": self.ok,
            "courses": [
                {
                    "course": c.name,
                    "added": {k: c.added[k] for k in KINDS},
                    "present": {k: c.present[k] for k in KINDS},
                    "bytes_added": c.bytes_added,
                    "failed": c.failed,
                }
                for c in self.courses
            ],
            "problems": [
                {"course": p.course, "what": p.what, "reason": p.reason, "fatal": p.fatal}
                for p in self.problems
            ],
        }


def _human_bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # not reached
