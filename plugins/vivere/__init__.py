"""MenloHacks Vivere: day-of-event operations — schedule, maps, announcements and a live
mentorship queue — as the ngshare plugin ``vivere`` (mounted at ``{prefix}vivere/``).

It rebuilds the MenloHacks Vivere API (Flask + MongoDB + Pusher) on ngshare's
core services: people are core local accounts or JupyterHub users, tokens are
core tokens (also read from ``X-MenloHacks-Authorization``), live updates go
over the core event bus, expiry and dated announcements run on the core
scheduler, map images live in the core blob store. See ``docs/vivere.md``.
"""

from __future__ import annotations

from pathlib import Path

from ngshare_vivere import board, jobs
from ngshare_vivere.channels import CHANNELS
from ngshare_vivere.clock import Clock
from ngshare_vivere.config import Vivere
from ngshare_vivere.handlers import handlers
from ngshare_vivere.models import Location, VivereBase
from ngshare_vivere.openapi import PATHS
from sqlalchemy import select

from ngshare.plugin_api import Job, Plugin, ServerContext

__version__ = "1.0.0"

#: The seed's header for tokens.
TOKEN_HEADER = "X-MenloHacks-Authorization"


async def startup(ctx: ServerContext) -> None:
    """Accept tokens in the seed's header; install the clock every rule reads."""
    ctx.tokens.accept_header(TOKEN_HEADER)
    if not ctx.has_state(Clock):
        ctx.set_state(Clock())


plugin = Plugin(
    name="vivere",
    version=__version__,
    description="MenloHacks Vivere: schedule, maps, announcements and a live mentorship queue.",
    handlers=handlers,
    pages=board.pages,
    templates=board.TEMPLATES,
    static=board.STATIC,
    nav=board.nav,
    metadata=VivereBase.metadata,
    migrations=str(Path(__file__).parent / "migrations" / "versions"),
    config=Vivere,
    startup=startup,
    jobs=[
        Job(
            "vivere.announce_expired_tickets",
            jobs.announce_expired_tickets,
            "interval",
            {"seconds": jobs.SWEEP_SECONDS},
        ),
        Job(
            "vivere.publish_due_announcements",
            jobs.publish_due_announcements,
            "interval",
            {"seconds": jobs.SWEEP_SECONDS},
        ),
    ],
    channels=CHANNELS,
    openapi=PATHS,
    # map images live in the shared blob store: keep them through garbage collection
    blob_references=lambda session: session.scalars(
        select(Location.map_sha256).where(Location.map_sha256.is_not(None))
    ),
)
