"""The nbgrader notebook exchange: ngshare 0.6's REST API, registered as a plugin.

It mounts at the bare prefix (``/api/courses``, ``/services/ngshare/courses``)
so that ngshare's clients work unchanged.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from sqlalchemy import func, select

from ngshare.exchange import retention, ui
from ngshare.exchange.config import Exchange
from ngshare.exchange.fetches import FetchLog
from ngshare.exchange.handlers import assignments, courses, feedback, roster, submissions
from ngshare.exchange.models import ExchangeBase, StoredFile, Submission
from ngshare.exchange.openapi import PATHS
from ngshare.exchange.response_cache import ResponseCache
from ngshare.exchange.ui import openapi as ui_openapi
from ngshare.exchange.ui import pages as ui_pages
from ngshare.exchange.wire import SubmissionClock
from ngshare.plugin_api import Job, NavEntry, Plugin, ServerContext, __version__, collect_garbage


async def startup(ctx: ServerContext) -> None:
    """Make the fetch cache; seed the submission clock past the newest stored timestamp."""
    ctx.set_state(ResponseCache(ctx.state(Exchange).response_cache_bytes))
    ctx.set_state(FetchLog())
    clock = SubmissionClock()
    clock.advance_past(await ctx.db.run(lambda s: s.scalar(select(func.max(Submission.timestamp)))))
    ctx.set_state(clock)


async def purge_deleted(ctx: ServerContext) -> None:
    """Remove what was deleted longer than the retention period ago, then its orphaned blobs."""
    n = await ctx.db.run(retention.purge_expired, ctx.state(Exchange).retention)
    if n:
        ctx.log.info("exchange.purge_deleted: purged %d item(s) past retention", n)
        removed = await collect_garbage(ctx)
        ctx.log.info("exchange.purge_deleted: removed %d unreferenced blob(s)", removed)


def trash_command(ctx: ServerContext, argv: list[str]) -> int:
    """``ngshare trash list | restore (course|assignment) ID | purge``."""
    settings = ctx.state(Exchange)  # the server's settings (config file and command line)
    action = argv[0] if argv else "list"
    try:
        if action == "list":
            items = ctx.db.run_sync(retention.list_deleted, settings.retention)
            print(json.dumps(items, indent=2))
        elif action == "restore" and len(argv) == 3 and argv[2].isdigit():
            print(ctx.db.run_sync(retention.restore, argv[1], int(argv[2])))
        elif action == "purge":
            print(f"purged {ctx.db.run_sync(retention.purge_expired, settings.retention)} item(s)")
        else:
            print(trash_command.__doc__, file=sys.stderr)
            return 2
    except retention.RestoreError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


plugin = Plugin(
    name="exchange",
    mount="",
    version=__version__,
    handlers=[
        *courses.handlers,
        *roster.handlers,
        *assignments.handlers,
        *submissions.handlers,
        *feedback.handlers,
    ],
    metadata=ExchangeBase.metadata,
    migrations=str(Path(__file__).parent / "migrations" / "versions"),
    config=Exchange,
    startup=startup,
    jobs=[Job("exchange.purge_deleted", purge_deleted, "interval", {"hours": 1})],
    commands={"trash": trash_command},
    openapi=PATHS | ui_openapi.PATHS,
    blob_references=lambda session: session.scalars(select(StoredFile.sha256).distinct()),
    description="The nbgrader notebook exchange (ngshare 0.6 compatible).",
    pages=ui_pages.pages,
    templates=ui.TEMPLATES,
    static=ui.STATIC,
    nav=[NavEntry("Courses", "ui/")],
)
