"""Fixtures for the client tests: one vngshare process per test module.

- ``api_url``: the API root of a running vngshare (admin ``root``).
- ``client_for(user)``: an :class:`~ngshare.clients.api.ExchangeClient` acting as ``user``.
- ``course``: a fresh course id, taught by ``kevin``, with students ``alice`` and ``bob``.
- ``recorder``: a local HTTP server that records requests and answers with a canned body.
"""

from __future__ import annotations

import itertools
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ngshare.clients.api import ExchangeClient
from tests.servers import running_server

_course_ids = itertools.count(1)


@pytest.fixture(scope="module")
def api_url(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("vngshare")) as base:
        yield base + "/api/"


@pytest.fixture
def client_for(api_url):
    def make(user: str) -> ExchangeClient:
        return ExchangeClient(api_url, token="", dev_user=user, timeout=30)

    return make


@pytest.fixture
def course(client_for) -> str:
    course_id = f"course{next(_course_ids)}"
    client_for("root").create_course(course_id, ["kevin"])
    client_for("kevin").add_students(
        course_id,
        [
            {"username": u, "first_name": u.title(), "last_name": "L", "email": f"{u}@x.org"}
            for u in ("alice", "bob")
        ],
    )
    return course_id


class Recorder(BaseHTTPRequestHandler):
    """Answers every request with the server's ``reply`` and remembers what came in."""

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        self.server.seen.append(
            {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
        )
        status, content_type, text = self.server.reply
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(text.encode())))
        self.end_headers()
        self.wfile.write(text.encode())

    do_GET = do_POST = do_DELETE = _handle

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def recorder():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    server.seen = []
    server.reply = (200, "application/json", json.dumps({"success": True, "courses": []}))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}/api/"
    yield server
    server.shutdown()
    server.server_close()
