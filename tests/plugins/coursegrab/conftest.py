"""Fixtures of the CourseGrab tests: a server with the plugin, a local OIDC issuer and roster API.

- ``issuer``: a :class:`~tests.standins.oidc.OidcIssuer` on loopback, configured
  as the IOS, ANDROID and WEB issuer (audiences ``ios-client``, ``android-client``,
  ``web-client``).
- ``roster``: a :class:`~tests.standins.roster.RosterStandIn` with roster SP26:
  CS 3110 (sections 12401 OPEN, 12403 CLOSED), CS 2110 (12500 CLOSED),
  MATH 2940 "Linear Algebra" (13001 WAITLISTED), PHYS 1112 "Physics I" (14001 OPEN).
- ``server``: the context, tables empty, ``c.CourseGrab.roster_url`` at ``roster``,
  which the start-up ingest has loaded;
  ``server.smtp`` is None unless the test asks for ``smtp`` first; a test module
  may define a ``provider_settings`` fixture (settings merged last: the real
  push providers pointed at their stand-ins).
- ``cg``: ``await cg.call(method, path, json=..., token=..., user=...)`` -> :class:`Reply`;
  ``await cg.sign_in(email)`` -> the session triple; ``await cg.ingest()`` / ``cg.poll()``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import ngshare_coursegrab
import pytest
import sqlalchemy as sa
from ngshare_coursegrab import jobs
from ngshare_coursegrab.models import CourseGrabBase
from tornado.httpclient import HTTPClientError, HTTPRequest
from traitlets.config import Config

from ngshare.app import build, run_hooks
from ngshare.scheduler_models import SchedulerBase
from tests.conftest import empty_all_tables
from tests.standins import oidc
from tests.standins import roster as roster_standin
from tests.standins.smtp import start_smtp

TERM = "SP26"
AUDIENCES = {"IOS": "ios-client", "ANDROID": "android-client", "WEB": "web-client"}


def ios_token(name: str) -> str:
    """An APNs device token (64 hex digits) named for a test."""
    return hashlib.sha256(name.encode()).hexdigest()


def android_token(name: str) -> str:
    """An FCM registration token named for a test (the form FCM's tokens have)."""
    return f"{name}:APA91b" + hashlib.sha256(name.encode()).hexdigest()


def empty_plugin_tables(engine: sa.Engine) -> None:
    tables = [*CourseGrabBase.metadata.sorted_tables[::-1], *SchedulerBase.metadata.sorted_tables]
    with engine.begin() as conn:
        for table in tables:
            conn.execute(table.delete())


def sample_roster() -> roster_standin.RosterStandIn:
    standin = roster_standin.RosterStandIn()
    standin.add_roster(TERM, "Spring 2026")
    standin.add_class(
        TERM,
        "CS",
        3110,
        "Data Structures and Functional Programming",
        [(12401, "LEC", "001", "OPEN"), (12403, "DIS", "212", "CLOSED")],
    )
    standin.add_class(
        TERM, "CS", 2110, "Object-Oriented Programming", [(12500, "LEC", "001", "CLOSED")]
    )
    standin.add_class(TERM, "MATH", 2940, "Linear Algebra", [(13001, "LEC", "001", "WAITLISTED")])
    standin.add_class(TERM, "PHYS", 1112, "Physics I", [(14001, "LEC", "001", "OPEN")])
    return standin


@pytest.fixture
def issuer(io_loop):
    standin = oidc.OidcIssuer()
    server, _ = oidc.listen(standin)
    yield standin
    server.stop()


@pytest.fixture
def roster(io_loop):
    standin = sample_roster()
    server, port = roster_standin.listen(standin)
    standin.url = f"http://127.0.0.1:{port}"
    yield standin
    server.stop()


@pytest.fixture
def smtp():
    handler, controller = start_smtp()
    yield handler, controller
    controller.stop()


@pytest.fixture
def server(make_config, io_loop, issuer, roster, request):
    config = make_config(plugins=["coursegrab"])
    providers = {
        t: {"issuer": issuer.issuer, "jwks_url": issuer.issuer + "/jwks", "audience": a}
        for t, a in AUDIENCES.items()
    }
    settings: dict[str, Any] = {
        "CourseGrab": {
            "roster_url": roster.url,
            "oidc_providers": providers,
            "jwks_refresh_seconds": 0,
        },
    }
    smtp = request.getfixturevalue("smtp") if "smtp" in request.fixturenames else None
    if smtp is not None:
        settings["NotificationService"] = {
            "channels": {"email": "smtp", "apns": "log", "fcm": "log", "webpush": "log"}
        }
        settings["SmtpProvider"] = {
            "host": "127.0.0.1",
            "port": smtp[1].port,
            "security": "none",
            "sender": "CourseGrab <noreply@example.org>",
        }
    if "provider_settings" in request.fixturenames:  # real push providers at their stand-ins
        for section, values in request.getfixturevalue("provider_settings").items():
            settings[section] = {**settings.get(section, {}), **values}
    config.update_config(Config(settings))
    ctx, plugins = build(config)
    empty_plugin_tables(ctx.db.engine)
    empty_all_tables(ctx.db.engine)
    io_loop.run_sync(lambda: run_hooks(ctx, plugins, "startup"))
    # the start-up ingest (the ready hook) has loaded the roster before the test begins
    io_loop.run_sync(ctx.state(ngshare_coursegrab.StartupIngest).wait)
    ctx.smtp = smtp
    yield ctx
    io_loop.run_sync(lambda: run_hooks(ctx, plugins, "shutdown"))
    ctx.close()


@dataclass
class Reply:
    status: int
    body: Any

    @property
    def data(self) -> Any:
        assert self.status == 200 and self.body["success"] is True, (self.status, self.body)
        assert isinstance(self.body["timestamp"], int)
        return self.body["data"]

    @property
    def error(self) -> tuple[int, str]:
        """``(status, message)`` after checking the seed's error envelope."""
        assert set(self.body) == {"success", "data", "timestamp"}, self.body
        assert self.body["success"] is False
        errors = self.body["data"]["errors"]
        assert len(errors) == 1 and isinstance(errors[0], str)
        return self.status, errors[0]


class CourseGrabClient:
    """Calls ``/api/coursegrab/...`` the ways CourseGrab's apps do."""

    def __init__(self, http_client, base_url: str, ctx, issuer: oidc.OidcIssuer) -> None:
        self.http = http_client
        self.root = base_url + "/api/coursegrab/"
        self.ctx = ctx
        self.issuer = issuer

    async def call(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        body: str | bytes | None = None,
        token: str | None = None,
        user: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        url = self.root + path + ("?" + urlencode({"user": user}) if user else "")
        all_headers = dict(headers or {})
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        if json_body is not None:
            body = json.dumps(json_body)
            all_headers["Content-Type"] = "application/json"
        if body is None and method == "POST":
            body = b""
        request = HTTPRequest(url, method=method, body=body, headers=all_headers)
        try:
            response = await self.http.fetch(request)
        except HTTPClientError as e:
            response = e.response
        assert response.headers["Content-Type"].startswith("application/json"), response.body
        return Reply(response.code, json.loads(response.body))

    async def sign_in(
        self, email: str, device_type: str = "IOS", device_token: str | None = None
    ) -> dict[str, Any]:
        id_token = self.issuer.id_token(email, AUDIENCES[device_type])
        reply = await self.call(
            "POST",
            "session/initialize",
            json_body={"token": id_token, "device_type": device_type, "device_token": device_token},
        )
        return reply.data

    async def ingest(self):
        return await jobs.ingest_now(self.ctx, force=True)

    async def poll(self):
        return await jobs.poll_now(self.ctx, force=True)


@pytest.fixture
def cg(http_client, base_url, server, issuer) -> CourseGrabClient:
    return CourseGrabClient(http_client, base_url, server, issuer)
