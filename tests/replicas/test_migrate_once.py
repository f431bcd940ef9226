"""Three replicas started together on an empty PostgreSQL database migrate it once.

While the test holds the migration lock (as a migrating process would), all
three start, say that they wait, and serve nothing; once it is let go, one
of them migrates and the other two find the schema done and start.
"""

from __future__ import annotations

import time

import sqlalchemy as sa

from ngshare.migrations import MIGRATION_LOCK_KEY
from tests.replicas.cluster import fresh_postgresql_database, replica_cluster

WAITING = "another process is upgrading the database; waiting for it"
FOUND_DONE = "another process upgraded the database meanwhile"


def wait_for(predicate, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_three_replicas_started_together_on_an_empty_database_migrate_once(tmp_path):
    with fresh_postgresql_database() as db_url:
        engine = sa.create_engine(db_url)
        try:
            holder = engine.connect()
            holder.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
            holder.commit()
            with replica_cluster(tmp_path, db_url, 3, wait=False) as cluster:
                wait_for(
                    lambda: all(WAITING in r.log() for r in cluster.replicas), 30, "all to wait"
                )
                assert all(r.proc.poll() is None for r in cluster.replicas)
                holder.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK_KEY})
                holder.commit()
                cluster.wait_until_up(60)
                logs = [r.log() for r in cluster.replicas]
                assert sum(FOUND_DONE in log for log in logs) == 2, logs
                assert not any("Traceback" in log for log in logs), logs
                with engine.connect() as conn:
                    versions = conn.execute(
                        sa.text(
                            "SELECT version_num, count(*) FROM alembic_version GROUP BY version_num"
                        )
                    ).all()
                assert versions and all(n == 1 for _, n in versions), versions
                for replica in cluster.replicas:
                    assert replica.get("/api/healthz")[0] == 200
            holder.close()
        finally:
            engine.dispose()
