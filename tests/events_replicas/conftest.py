"""Fixtures: three replicas on a PostgreSQL database of their own.

- ``replica_db``: the :class:`~tests.events_replicas.replicas.ReplicaDatabase`
  (created on the local PostgreSQL, dropped at the end of the module);
- ``replicas``: base URLs of three ``vngshare --plugins=vivere
  --EventBus.backend=postgres`` processes on it.

These tests need PostgreSQL whichever database the rest of the run uses; they
are skipped, saying so, when it cannot be reached.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.events_replicas.replicas import PG_ADMIN_URL, replica_database, running_replicas


@pytest.fixture(scope="module")
def replica_db():
    try:
        with sa.create_engine(PG_ADMIN_URL).connect():
            pass
    except sa.exc.OperationalError as e:
        pytest.skip(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {e}")
    with replica_database() as db:
        yield db


@pytest.fixture(scope="module")
def replicas(replica_db, tmp_path_factory):
    with running_replicas(replica_db.url, 3, tmp_path_factory.mktemp("replicas")) as bases:
        yield bases
