"""Remove blobs that no feature set refers to any more.

Blobs are shared (identical content is stored once), so a blob may go only
when no row of any enabled plugin points at it: each plugin lists the digests
it uses through :attr:`Plugin.blob_references`. Blobs younger than
``grace_seconds`` are kept whatever the rows say, because an upload commits
its blobs a moment *before* the rows that reference them.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from ngshare.models import utcnow
from ngshare.storage import TEMP_GRACE_SECONDS

if TYPE_CHECKING:
    from ngshare.context import ServerContext
    from ngshare.plugin import Plugin

DEFAULT_GRACE_SECONDS = 24 * 3600.0


def referenced_digests(session: Any, plugins: Iterable[Plugin]) -> set[str]:
    """Every digest a row of one of ``plugins`` refers to (what must be kept)."""
    digests: set[str] = set()
    for plugin in plugins:
        if plugin.blob_references is not None:
            digests.update(plugin.blob_references(session))
    return digests


def collect_garbage_sync(ctx: ServerContext, grace_seconds: float = DEFAULT_GRACE_SECONDS) -> int:
    """Delete unreferenced blobs older than ``grace_seconds``; return how many (blocking)."""
    keep = ctx.db.run_sync(referenced_digests, ctx.plugins)
    cutoff = time.time() - grace_seconds
    removed = 0
    files = ctx.storage.files
    for stored in list(files.scan()):
        digest = stored.digest
        if digest is None or digest in keep or stored.mtime >= cutoff:
            continue
        # the age is checked again at removal: the blob may have been stored again
        if files.remove_if_older(stored.name, cutoff):
            removed += 1
    # small blobs kept in the database: touched_at is their mtime
    removed += ctx.storage.remove_untouched_since(utcnow() - timedelta(seconds=grace_seconds), keep)
    # leftovers of requests that died between staging and committing: temp
    # files have their own, shorter grace (no row can come to refer to them)
    ctx.storage.sweep_temp(time.time() - TEMP_GRACE_SECONDS)
    return removed


async def collect_garbage(ctx: ServerContext, grace_seconds: float = DEFAULT_GRACE_SECONDS) -> int:
    """:func:`collect_garbage_sync` on a worker thread."""
    return await ctx.run_blocking(collect_garbage_sync, ctx, grace_seconds)


def storage_command(ctx: ServerContext, argv: list[str]) -> int:
    """``ngshare storage gc [GRACE_SECONDS]``: remove unreferenced blobs."""
    if not argv or argv[0] != "gc" or len(argv) > 2:
        print("usage: ngshare storage gc [GRACE_SECONDS] | migrate --from BACKEND --to BACKEND")
        return 2
    grace = float(argv[1]) if len(argv) == 2 else DEFAULT_GRACE_SECONDS
    print(f"removed {collect_garbage_sync(ctx, grace)} unreferenced blob(s)")
    return 0
