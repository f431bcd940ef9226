"""A fresh PostgreSQL database per benchmark run, named by the run's ``--database`` URL.

The benchmark starts every server on an empty database so runs compare; for
PostgreSQL that means dropping and re-creating the database the URL names
(through the server's ``postgres`` maintenance database). Point it only at a
database of your own: whatever it holds is dropped.
"""

from __future__ import annotations

from sqlalchemy.engine import make_url


def is_postgresql(url: str | None) -> bool:
    return bool(url) and url.startswith("postgresql")


def libpq_dsn(url: str, database: str | None = None) -> str:
    """The psycopg connection string of a SQLAlchemy URL (optionally another database)."""
    u = make_url(url)
    parts = {
        "host": u.host or "127.0.0.1",
        "port": str(u.port or 5432),
        "user": u.username or "postgres",
        "dbname": database or u.database,
    }
    if u.password:
        parts["password"] = u.password
    return " ".join(f"{k}={v}" for k, v in parts.items())


def recreate(url: str) -> None:
    """Drop (forcing out any connection) and create the database ``url`` names."""
    import psycopg
    from psycopg import sql

    name = make_url(url).database
    if not name or name in ("postgres", "template0", "template1"):
        raise ValueError(f"refusing to recreate database {name!r}")
    with psycopg.connect(libpq_dsn(url, "postgres"), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
