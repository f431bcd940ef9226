"""Migrations: every branch upgrades from empty, and the models match the migrations."""

import os
import subprocess
import sys
import time

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from ngshare import migrations
from ngshare.app import StartupError, build
from ngshare.db import Database
from ngshare.exchange import plugin as exchange_plugin
from ngshare.models import CoreBase


def fresh_sqlite(tmp_path):
    return "sqlite:///" + str(tmp_path / "fresh.db")


def test_upgrade_creates_every_table_from_empty(tmp_path):
    url = fresh_sqlite(tmp_path)
    db = Database(url)
    cfg = migrations.alembic_config(url, [exchange_plugin])
    assert not migrations.is_up_to_date(db.engine, cfg)
    migrations.upgrade(db.engine, cfg)
    assert migrations.is_up_to_date(db.engine, cfg)
    tables = set(sa.inspect(db.engine).get_table_names())
    assert {"users", "exchange_courses", "exchange_files", "alembic_version"} <= tables
    db.dispose()


def test_upgrade_of_an_up_to_date_database_runs_no_alembic_command(tmp_path, monkeypatch):
    url = fresh_sqlite(tmp_path)
    db = Database(url)
    cfg = migrations.alembic_config(url, [exchange_plugin])
    migrations.upgrade(db.engine, cfg)
    ran = []
    monkeypatch.setattr(migrations.command, "upgrade", lambda cfg, target: ran.append(target))
    migrations.upgrade(db.engine, cfg)
    assert ran == []
    # one branch behind: alembic is asked for every enabled branch again
    with db.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM alembic_version WHERE version_num LIKE 'e0c4%'"))
    migrations.upgrade(db.engine, cfg)
    assert "exchange@head" in ran
    db.dispose()


def test_revision_files_are_read_again_when_a_folder_changes(tmp_path):
    """The per-process cache of revision files sees a revision added by `ngshare db revision`."""
    import shutil

    from ngshare_example import plugin as example

    folder = tmp_path / "versions"
    shutil.copytree(example.migrations, folder, ignore=shutil.ignore_patterns("__pycache__"))
    example_plugin = type("P", (), {"migrations": str(folder), "metadata": None, "name": "example"})
    cfg = migrations.alembic_config(fresh_sqlite(tmp_path), [example_plugin], available={})
    before = migrations.heads(cfg)
    assert migrations.script_directory(cfg) is migrations.script_directory(cfg)
    (folder / "ffff00000001_more.py").write_text(
        'revision = "ffff00000001"\ndown_revision = "94e19f152806"\n'
        "branch_labels = None\ndepends_on = None\n\n"
        "def upgrade():\n    pass\n\ndef downgrade():\n    pass\n"
    )
    os.utime(folder, ns=(time.time_ns(), time.time_ns() + 10**9))  # coarse mtimes: move it on
    after = migrations.heads(cfg)
    assert "94e19f152806" in before and "ffff00000001" not in before
    assert "ffff00000001" in after and "94e19f152806" not in after


def test_models_and_migrations_agree(server):
    """Autogenerate finds nothing to do: the migrations create exactly the models."""
    with server.db.engine.connect() as conn:
        context = MigrationContext.configure(conn)
        for metadata in (CoreBase.metadata, exchange_plugin.metadata):
            diff = compare_metadata(context, metadata)
            own = [d for d in diff if _table_of(d) in metadata.tables]
            assert own == [], own


def _table_of(diff):
    item = diff[0] if isinstance(diff, list) else diff
    for part in item[1:]:
        name = getattr(part, "name", None)
        table = getattr(part, "table", None)
        if table is not None:
            return table.name
        if name:
            return name
    return None


def test_each_feature_set_is_its_own_branch(tmp_path):
    cfg = migrations.alembic_config(fresh_sqlite(tmp_path), [exchange_plugin])
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(cfg)
    labels = {label for rev in script.walk_revisions() for label in rev.branch_labels}
    assert {"core", "exchange"} <= labels


def test_no_upgrade_refuses_an_old_schema(make_config, tmp_path):
    config = make_config(db_url=fresh_sqlite(tmp_path), upgrade_db=False)
    try:
        build(config)
    except StartupError as e:
        assert "ngshare db upgrade" in str(e)
    else:
        raise AssertionError("an empty database was accepted with --no-upgrade-db")


def test_db_commands_from_the_command_line(tmp_path):
    url = fresh_sqlite(tmp_path)

    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "ngshare", "db", *args, f"--database={url}"],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=60,
        )

    before = run("current")
    assert before.returncode == 0 and "needs upgrade" in before.stdout
    upgraded = run("upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    after = run("current")
    assert "up to date" in after.stdout
    history = run("history")
    assert "exchange" in history.stdout and "core" in history.stdout


def test_new_sqlite_databases_get_wal_and_larger_pages_old_ones_keep_theirs(tmp_path):
    """16 KiB pages for new files (see SQLITE_PAGE_BYTES); a database made with
    another page size keeps it, and both open in WAL mode."""
    from ngshare.db import SQLITE_PAGE_BYTES

    def pragmas(url):
        db = Database(url)
        with db.engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE IF NOT EXISTS t (x INTEGER)"))
            conn.execute(sa.text("INSERT INTO t VALUES (1)"))
            result = (
                conn.exec_driver_sql("PRAGMA page_size").scalar(),
                conn.exec_driver_sql("PRAGMA journal_mode").scalar(),
            )
        db.dispose()
        return result

    assert pragmas(fresh_sqlite(tmp_path)) == (SQLITE_PAGE_BYTES, "wal")
    old = tmp_path / "old.db"
    import sqlite3

    with sqlite3.connect(old) as conn:  # made elsewhere, with the old default
        conn.execute("PRAGMA page_size=4096")
        conn.execute("CREATE TABLE t (x INTEGER)")
    conn.close()
    assert pragmas(f"sqlite:///{old}") == (4096, "wal")
    assert pragmas(f"sqlite:///{old}") == (4096, "wal")  # and again, already in WAL mode


def test_every_sqlite_connection_gets_the_larger_page_cache(tmp_path):
    """SQLITE_CACHE_KIB on the pool's connections and the database thread's alike."""
    from ngshare.db import SQLITE_CACHE_KIB

    db = Database(fresh_sqlite(tmp_path))
    try:
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -SQLITE_CACHE_KIB

        def cache_size(session):
            return session.connection().exec_driver_sql("PRAGMA cache_size").scalar()

        assert db.run_sync(cache_size) == -SQLITE_CACHE_KIB
        assert db.committer is not None
        assert db.committer.submit(cache_size).result(timeout=10) == -SQLITE_CACHE_KIB
    finally:
        db.dispose()
