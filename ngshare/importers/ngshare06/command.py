"""``ngshare import ngshare06 --from-database URL --from-storage DIR [--dry-run] [--json]``.

The target is the server's own database and storage, chosen as for the
server (``--database``, ``--storage``, ``--data-dir``, ``--config``).
"""

from __future__ import annotations

import sys

from traitlets import Bool, Unicode

from ngshare.app import build
from ngshare.cli import SubCommand
from ngshare.config import NgShare
from ngshare.importers.ngshare06.run import EXIT_USAGE, run_import
from ngshare.lifecycle import StartupError


class Ngshare06Import(SubCommand):
    name = "ngshare import ngshare06"
    description = """Import an ngshare 0.6 installation: its database and its storage folder.

    ngshare import ngshare06 --from-database sqlite:////srv/ngshare/ngshare.db \\
                             --from-storage /srv/ngshare/files [--dry-run] [--json]

    Users, courses, instructors and students (names, e-mails), assignments with
    their released files, every submission with its timestamp and files, and
    feedback are added to this server's database and blob store (choose them
    with --database / --storage / --data-dir, as for the server). The source
    is only read. One transaction per course; a rerun adds only what is new.
    Exit status 0 when everything was imported, 1 when something was left
    behind (listed: missing files, a course that failed), 2 when the import
    could not start.
    """
    aliases = {
        **NgShare.aliases,
        "from-database": "Ngshare06Import.from_database",
        "from-storage": "Ngshare06Import.from_storage",
    }
    flags = {
        **NgShare.flags,
        "dry-run": (
            {"Ngshare06Import": {"dry_run": True}},
            "Report what would be added; write nothing.",
        ),
        "json": ({"Ngshare06Import": {"as_json": True}}, "Print the report as JSON."),
    }
    from_database = Unicode(
        "",
        help="SQLAlchemy URL of the ngshare 0.6 database (its --database), e.g. sqlite:////srv/ngshare/ngshare.db.",
    ).tag(config=True)
    from_storage = Unicode("", help="ngshare 0.6's storage folder (its --storage).").tag(
        config=True
    )
    dry_run = Bool(False, help="Report what would be added; write nothing.").tag(config=True)
    as_json = Bool(False, help="Print the report as JSON.").tag(config=True)

    @property
    def settings(self) -> NgShare:
        """The server's settings, with what this command line says about them."""
        app = self.parent
        while app is not None and not isinstance(app, NgShare):
            app = app.parent
        assert isinstance(app, NgShare)
        app.update_config(self.cli_config)
        return app

    def run(self, argv: list[str]) -> int:
        if argv:
            print(
                f"unexpected argument {argv[0]!r}; see ngshare import ngshare06 --help",
                file=sys.stderr,
            )
            return EXIT_USAGE
        if not self.from_database or not self.from_storage:
            print("error: give --from-database URL and --from-storage DIR", file=sys.stderr)
            return EXIT_USAGE
        try:
            ctx, _ = build(self.settings)
        except StartupError as e:
            print(f"error: {e}", file=sys.stderr)
            return EXIT_USAGE
        try:
            return run_import(
                ctx.db,
                ctx.storage,
                self.from_database,
                self.from_storage,
                dry_run=self.dry_run,
                as_json=self.as_json,
            )
        finally:
            ctx.close()


class ImportCommand(SubCommand):
    name = "ngshare import"
    description = """Import data from another exchange server.

    ngshare import ngshare06 --from-database URL --from-storage DIR [--dry-run]
    """
    subcommands = {
        "ngshare06": (Ngshare06Import, "Import an ngshare 0.6 database and storage folder.")
    }

    def start(self) -> None:
        if self.subapp is None:
            named = f"unknown source {self.extra_args[0]!r}; " if self.extra_args else ""
            print(f"{named}sources: {', '.join(self.subcommands)} (see --help)", file=sys.stderr)
            sys.exit(EXIT_USAGE)
        self.subapp.start()
