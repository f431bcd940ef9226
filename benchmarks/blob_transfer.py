"""What reading a collect's three notebooks costs: SQLite in-process against PostgreSQL.

A collect on the ``deadline`` workload reads one student's three answered
notebooks (~200 KB each, mostly base64 PNG output, which does not pack) from
table ``blobs``. This stores 150 such triples in a SQLite file and in a
PostgreSQL database of its own, then times the one statement that reads a
triple, directly on the driver (no ngshare code at all), in alternating
rounds: SQLite, PostgreSQL over TCP (127.0.0.1), PostgreSQL over its Unix
socket. A round trip with no data (``SELECT 1``) is timed beside it. The
medians are the floor under a collect on each database::

    python benchmarks/blob_transfer.py
    python benchmarks/blob_transfer.py --rounds 5 --pg-admin-url postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import payloads  # noqa: E402
from benchmarks.report import table  # noqa: E402

STUDENTS = 150
NOTEBOOK_BYTES = 200 * 1024
UNIX_SOCKET_DIR = "/var/run/postgresql"


def _triples() -> list[list[tuple[str, bytes]]]:
    """Each student's three answered notebooks, as (sha256, content)."""
    templates = [payloads.notebook_template(i, NOTEBOOK_BYTES) for i in range(3)]
    triples = []
    for s in range(STUDENTS):
        triple = []
        for template in templates:
            content = payloads.answered(template, f"student{s:04d}")
            triple.append((hashlib.sha256(content).hexdigest(), content))
        triples.append(triple)
    return triples


def _timed(read: Callable[[list[str]], list], digests: list[list[str]]) -> float:
    """Median milliseconds of ``read`` over every triple."""
    times = []
    for triple in digests:
        start = time.perf_counter()
        rows = read(triple)
        times.append(time.perf_counter() - start)
        assert len(rows) == 3 and all(len(r[1]) > 100_000 for r in rows)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()

    import psycopg
    from psycopg import sql

    triples = _triples()
    digests = [[d for d, _ in t] for t in triples]
    rows = [(d, c) for t in triples for d, c in t]
    with tempfile.TemporaryDirectory() as tmp:
        lite = sqlite3.connect(os.path.join(tmp, "blobs.sqlite"))
        lite.execute("PRAGMA journal_mode=WAL")
        lite.execute("CREATE TABLE blobs (sha256 TEXT PRIMARY KEY, content BLOB)")
        lite.executemany("INSERT INTO blobs VALUES (?, ?)", rows)
        lite.commit()

        name = f"blob_transfer_{uuid.uuid4().hex[:8]}"
        admin = psycopg.connect(args.pg_admin_url, autocommit=True)
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            tcp = psycopg.connect(host="127.0.0.1", user="postgres", dbname=name, autocommit=True)
            tcp.execute("SET default_toast_compression = lz4")
            tcp.execute("CREATE TABLE blobs (sha256 text PRIMARY KEY, content bytea)")
            with tcp.cursor() as cur:
                cur.executemany("INSERT INTO blobs VALUES (%s, %s)", rows)
            tcp.execute("VACUUM ANALYZE blobs")
            unix = None
            if os.path.isdir(UNIX_SOCKET_DIR):
                unix = psycopg.connect(
                    host=UNIX_SOCKET_DIR, user="postgres", dbname=name, autocommit=True
                )
            results: dict[str, list[float]] = {}

            def lite_read(triple: list[str]) -> list:
                return lite.execute(
                    "SELECT sha256, content FROM blobs WHERE sha256 IN (?,?,?)", triple
                ).fetchall()

            def pg_reader(conn) -> Callable[[list[str]], list]:
                cursor = conn.cursor(binary=True)  # bytea as bytes, as the server reads it

                def read(triple: list[str]) -> list:
                    cursor.execute(
                        "SELECT sha256, content FROM blobs WHERE sha256 IN (%s,%s,%s)", triple
                    )
                    return cursor.fetchall()

                return read

            def round_trip(conn) -> float:
                times = []
                for _ in range(STUDENTS):
                    start = time.perf_counter()
                    conn.execute("SELECT 1").fetchall()
                    times.append(time.perf_counter() - start)
                return statistics.median(times) * 1000

            readers = [("SQLite, in-process", lite_read), ("PostgreSQL, TCP", pg_reader(tcp))]
            if unix is not None:
                readers.append(("PostgreSQL, Unix socket", pg_reader(unix)))
            for _ in range(args.rounds):
                for label, read in readers:
                    results.setdefault(label, []).append(_timed(read, digests))
                results.setdefault("PostgreSQL, TCP: SELECT 1", []).append(round_trip(tcp))
        finally:
            for conn in (tcp, unix):
                if conn is not None:
                    conn.close()
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            admin.close()
            lite.close()
    print(f"{STUDENTS} triples of ~{NOTEBOOK_BYTES // 1024} KB notebooks, {args.rounds} rounds")
    print(os.popen("uptime").read().strip())
    print(
        table(
            ["read", "median ms per round", "median ms"],
            [
                [label, ", ".join(f"{v:.2f}" for v in values), f"{statistics.median(values):.2f}"]
                for label, values in results.items()
            ],
        )
    )


if __name__ == "__main__":
    main()
