"""A local S3-compatible server for the tests (moto's, on 127.0.0.1), and one refusing all.

- :class:`S3StandIn`: moto's ``ThreadedMotoServer`` (the S3 API over HTTP, as
  boto3 speaks it to AWS, MinIO or Ceph RGW) on a free loopback port, started
  once per test process (fixture ``s3_server``); each test gets a bucket of
  its own (fixture ``s3_bucket``) and :meth:`S3StandIn.settings` for the
  server's ``NgShare.s3_*`` traits.
- :class:`DenyingS3`: answers every request ``403 AccessDenied`` in S3's own
  XML, like a store whose key lacks the rights.
- :func:`closed_port_url`: an endpoint URL nothing listens on (a store that is down).

``NGSHARE_TEST_STORAGE=s3`` makes the ``make_config`` fixture (tests/conftest.py)
put every test server's blobs in such a bucket.
"""

from __future__ import annotations

import socket
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
from botocore.config import Config

#: moto accepts any credentials; these are what the tests' servers present.
ACCESS_KEY = "ngshare-test"
SECRET_KEY = "ngshare-test-secret"
REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def closed_port_url() -> str:
    """An http:// URL on 127.0.0.1 where nothing listens (connections are refused)."""
    return f"http://127.0.0.1:{free_port()}"


class S3StandIn:
    """moto's S3 server on 127.0.0.1 (a free port), and a client for what the tests check."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        self.port = free_port()
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.endpoint_url = f"http://127.0.0.1:{self.port}"
        self.client = boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
            config=Config(s3={"addressing_style": "path"}),
        )

    def start(self) -> S3StandIn:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def new_bucket(self) -> str:
        name = f"ngshare-test-{uuid.uuid4().hex[:16]}"
        self.client.create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        """Every key of ``bucket`` under ``prefix`` (a listing bounded by the bucket's size)."""
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return sorted(o["Key"] for page in pages for o in page.get("Contents", ()))

    def settings(self, bucket: str, prefix: str = "") -> dict:
        """``NgShare`` traits for a server keeping its blobs in ``bucket``."""
        return {
            "storage_backend": "s3",
            "s3_bucket": bucket,
            "s3_prefix": prefix,
            "s3_endpoint_url": self.endpoint_url,
            "s3_region": REGION,
            "s3_access_key_id": ACCESS_KEY,
            "s3_secret_access_key": SECRET_KEY,
        }


class _Deny(BaseHTTPRequestHandler):
    BODY = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
        b"<Message>Access Denied</Message><RequestId>0</RequestId></Error>"
    )

    def _deny(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.send_response(403)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(self.BODY)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(self.BODY)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _deny

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        pass


class DenyingS3:
    """An S3 endpoint on 127.0.0.1 that answers every request 403 AccessDenied."""

    def __init__(self) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Deny)
        self.endpoint_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> DenyingS3:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture(scope="session")
def s3_server():
    server = S3StandIn().start()
    yield server
    server.stop()


@pytest.fixture
def s3_bucket(s3_server):
    """A new, empty bucket on :func:`s3_server`; its name."""
    return s3_server.new_bucket()
