"""Schema migrations for the core and every enabled plugin (alembic).

Each feature set is one alembic branch: the core's versions live in
``alembic/versions`` of the checkout, installed as ``ngshare/alembic/versions``
(branch ``core``), a plugin's in the folder its
:attr:`Plugin.migrations` names (branch = plugin name, ``depends_on`` core).
``upgrade`` brings all of them to their heads.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from ngshare.models import CoreBase
from ngshare.plugin import Plugin


def _alembic_dir() -> Path:
    """The core's alembic environment: package data ``ngshare/alembic`` once installed.

    In a checkout it is the top-level ``alembic/`` folder (setup.py installs it
    as ``ngshare.alembic``; it has no ``__init__.py``, so it never shadows the
    ``alembic`` library).
    """
    installed = Path(__file__).parent / "alembic"
    if (installed / "env.py").is_file():
        return installed
    return Path(__file__).parent.parent / "alembic"


ALEMBIC_DIR = _alembic_dir()


#: Branches of the core's own versions folder, always upgraded.
CORE_BRANCHES = ("core", "accounts", "scheduler", "notifications", "events")


def installed_migration_folders(available: dict[str, Any] | None = None) -> list[str]:
    """Version folders of every *installed* plugin, enabled or not.

    A database may hold revisions of a plugin that is installed but not
    enabled now; alembic must still be able to resolve them. ``available``
    is :func:`ngshare.plugin.discover`'s answer, if the caller has it.
    """
    from ngshare.plugin import discover

    folders = []
    for _name, ep in sorted((available if available is not None else discover()).items()):
        try:
            plugin = ep.load()
        except Exception:  # noqa: BLE001 - a broken plugin that is not enabled is not our problem
            continue
        folder = getattr(plugin, "migrations", None)
        if folder:
            folders.append(str(folder))
    return folders


def alembic_config(
    url: str, plugins: list[Plugin], available: dict[str, Any] | None = None
) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(ALEMBIC_DIR))
    locations = [str(ALEMBIC_DIR / "versions")]
    locations += [str(p.migrations) for p in plugins if p.migrations]
    locations += [f for f in installed_migration_folders(available) if f not in locations]
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_path_separator", "os")
    cfg.set_main_option("version_locations", os.pathsep.join(locations))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    from ngshare.scheduler.models import SchedulerBase

    cfg.attributes["metadatas"] = [CoreBase.metadata, SchedulerBase.metadata] + [
        p.metadata for p in plugins if p.metadata is not None
    ]
    cfg.attributes["branches"] = list(CORE_BRANCHES) + [p.name for p in plugins if p.migrations]
    return cfg


_scripts: dict[tuple, ScriptDirectory] = {}


def script_directory(cfg: Config) -> ScriptDirectory:
    """``cfg``'s revision files, read once per process while its folders hold the same files.

    Reading them means executing every revision file (~25 ms for ngshare's
    and vivere's without bytecode caches); a server reads them once, but a
    test session builds a server per test. A folder's mtime changes when a
    revision file is added or removed (``ngshare db revision``), which gives
    a new key.
    """
    folders = [cfg.get_main_option("script_location")]
    folders += cfg.get_main_option("version_locations").split(os.pathsep)
    key = tuple((f, _mtime_ns(f)) for f in folders)
    script = _scripts.get(key)
    if script is None:
        script = _scripts[key] = ScriptDirectory.from_config(cfg)
    return script


def _mtime_ns(folder: str) -> int:
    try:
        return os.stat(folder).st_mtime_ns
    except OSError:
        return -1


def heads(cfg: Config, script: ScriptDirectory | None = None) -> set[str]:
    """Head revisions of the enabled feature sets' branches."""
    script = script if script is not None else script_directory(cfg)
    return {script.get_revision(f"{b}@head").revision for b in cfg.attributes["branches"]}


def current(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return _current(conn)


def _current(conn: Connection) -> set[str]:
    return set(MigrationContext.configure(conn).get_current_heads())


def applied(engine: Engine, cfg: Config) -> set[str]:
    """Every revision the database has, counting branches it holds as dependencies.

    alembic_version lists only the newest revision of each line: the core's
    revision is absent when a plugin branch that depends on it is recorded.
    """
    with engine.connect() as conn:
        return _applied(conn, script_directory(cfg))


def _applied(conn: Connection, script: ScriptDirectory) -> set[str]:
    have = _current(conn)
    if not have:
        return set()
    return {r.revision for r in script.revision_map.iterate_revisions(tuple(have), "base")}


def is_up_to_date(engine: Engine, cfg: Config) -> bool:
    with engine.connect() as conn:
        return _at_every_head(conn, cfg)


def _take_migration_lock(conn: Connection) -> None:
    """Hold the migration lock until the transaction ends; wait (and say so) if it is taken."""
    got = conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
    if got.scalar_one():
        return
    log.info("migrations: another process is upgrading the database; waiting for it")
    t0 = time.monotonic()
    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
    log.info("migrations: waited %.1fs for the other process's upgrade", time.monotonic() - t0)


def _at_every_head(conn: Connection, cfg: Config) -> bool:
    script = script_directory(cfg)
    return heads(cfg, script) <= _applied(conn, script)


#: The PostgreSQL advisory lock key that ``upgrade`` holds: one migrating process at a time.
MIGRATION_LOCK_KEY = 0x6E677368_6D696772  # "ngshmigr"

log = logging.getLogger(__name__)


def upgrade(engine: Engine, cfg: Config) -> None:
    """Upgrade the core's and every enabled plugin's branch to its head, in one transaction.

    Branches of installed plugins that are not enabled are left as they are.
    A database already at every head costs one read of alembic_version: each
    ``alembic upgrade`` reads all revision files again (4 branches: ~50 ms
    of every start, and of every test's server).

    On PostgreSQL the upgrade holds a transaction-level advisory lock
    (:data:`MIGRATION_LOCK_KEY`): replicas started together on an empty
    database migrate once; the others wait for the lock, find the schema at
    its heads and go on. SQLite's own write lock serialises its upgrades.
    """
    with engine.begin() as conn:
        if _at_every_head(conn, cfg):
            return
        if conn.dialect.name == "postgresql":
            _take_migration_lock(conn)
            if _at_every_head(conn, cfg):
                log.info("migrations: another process upgraded the database meanwhile")
                return
        cfg.attributes["connection"] = conn
        try:
            for branch in cfg.attributes["branches"]:
                command.upgrade(cfg, f"{branch}@head")
        finally:
            cfg.attributes.pop("connection", None)
