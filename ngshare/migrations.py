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


def alembic_config(url: str, plugins: list[Plugin]) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(ALEMBIC_DIR))
    locations = [str(ALEMBIC_DIR / "versions")]
    locations += [str(p.migrations) for p in plugins if p.migrations]
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_path_separator", "os")
    cfg.set_main_option("version_locations", os.pathsep.join(locations))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["metadatas"] = [CoreBase.metadata] + [
        p.metadata for p in plugins if p.metadata is not None
    ]
    return cfg


def heads(cfg: Config) -> set[str]:
    return set(ScriptDirectory.from_config(cfg).get_heads())


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
    """Upgrade every branch to its head, in one connection."""
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        try:
            command.upgrade(cfg, "heads")
        finally:
            cfg.attributes.pop("connection", None)
