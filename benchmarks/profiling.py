"""Profile the server per phase with py-spy, and summarise where its time goes.

py-spy samples the server from outside (no code change, ~100 Hz; it pauses
the server briefly per sample, which ``--nonblocking`` avoids but then idle
threads are no longer told apart from busy ones). It writes
collapsed stacks (``frame;frame;... count``) per phase; :func:`summarise`
turns them into the top functions by *self* samples (time spent in the
function itself) and by *inclusive* samples (the function or its callees).

Profiling perturbs timing a little: profile in a separate run, not in the
one whose numbers you publish (``run.py --profile DIR``).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

#: Phases too short to be worth a profile (one request).
SKIP = ("create_course", "list_submissions")
#: Frames every stack has (threads, event loop, start-up): left out of "inclusive".
PLUMBING = (
    "threading.py",
    "concurrent/futures/",
    "asyncio/",
    "selectors.py",
    "(<string>)",
    "ngshare/config.py",
    "ngshare/app.py",
    "tornado/ioloop.py",
    "traitlets/",
)
#: Leaf frames of a thread that waits (a worker on its queue, the loop in epoll).
#: py-spy's own idle detection does not catch them on this VM, so drop them here.
IDLE_LEAVES = (
    "_worker (concurrent/futures/thread.py)",
    "EpollSelector.select (selectors.py)",
    "Condition.wait (threading.py)",
    "Thread._wait_for_tstate_lock (threading.py)",
)
_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def py_spy() -> str:
    exe = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(exe).exists():
        raise SystemExit("py-spy not found: pip install -r benchmarks/requirements.txt")
    return exe


class PySpyHooks:
    """Driver hooks: one ``py-spy record`` per phase, stopped (SIGINT) at phase end."""

    def __init__(self, pid: int, out_dir: Path, label: str, rate: int = 400) -> None:
        self.pid, self.out_dir, self.label, self.rate = pid, out_dir, label, rate
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._proc: subprocess.Popen | None = None
        self.files: dict[str, Path] = {}

    def phase_start(self, name: str) -> None:
        if name in SKIP:
            return
        out = self.out_dir / f"{self.label}-{name}.txt"
        self._proc = subprocess.Popen(
            [
                py_spy(),
                "record",
                "--pid",
                str(self.pid),
                "--rate",
                str(self.rate),
                "--format",
                "raw",
                "-o",
                str(out),
                # BENCH_PROFILE_GIL=1: sample only the thread holding the GIL, i.e.
                # the Python work that serialises the server
                *(["--gil"] if os.environ.get("BENCH_PROFILE_GIL") else []),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.files[name] = out
        time.sleep(0.5)  # let it attach before the phase's clock starts

    def phase_end(self, name: str) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _short(frame: str) -> str:
    m = _FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    path = m["file"]
    for marker in ("site-packages/", "lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    else:
        path = path.split("/main/", 1)[-1]
    return f"{m['func']} ({path})"


Ranking = list[tuple[str, int]]


def summarise(path: Path, top: int = 12) -> tuple[int, int, Ranking, Ranking]:
    """(busy samples, idle samples, top self, top inclusive) from a py-spy raw file."""
    total = idle = 0
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [_short(f) for f in stack.split(";")]
        frames = [f for f in frames if not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        if frames[-1] in IDLE_LEAVES:
            idle += n
            continue
        total += n
        own[frames[-1]] += n
        for f in set(frames):
            if not any(p in f for p in PLUMBING):
                inclusive[f] += n
    return total, idle, own.most_common(top), inclusive.most_common(top)


def summary_text(files: dict[str, Path], top: int = 12) -> str:
    out = []
    for phase, path in files.items():
        if not path.exists():
            continue
        total, idle, own, incl = summarise(path, top)
        if not total:
            continue
        out.append(f"#### {phase}: {total} busy samples, {idle} idle left out ({path.name})\n")
        out.append("self time (% of busy samples):\n")
        out += [f"- {100 * n / total:5.1f}%  {f}" for f, n in own]
        out.append("\ninclusive (function and callees; thread and event-loop frames left out):\n")
        out += [f"- {100 * n / total:5.1f}%  {f}" for f, n in incl]
        out.append("")
    return "\n".join(out)
