"""Navigation entries of the page layout: the core's, and those plugins declare.

A plugin lists :class:`NavEntry` objects in ``Plugin(nav=[...])``; the layout
shows each entry to the people it is meant for, in load order after the
core's own entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ngshare.auth import Identity
    from ngshare.context import ServerContext

AUDIENCES = ("everyone", "admins")


@dataclass(frozen=True)
class NavEntry:
    """One link of the page header.

    :arg title: the link text.
    :arg path: relative to the plugin's mount (``"board"`` -> ``{prefix}vivere/board``);
        core entries are relative to the prefix.
    :arg audience: ``"everyone"`` (every signed-in user) or ``"admins"``.
    """

    title: str
    path: str
    audience: str = "everyone"

    def __post_init__(self) -> None:
        if self.audience not in AUDIENCES:
            raise ValueError(f"NavEntry {self.title!r}: audience must be one of {AUDIENCES}")

    def visible_to(self, identity: Identity | None) -> bool:
        if identity is None:
            return False
        return self.audience == "everyone" or identity.is_admin


#: The core's own entries (relative to the prefix), shown before the plugins'.
CORE_NAV: list[NavEntry] = [
    NavEntry("Home", ""),
    NavEntry("API docs", "docs"),
    NavEntry("Admin", "ui/admin", audience="admins"),
]


def nav_links(ctx: ServerContext, identity: Identity | None) -> list[tuple[str, str]]:
    """``(title, absolute path)`` of every entry ``identity`` may see, core first."""
    prefix = ctx.config.prefix
    links = [(e.title, prefix + e.path) for e in CORE_NAV if e.visible_to(identity)]
    for plugin in ctx.plugins:
        for entry in getattr(plugin, "nav", ()):
            if entry.visible_to(identity):
                links.append((entry.title, prefix + (plugin.mount or "") + entry.path))
    return links
