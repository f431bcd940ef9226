"""``/healthz`` (liveness) and ``{prefix}healthz`` (readiness): the database's reachability,
checked in the background at most every couple of seconds."""

from __future__ import annotations

import json

import pytest
from tornado import web
from tornado.httpclient import HTTPClientError
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port

from ngshare.db import Database
from ngshare.health import DatabaseProbe, HealthHandler


async def fetch(http_client, url):
    try:
        return await http_client.fetch(url, raise_error=True)
    except HTTPClientError as e:
        return e.response


@pytest.mark.gen_test
async def test_readiness_reports_a_reachable_database(http_client, base_url):
    r = await fetch(http_client, base_url + "/api/healthz")
    body = json.loads(r.body)
    assert r.code == 200 and body["success"] is True
    assert body["database"]["reachable"] is True
    assert "error" not in body["database"]


@pytest.mark.gen_test
async def test_a_probe_is_answered_from_the_cached_check(server):
    probe = DatabaseProbe(server.db, max_age=60)
    first = await probe.status()
    checked_at = probe.checked_at
    second = await probe.status()
    assert first["reachable"] is second["reachable"] is True
    assert probe.checked_at == checked_at  # no second query within max_age
    assert second["checked_seconds_ago"] >= first["checked_seconds_ago"]


@pytest.mark.gen_test
async def test_a_stale_check_is_refreshed_in_the_background(server):
    probe = DatabaseProbe(server.db, max_age=0)
    await probe.status()
    before = probe.checked_at
    await probe.status()  # answers from the last check, starts the next one
    assert probe._running is not None
    await probe._running
    assert probe.checked_at > before


UNREACHABLE = "postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=1"


@pytest.mark.gen_test(timeout=30)
async def test_an_unreachable_database_is_reported_with_its_error_kind():
    db = Database(UNREACHABLE, workers=1)  # the driver is installed; no server on port 9
    try:
        status = await DatabaseProbe(db, timeout=10).status()
    finally:
        db.dispose()
    assert status["reachable"] is False
    assert status["error"] == "OperationalError"


@pytest.mark.gen_test(timeout=30)
async def test_without_a_database_readiness_is_503_and_liveness_still_200(server, http_client):
    db = Database(UNREACHABLE, workers=1)
    probe = DatabaseProbe(db, timeout=10)
    app = web.Application(
        [
            (r"/healthz", HealthHandler, {"ctx": server, "probe": probe, "readiness": False}),
            (r"/api/healthz", HealthHandler, {"ctx": server, "probe": probe, "readiness": True}),
        ]
    )
    sock, port = bind_unused_port()
    http = HTTPServer(app)
    http.add_sockets([sock])
    try:
        ready = await fetch(http_client, f"http://127.0.0.1:{port}/api/healthz")
        live = await fetch(http_client, f"http://127.0.0.1:{port}/healthz")
    finally:
        http.stop()
        db.dispose()
    assert ready.code == 503
    assert json.loads(ready.body)["success"] is False
    assert json.loads(ready.body)["database"]["reachable"] is False
    assert live.code == 200
    assert json.loads(live.body)["database"]["reachable"] is False
