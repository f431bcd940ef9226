"""The import's progress bars: drawn on a terminal, silent anywhere else."""

from __future__ import annotations

import io

from ngshare.importers.ngshare06.progress import Progress


class Terminal(io.StringIO):
    """A stream that says it is a terminal (as stderr does in an interactive shell)."""

    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_bar_per_phase_with_counts_and_bytes():
    stream = Terminal()
    progress = Progress(stream)
    with progress.phase("checking the old storage", total=4) as bar:
        bar.update(4)
    with progress.phase("importing", total=3 * 1024 * 1024, in_bytes=True) as bar:
        bar.update(3 * 1024 * 1024)
    text = stream.getvalue()
    assert "checking the old storage: 100%" in text and "4/4" in text
    assert "importing: 100%" in text and "3.00M/3.00M" in text


def test_a_log_file_gets_nothing():
    stream = io.StringIO()  # not a terminal: a redirected stderr, a journal
    progress = Progress(stream)
    assert progress.enabled is False
    with progress.phase("importing", total=10, in_bytes=True) as bar:
        bar.update(10)
    assert stream.getvalue() == ""
