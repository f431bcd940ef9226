"""Schema migrations for the core and every enabled plugin (alembic).

Each feature set is one alembic branch: the core's versions live in
``ngshare/alembic/versions`` (branch ``core``), a plugin's in the folder its
:attr:`Plugin.migrations` names (branch = plugin name, ``depends_on`` core).
``upgrade`` brings all of them to their heads.
"""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from ngshare.models import CoreBase
from ngshare.plugin import Plugin

ALEMBIC_DIR = Path(__file__).parent / "alembic"


#: Branches of the core's own versions folder, always upgraded.
CORE_BRANCHES = ("core", "accounts", "scheduler")


def installed_migration_folders() -> list[str]:
    """Version folders of every *installed* plugin, enabled or not.

    A database may hold revisions of a plugin that is installed but not
    enabled now; alembic must still be able to resolve them.
    """
    from ngshare.plugin import discover

    folders = []
    for _name, ep in sorted(discover().items()):
        try:
            plugin = ep.load()
        except Exception:  # noqa: BLE001 - a broken plugin that is not enabled is not our problem
            continue
        folder = getattr(plugin, "migrations", None)
        if folder:
            folders.append(str(folder))
    return folders


def alembic_config(url: str, plugins: list[Plugin]) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(ALEMBIC_DIR))
    locations = [str(ALEMBIC_DIR / "versions")]
    locations += [str(p.migrations) for p in plugins if p.migrations]
    locations += [f for f in installed_migration_folders() if f not in locations]
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_path_separator", "os")
    cfg.set_main_option("version_locations", os.pathsep.join(locations))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    from ngshare.scheduler_models import SchedulerBase

    cfg.attributes["metadatas"] = [CoreBase.metadata, SchedulerBase.metadata] + [
        p.metadata for p in plugins if p.metadata is not None
    ]
    cfg.attributes["branches"] = list(CORE_BRANCHES) + [p.name for p in plugins if p.migrations]
    return cfg


def heads(cfg: Config) -> set[str]:
    """Head revisions of the enabled feature sets' branches."""
    script = ScriptDirectory.from_config(cfg)
    return {script.get_revision(f"{b}@head").revision for b in cfg.attributes["branches"]}


def current(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def applied(engine: Engine, cfg: Config) -> set[str]:
    """Every revision the database has, counting branches it holds as dependencies.

    alembic_version lists only the newest revision of each line: the core's
    revision is absent when a plugin branch that depends on it is recorded.
    """
    have = current(engine)
    if not have:
        return set()
    revision_map = ScriptDirectory.from_config(cfg).revision_map
    return {r.revision for r in revision_map.iterate_revisions(tuple(have), "base")}


def is_up_to_date(engine: Engine, cfg: Config) -> bool:
    return heads(cfg) <= applied(engine, cfg)


def upgrade(engine: Engine, cfg: Config) -> None:
    """Upgrade the core's and every enabled plugin's branch to its head, in one transaction.

    Branches of installed plugins that are not enabled are left as they are.
    """
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        try:
            for branch in cfg.attributes["branches"]:
                command.upgrade(cfg, f"{branch}@head")
        finally:
            cfg.attributes.pop("connection", None)
