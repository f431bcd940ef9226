"""Secrets that every replica must share, kept in the database (``shared_secrets``).

A cookie signed by one replica must verify on the next one, and browsers
subscribe to Web Push with one VAPID public key whichever replica serves the
page. With ``c.NgShare.secrets_in_database`` the first replica to start
writes each secret and every replica reads the stored one::

    secret = shared_secret(engine, "cookie_secret", lambda: secrets.token_hex(32))

Racing replicas converge: each proposes its own value with ``INSERT … ON
CONFLICT DO NOTHING`` and then reads back whatever row won. Settings
(``$NGSHARE_COOKIE_SECRET``, ``c.WebPushProvider.vapid_private_key``) still
come first; without ``secrets_in_database`` the per-process files are used.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine

from ngshare.models import SharedSecret, utcnow

_INSERTS = {"sqlite": sqlite_insert, "postgresql": pg_insert}

COOKIE_SECRET = "cookie_secret"
VAPID_PRIVATE_KEY = "vapid_private_key"


def shared_secret(engine: Engine, name: str, make: Callable[[], str]) -> str:
    """The stored secret ``name``; ``make()`` proposes one if none is stored yet.

    Runs synchronously: it is called once per secret while the server starts.
    """
    insert = _INSERTS.get(engine.dialect.name)
    if insert is None:
        raise ValueError(f"secrets in the database need SQLite or PostgreSQL, not {engine.name}")
    with engine.begin() as conn:
        stored = conn.scalar(select(SharedSecret.value).where(SharedSecret.name == name))
        if stored is not None:
            return stored
        conn.execute(
            insert(SharedSecret)
            .values(name=name, value=make(), created_at=utcnow())
            .on_conflict_do_nothing(index_elements=["name"])
        )
        return conn.scalar(select(SharedSecret.value).where(SharedSecret.name == name))
