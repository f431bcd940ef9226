"""A dated job for the replica tests, imported by the server processes (``tests.replicas.jobs``)."""

from __future__ import annotations

import asyncio
from pathlib import Path


async def hold_the_run(ctx, marker: str, seconds: float) -> None:
    """Note which replica started; a first attempt takes ``seconds``, a later one a moment."""
    path = Path(marker)
    first = not path.exists()
    with path.open("a") as f:
        f.write(f"start {ctx.config.replica_id}\n")
    await asyncio.sleep(seconds if first else 0.5)
    with path.open("a") as f:
        f.write(f"done {ctx.config.replica_id}\n")
