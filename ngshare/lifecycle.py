"""Starting and stopping the feature sets: the core services first, then the plugins.

The order is the contract every hook relies on:

1. each core service's ``startup`` (``ctx.scheduler``, ``ctx.events``,
   ``ctx.tokens``, ``ctx.accounts`` exist from here on), in
   :data:`ngshare.app.CORE_SERVICES` order;
2. each plugin's ``startup``, in load order;
3. every ``ready`` hook, services first (the scheduler's timer starts here,
   so no job runs before its plugin is up);

and on the way down each plugin's ``shutdown``, then the services' in reverse.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ngshare.context import ServerContext
    from ngshare.plugin import Plugin

HOOKS = ("startup", "shutdown")


class StartupError(Exception):
    """The server cannot start; the message says why and what to do."""


async def run_hooks(ctx: ServerContext, plugins: list[Plugin], hook: str) -> None:
    """Run ``startup`` (then ``ready``) or ``shutdown`` of the core services and ``plugins``.

    A failing startup hook stops the start (:class:`StartupError` naming the
    feature set); a failing shutdown hook is logged and the others still run.
    """
    if hook not in HOOKS:
        raise ValueError(f"hook must be one of {HOOKS}, not {hook!r}")
    if hook == "startup":
        for feature_set in [*ctx.services, *plugins]:
            await _call(ctx, feature_set, "startup")
        for feature_set in [*ctx.services, *plugins]:
            await _call(ctx, feature_set, "ready")
    else:
        for feature_set in [*plugins, *reversed(ctx.services)]:
            try:
                await _call(ctx, feature_set, "shutdown")
            except Exception:
                kind = "service" if feature_set in ctx.services else "plugin"
                ctx.log.exception("%s %r: shutdown hook failed", kind, feature_set.name)


async def _call(ctx: ServerContext, feature_set: Plugin, hook: str) -> None:
    fn = getattr(feature_set, hook)
    if fn is None:
        return
    try:
        result = fn(ctx)
        if inspect.isawaitable(result):
            await result
    except StartupError:
        raise
    except Exception as e:
        if hook == "shutdown":
            raise
        if feature_set in ctx.services:
            raise StartupError(str(e)) from e  # the core's own messages say what to do
        raise StartupError(f"plugin {feature_set.name!r}: {hook} failed: {e!r}") from e
