"""Admin views of the running server: which plugins are loaded and what they bring."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ngshare.web import ApiError, APIHandler, authenticated

if TYPE_CHECKING:
    from ngshare.context import ServerContext
    from ngshare.plugin import Plugin


def describe(plugin: Plugin, prefix: str) -> dict[str, Any]:
    return {
        "name": plugin.name,
        "version": plugin.version,
        "description": plugin.description,
        "mount": prefix + plugin.mount,
        "routes": [prefix + plugin.mount + spec[0].lstrip("/") for spec in plugin.handlers],
        "pages": [prefix + plugin.mount + spec[0].lstrip("/") for spec in plugin.pages],
        "tables": sorted(plugin.metadata.tables) if plugin.metadata is not None else [],
        "jobs": [job.id for job in plugin.jobs],
        "channels": [channel.name for channel in plugin.channels],
        "config": plugin.config.__name__ if plugin.config else None,
        "commands": sorted(plugin.commands),
    }


class PluginListHandler(APIHandler):
    """``{prefix}plugins``: GET (admins) — every loaded plugin, in load order."""

    admins_only = True

    @authenticated
    async def get(self) -> None:
        if not self.identity.is_admin:
            raise ApiError(403, "Permission denied (not admin)")
        prefix = self.ctx.config.prefix
        self.write_json(
            {"success": True, "plugins": [describe(p, prefix) for p in self.ctx.plugins]}
        )


def routes(ctx: ServerContext) -> list[tuple]:
    return [(ctx.config.prefix + "plugins/?", PluginListHandler, {"ctx": ctx})]
