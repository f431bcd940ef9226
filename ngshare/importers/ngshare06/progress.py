"""Progress of an import: a tqdm bar per phase on a terminal, nothing in logs.

Bars are drawn only when the stream is a terminal; redirected to a file or a
journal the import prints just its final report, so logs stay quiet.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from tqdm import tqdm


class Progress:
    """Draws one bar per phase (``enabled=None``: only on a terminal)."""

    def __init__(self, stream: TextIO | None = None, enabled: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled

    @contextmanager
    def phase(
        self, description: str, total: int | None = None, *, in_bytes: bool = False
    ) -> Iterator[tqdm]:
        """A bar for one phase; ``in_bytes`` counts bytes (KiB, MiB ...) instead of items."""
        bar = tqdm(
            total=total,
            desc=description,
            file=self.stream,
            disable=not self.enabled,
            unit="B" if in_bytes else " items",
            unit_scale=in_bytes,
            unit_divisor=1024,
            leave=True,
        )
        try:
            yield bar
        finally:
            bar.close()
