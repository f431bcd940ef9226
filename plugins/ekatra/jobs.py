"""Ekatra's scheduled work: ``ekatra.send_due``, every :data:`SEND_INTERVAL_SECONDS`.

Each run hands every due step to the notifications service
(:func:`ngshare_ekatra.engine.send_due`), a batch of ``c.Ekatra.send_batch``
learners per transaction, until nothing is due or :data:`RUN_BUDGET_SECONDS`
have passed (the next run goes on). ``now`` comes from ``ctx.state(Clock)``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ngshare_ekatra import engine
from ngshare_ekatra.clock import Clock
from ngshare_ekatra.config import Ekatra

if TYPE_CHECKING:
    from ngshare.plugin_api import ServerContext

#: How often the job looks for due messages (seconds): the longest a message waits.
SEND_INTERVAL_SECONDS = 5
#: A run stops starting new batches after this long, leaving the rest to the next.
RUN_BUDGET_SECONDS = 60.0


async def send_due(ctx: ServerContext) -> int:
    """Send everything due now; how many messages were queued."""
    settings = ctx.state(Ekatra)
    now = ctx.state(Clock).now()
    started = time.monotonic()
    learners = steps = queued = 0
    while time.monotonic() - started < RUN_BUDGET_SECONDS:
        advanced, recorded, sent = await ctx.db.run(
            engine.send_due,
            ctx.notifications,
            now,
            settings.late_after_seconds,
            settings.send_batch,
        )
        learners, steps, queued = learners + advanced, steps + recorded, queued + sent
        if advanced < settings.send_batch:
            break
    if steps:
        ctx.log.info(
            "ekatra.send_due: %d step(s) for %d learner(s), %d message(s) queued",
            steps,
            learners,
            queued,
        )
    return queued
