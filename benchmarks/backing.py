"""What a benchmarked server keeps its data in: a fresh PostgreSQL database, an S3 bucket.

``run.py --database postgresql --storage s3`` gives every server start of ours
a database of its own (created on the local PostgreSQL, dropped afterwards)
and a bucket on a local S3-compatible server: moto's (``moto_server``, from
the test extra), in a process of its own so that it does not share the load
driver's interpreter. Both on 127.0.0.1. moto keeps objects in memory and is
far slower than a real object store; the figures measure ngshare's S3 path
with that server, not S3.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks.servers import free_port, stop

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
START_TIMEOUT = 30.0
#: moto accepts any credentials.
S3_KEY, S3_SECRET, S3_REGION = "bench", "bench-secret", "us-east-1"


@contextmanager
def postgres_database(admin_url: str = PG_ADMIN_URL) -> Iterator[str]:
    """A new, empty database (``s3_bench_<random>``); its SQLAlchemy URL. Dropped on exit."""
    import psycopg

    name = f"s3_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def object_store() -> Iterator[list[str]]:
    """moto's S3 server on a free loopback port with one bucket; our server's options for it."""
    import boto3

    port = free_port()
    exe = shutil.which("moto_server") or str(Path(sys.executable).with_name("moto_server"))
    proc = subprocess.Popen(
        [exe, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:  # bounded: START_TIMEOUT
            try:
                urllib.request.urlopen(url + "/", timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.1)
        bucket = f"bench-{uuid.uuid4().hex[:12]}"
        boto3.client(
            "s3",
            endpoint_url=url,
            aws_access_key_id=S3_KEY,
            aws_secret_access_key=S3_SECRET,
            region_name=S3_REGION,
        ).create_bucket(Bucket=bucket)
        yield [
            "--NgShare.storage_backend=s3",
            f"--NgShare.s3_bucket={bucket}",
            f"--NgShare.s3_endpoint_url={url}",
            f"--NgShare.s3_region={S3_REGION}",
            f"--NgShare.s3_access_key_id={S3_KEY}",
            f"--NgShare.s3_secret_access_key={S3_SECRET}",
        ]
    finally:
        stop(proc)
