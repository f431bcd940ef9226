"""The ``ngshare`` and ``vngshare`` commands: the server, and its sub-commands.

``ngshare`` with no sub-command runs the server. Sub-commands are traitlets
``subcommands`` of :class:`~ngshare.config.NgShare`, so ``ngshare --help``
lists them and ``ngshare db --help`` describes one::

    ngshare db upgrade|current|history|revision PLUGIN MESSAGE
    ngshare storage gc [GRACE_SECONDS]
    ngshare storage migrate --from filesystem|s3 --to s3|filesystem
    ngshare fsck [--repair] [--verify] [--grace SECONDS] [--json]
    ngshare import ngshare06 --from-database URL --from-storage DIR [--dry-run]
    ngshare jobs list|run JOB_ID [json]        (the scheduler's command)
    ngshare trash list|restore KIND ID|purge   (the exchange's command)

A sub-command takes the server's own options (``--database``, ``--plugins``,
``--config`` ...), after its arguments or before them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from traitlets import Bool, Enum, Float, TraitError
from traitlets.config import Application

from ngshare.app import CORE_SERVICES, build, db_command, make_storage_backend, serve
from ngshare.config import DEV_BANNER, NgShare, VNgShare
from ngshare.context import ServerContext
from ngshare.fsck import DEFAULT_GRACE_SECONDS, fsck_command
from ngshare.garbage import storage_command
from ngshare.lifecycle import StartupError
from ngshare.plugin import Plugin, discover
from ngshare.storage_backend import StorageError
from ngshare.storage_migrate import migrate


class SubCommand(Application):
    """A sub-command: the server's options apply, its arguments are ``extra_args``."""

    aliases = NgShare.aliases
    flags = NgShare.flags
    classes = [NgShare]

    @property
    def settings(self) -> NgShare:
        """The server's settings: config file, then this command line (which wins)."""
        parent = self.parent
        assert isinstance(parent, NgShare)
        parent.update_config(self.cli_config)
        return parent

    def start(self) -> None:
        sys.exit(self.run(self.extra_args))

    def run(self, argv: list[str]) -> int:
        raise NotImplementedError


class DbCommand(SubCommand):
    name = "ngshare db"
    description = """Manage the database schema of the core and every enabled plugin.

    ngshare db upgrade                    upgrade to the newest schema
    ngshare db current                    show the current and newest revisions
    ngshare db history                    list every revision
    ngshare db revision PLUGIN MESSAGE    autogenerate a plugin's next migration
    """

    def run(self, argv: list[str]) -> int:
        return db_command(self.settings, argv)


class _ContextCommand(SubCommand):
    """A sub-command that works on an opened server context (database, storage, plugins)."""

    def run(self, argv: list[str]) -> int:
        try:
            ctx, _ = build(self.settings)
        except StartupError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        try:
            return self.run_with(ctx, argv)
        finally:
            ctx.close()

    def run_with(self, ctx: ServerContext, argv: list[str]) -> int:
        raise NotImplementedError


class StorageCommand(_ContextCommand):
    name = "ngshare storage"
    description = """Blob storage upkeep.

    ngshare storage gc [GRACE_SECONDS]    remove blobs no feature set references
                                          (and older than GRACE_SECONDS, default a day)
    ngshare storage migrate --from filesystem --to s3
                                          copy every blob file from one backend to the
                                          other (or --from s3 --to filesystem), checking
                                          each one's sha256; skips those already there,
                                          so it can be run again to resume. Both
                                          backends come from the settings (storage_path,
                                          s3_*); the source is left as it is.
    """
    aliases = {
        **NgShare.aliases,
        "from": "StorageCommand.migrate_from",
        "to": "StorageCommand.migrate_to",
    }
    migrate_from = Enum(
        ["filesystem", "s3"], None, allow_none=True, help="migrate: the backend to copy from."
    ).tag(config=True)
    migrate_to = Enum(
        ["filesystem", "s3"], None, allow_none=True, help="migrate: the backend to copy to."
    ).tag(config=True)

    def run_with(self, ctx: ServerContext, argv: list[str]) -> int:
        if argv[:1] == ["migrate"]:
            return self._migrate(ctx, argv[1:])
        return storage_command(ctx, argv)

    def _migrate(self, ctx: ServerContext, argv: list[str]) -> int:
        if argv or not self.migrate_from or not self.migrate_to:
            print("usage: ngshare storage migrate --from BACKEND --to BACKEND", file=sys.stderr)
            return 2
        if self.migrate_from == self.migrate_to:
            print("error: --from and --to name the same backend", file=sys.stderr)
            return 2
        try:
            source = make_storage_backend(ctx.config, self.migrate_from)
            target = make_storage_backend(ctx.config, self.migrate_to)
        except ValueError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        try:
            report = migrate(source, target, ctx.storage.tmp)
        except StorageError as e:
            print(f"error: {e} ({e.log_message})", file=sys.stderr)
            return 1
        finally:
            source.close()
            target.close()
        print(
            f"copied {report.copied} blob(s), {report.present} already there, "
            f"{len(report.corrupt)} corrupt (not copied), to {target.describe()}"
        )
        return 1 if report.corrupt else 0


class FsckCommand(_ContextCommand):
    name = "ngshare fsck"
    description = """Check the blob store against the database; repair with --repair.

    Finds temp files a crash left, blobs (files or rows of `blobs`) that no row
    refers to and are older than --grace, files that are no blob, digests rows
    refer to that are stored nowhere, and with --verify blobs whose content
    does not match their digest. Reports only, unless --repair. Exit status 0
    when no problem remains, 1 otherwise. Safe beside a running server.
    """
    classes = [NgShare]
    aliases = {**NgShare.aliases, "grace": "FsckCommand.grace_seconds"}
    flags = {
        **NgShare.flags,
        "repair": ({"FsckCommand": {"repair": True}}, "Repair what can be repaired."),
        "verify": ({"FsckCommand": {"verify": True}}, "Hash every blob (reads them all)."),
        "json": ({"FsckCommand": {"as_json": True}}, "Print the report as JSON."),
    }
    repair = Bool(False, help="Repair what can be repaired.").tag(config=True)
    verify = Bool(False, help="Hash every stored blob against its digest.").tag(config=True)
    as_json = Bool(False, help="Print the report as JSON.").tag(config=True)
    grace_seconds = Float(
        DEFAULT_GRACE_SECONDS,
        help="Blobs no row refers to are problems only once this old (seconds).",
    ).tag(config=True)

    def run_with(self, ctx: ServerContext, argv: list[str]) -> int:
        if argv:
            print(f"unexpected argument {argv[0]!r}; see ngshare fsck --help", file=sys.stderr)
            return 2
        return fsck_command(ctx, self.repair, self.grace_seconds, self.verify, self.as_json)


def feature_set_command(
    owner: Plugin, name: str, fn: Callable[[ServerContext, list[str]], int]
) -> type[_ContextCommand]:
    """A sub-command class for a feature set's ``commands`` entry (help: ``fn``'s docstring)."""

    def run_with(self: _ContextCommand, ctx: ServerContext, argv: list[str]) -> int:
        if owner not in ctx.services and owner.name not in (p.name for p in ctx.plugins):
            print(f"error: enable the plugin first: --plugins {owner.name}", file=sys.stderr)
            return 2
        return fn(ctx, argv)

    return type(
        f"{name.capitalize()}Command",
        (_ContextCommand,),
        {"name": f"ngshare {name}", "description": fn.__doc__ or "", "run_with": run_with},
    )


#: A class, or its import path (loaded only when its command is named).
BUILTIN_COMMANDS: dict[str, tuple[type[SubCommand] | str, str]] = {
    "db": (DbCommand, "Upgrade or inspect the database schema."),
    "storage": (
        StorageCommand,
        "Blob storage upkeep: garbage collection, migrate between filesystem and S3.",
    ),
    "fsck": (FsckCommand, "Check the blob store against the database (--repair to fix)."),
    "import": (
        "ngshare.importers.ngshare06.command.ImportCommand",
        "Import another server's data (ngshare 0.6).",
    ),
}


def subcommands_for(argv: list[str]) -> dict[str, tuple[type[SubCommand] | str, str]]:
    """The sub-commands ``argv`` may name: built-ins, the core services', the plugins'.

    Installed plugins are imported only when ``argv`` may name one of their
    commands (or asks for help), so that starting the server never imports a
    plugin it does not enable; one that fails to import is left out here (the
    server reports it by name when it is enabled).
    """
    commands = dict(BUILTIN_COMMANDS)
    feature_sets: list[Plugin] = list(CORE_SERVICES)
    first = argv[0] if argv else ""
    if first in ("-h", "--help", "--help-all") or (first and not first.startswith("-")):
        for name, entry_point in sorted(discover().items()):
            try:
                plugin = entry_point.load()
            except Exception:  # noqa: BLE001 - reported when the plugin is enabled
                continue
            if isinstance(plugin, Plugin) and plugin.name == name:
                feature_sets.append(plugin)
    for owner in feature_sets:
        for name, fn in owner.commands.items():
            summary = (fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else ""
            commands.setdefault(name, (feature_set_command(owner, name, fn), summary))
    return commands


def configurable_classes(bundled_only: bool = False) -> list[type]:
    """Every class with settings, for ``--help-all``, ``--generate-config`` and the reference.

    The core's own (the server, identity, the services, every notification
    provider), and each installed feature set's ``config`` class (loaded only
    when asked: the hub's identity provider imports JupyterHub). ``bundled_only``:
    only the feature sets this distribution ships (for the reference page).
    """
    from ngshare.accounts import AccountService
    from ngshare.events import EventBus
    from ngshare.hub import HubIdentity
    from ngshare.notifications.providers import PROVIDER_CLASSES, Provider
    from ngshare.notifications.service import NotificationService
    from ngshare.tokens import TokenService

    classes: list[type] = [NgShare, HubIdentity, EventBus, TokenService, AccountService]
    classes += [NotificationService, Provider, *PROVIDER_CLASSES.values()]
    for name, entry_point in sorted(discover().items()):
        if bundled_only and (entry_point.dist is None or entry_point.dist.name != "ngshare"):
            continue
        try:
            plugin = entry_point.load()
        except Exception:  # noqa: BLE001 - reported when the plugin is enabled
            continue
        if isinstance(plugin, Plugin) and plugin.name == name and plugin.config is not None:
            if plugin.config not in classes:
                classes.append(plugin.config)
    return classes


def write_config_file(app: NgShare) -> int:
    """``--generate-config``: every configurable class's settings, commented, at ``config_file``."""
    path = Path(app.config_file or "ngshare_config.py")
    if path.exists():
        print(f"error: {path} exists; remove it or name another with --config", file=sys.stderr)
        return 1
    path.write_text(app.generate_config_file(configurable_classes()))
    print(f"wrote {path}")
    return 0


def main(argv: list[str] | None = None, app_class: type[NgShare] = NgShare) -> None:
    """Run ``ngshare`` (or ``vngshare``): a sub-command if one is named, else the server."""
    argv = sys.argv[1:] if argv is None else argv
    app = app_class.instance()
    app.subcommands = subcommands_for(argv)
    if {"--help-all", "--generate-config", "--show-config", "--show-config-json"} & set(argv):
        app.classes = configurable_classes()
    try:
        app.initialize(argv)
    except (TraitError, ValueError) as e:  # a setting's value refused by its validation
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    if app.subapp is not None:
        app.subapp.start()
        return
    if app.show_config or app.show_config_json:
        app.start_show_config()
        return
    if app.generate_config:
        sys.exit(write_config_file(app))
    if app.extra_args:
        print(
            f"unknown command {app.extra_args[0]!r}; commands: {', '.join(app.subcommands)}",
            file=sys.stderr,
        )
        sys.exit(2)
    if app.dev_mode and app.log_style == "text":  # in JSON, the identity line says it
        print(DEV_BANNER, file=sys.stderr)
    serve(app)


def main_dev(argv: list[str] | None = None) -> None:
    """``vngshare``: the development server."""
    main(argv, VNgShare)
