"""The Plugin API: what a feature set contributes, and how plugins are found.

A plugin is a :class:`Plugin` object exposed through the ``ngshare.plugins``
entry-point group::

    # setup.py / pyproject.toml of a plugin distribution
    [project.entry-points."ngshare.plugins"]
    hello = "ngshare_hello:plugin"

    # ngshare_hello/__init__.py
    plugin = Plugin(name="hello", handlers=[(r"greeting", GreetingHandler)])

The notebook exchange itself is registered this way (``ngshare.exchange``),
mounted at the bare prefix for compatibility with ngshare's clients; other
plugins mount at ``{prefix}{name}/``. The core never imports a plugin.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy import MetaData

    from ngshare.context import ServerContext

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "ngshare.plugins"
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")

Route = tuple  # (pattern relative to the mount, handler class[, kwargs])
Hook = Callable[["ServerContext"], Awaitable[None] | None]
Command = Callable[["ServerContext", list[str]], int]


class PluginError(Exception):
    """A plugin cannot be loaded; the message names the plugin and the reason."""


@dataclass
class Plugin:
    """Everything one feature set contributes to the server.

    :arg name: lower-case identifier; the mount, table prefix and alembic branch.
    :arg handlers: routes relative to the mount, as Tornado URL specs.
    :arg metadata: the SQLAlchemy MetaData holding this plugin's tables.
    :arg migrations: folder of this plugin's alembic versions (branch ``name``).
    :arg mount: URL segment under the prefix; ``None`` means ``"{name}/"``.
    :arg startup: called with the context once the database is ready.
    :arg ready: called with the context once every feature set has started
        (the core's scheduler starts its timer here).
    :arg shutdown: called with the context when the server stops.
    :arg config: the plugin's traitlets Configurable class (``c.<ClassName>.<trait>``);
        instantiated and validated at start-up, found at ``ctx.state(<ClassName>)``.
    :arg commands: ``ngshare <command> ...`` sub-commands, given the context and argv.
    :arg jobs: :class:`ngshare.scheduler.Job` declarations (interval, cron, dated).
    :arg channels: :class:`ngshare.events.Channel` declarations (live updates).
    :arg openapi: OpenAPI 3.1 path items keyed by path relative to the mount
        (``"/tickets/{ticket_id}"``); merged into ``{prefix}openapi.json``.
    :arg description: one line for ``{prefix}plugins`` and the OpenAPI tags.
    :arg blob_references: ``fn(session) -> iterable of sha256`` — every blob this
        plugin's rows point at, so storage garbage collection keeps them.
    :arg invalid_recipient: ``hook(ctx, recipient)`` called when a provider calls an
        address this plugin sent to (or registered) dead; the address is already disabled.
    :arg pages: HTML pages relative to the mount, as Tornado URL specs whose handlers
        subclass :class:`ngshare.ui.PageHandler` (the shared layout, HTML error pages).
    :arg templates: folder of this plugin's templates, searched before the core's
        (so a page template can ``{% extends "base.html" %}``).
    :arg static: folder of this plugin's static files, served at ``{prefix}static/{name}/``.
    :arg nav: :class:`ngshare.ui.NavEntry` links for the page header.
    """

    name: str
    handlers: list[Route] = field(default_factory=list)
    metadata: MetaData | None = None
    migrations: str | None = None
    mount: str | None = None
    version: str = ""
    startup: Hook | None = None
    ready: Hook | None = None
    shutdown: Hook | None = None
    config: type | None = None
    commands: dict[str, Command] = field(default_factory=dict)
    jobs: list[Any] = field(default_factory=list)
    channels: list[Any] = field(default_factory=list)
    openapi: dict[str, dict] = field(default_factory=dict)
    description: str = ""
    blob_references: Callable[[Any], Any] | None = None
    invalid_recipient: Callable[[Any, Any], Any] | None = None
    pages: list[Route] = field(default_factory=list)
    templates: str | None = None
    static: str | None = None
    nav: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not _NAME_RE.match(self.name):
            raise PluginError(f"plugin name {self.name!r} must match {_NAME_RE.pattern}")
        if self.mount is None:
            self.mount = f"{self.name}/"

    def routes(self, prefix: str, ctx: ServerContext) -> list[tuple[str, type, dict[str, Any]]]:
        """Absolute Tornado routes, each handler given the context (pages, given also the
        plugin's template folder, come before the handlers)."""
        out = []
        folders = [self.templates] if self.templates else []
        for spec in self.pages:  # first: a plugin's catch-all handler must not hide them
            pattern, handler, *rest = spec
            kwargs = {"ctx": ctx, "templates": folders, **(rest[0] if rest else {})}
            out.append((prefix + self.mount + pattern.lstrip("/"), handler, kwargs))
        for spec in self.handlers:
            pattern, handler, *rest = spec
            kwargs = {"ctx": ctx, **(rest[0] if rest else {})}
            out.append((prefix + self.mount + pattern.lstrip("/"), handler, kwargs))
        return out

    def check_tables(self) -> None:
        """Refuse tables that do not carry the plugin's name as prefix."""
        if self.metadata is None:
            return
        for table in self.metadata.tables:
            if not table.startswith(self.name + "_"):
                raise PluginError(
                    f"plugin {self.name!r}: table {table!r} must start with {self.name + '_'!r}"
                )


def discover() -> dict[str, Any]:
    """Installed plugins by name (entry points, not yet loaded)."""
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def load_plugins(names: list[str], available: dict[str, Any] | None = None) -> list[Plugin]:
    """Load the named plugins, in the given order; refuse clearly on any problem.

    ``"all"`` stands for every installed plugin (sorted by name, after those
    named explicitly), e.g. ``vngshare --plugins all`` in development.
    """
    if available is None:
        available = discover()
    if "all" in names:
        named = [n for n in names if n != "all"]
        names = named + sorted(n for n in available if n not in named)
    names = list(dict.fromkeys(names))
    plugins: list[Plugin] = []
    for name in names:
        ep = available.get(name)
        if ep is None:
            raise PluginError(
                f"plugin {name!r} is not installed (installed: {', '.join(sorted(available))})"
            )
        try:
            plugin = ep.load()
        except Exception as e:  # noqa: BLE001 - report any import failure by name
            raise PluginError(f"plugin {name!r} failed to import: {e!r}") from e
        if not isinstance(plugin, Plugin):
            raise PluginError(f"plugin {name!r}: entry point {ep.value} is not a Plugin")
        if plugin.name != name:
            raise PluginError(f"plugin {name!r}: object is named {plugin.name!r}")
        plugin.check_tables()
        plugins.append(plugin)
    check_no_overlaps(plugins)
    return plugins


def check_no_overlaps(plugins: list[Plugin]) -> None:
    """Refuse two feature sets claiming one table, channel, URL or mount."""
    owners: dict[tuple[str, str], str] = {}

    def claim(kind: str, key: str, plugin: Plugin) -> None:
        other = owners.setdefault((kind, key), plugin.name)
        if other != plugin.name:
            raise PluginError(f"plugin {plugin.name!r}: {kind} {key!r} is already {other!r}'s")

    for plugin in plugins:
        for table in plugin.metadata.tables if plugin.metadata is not None else ():
            claim("table", table, plugin)
        for channel in plugin.channels:
            claim("channel", channel.name, plugin)
        for spec in [*plugin.handlers, *plugin.pages]:
            claim("route", plugin.mount + spec[0].lstrip("/"), plugin)
    # a plugin's mount must not shadow another feature set's first path segment
    for plugin in plugins:
        if not plugin.mount:
            continue
        segment = plugin.mount.rstrip("/")
        for other in plugins:
            if other is plugin:
                continue
            for spec in [*other.handlers, *other.pages]:
                first = re.split(r"[/(\\[?*+.^$]", other.mount + spec[0].lstrip("/"), maxsplit=1)[0]
                if first == segment:
                    raise PluginError(
                        f"plugin {plugin.name!r}: its mount {plugin.mount!r} overlaps "
                        f"route {spec[0]!r} of plugin {other.name!r}"
                    )


ACCESS_MARKS = ("authenticated", "public")
HTTP_METHODS = ("get", "head", "post", "put", "patch", "delete", "options")


def check_handler_access(routes: list[tuple], owner: str) -> None:
    """Every HTTP method a handler defines must be marked authenticated or public.

    A method defined without :func:`ngshare.web.authenticated` or
    :func:`ngshare.web.public` would silently serve anonymous callers.
    """
    from tornado import web

    for spec in routes:
        handler = spec[1]
        for method in HTTP_METHODS:
            fn = getattr(handler, method, None)
            if fn is None or fn is getattr(web.RequestHandler, method, None):
                continue
            if getattr(fn, "ngshare_access", None) not in ACCESS_MARKS:
                raise PluginError(
                    f"{owner}: {handler.__name__}.{method} is neither @authenticated nor @public"
                )
