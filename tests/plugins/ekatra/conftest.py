"""Fixtures of the Ekatra tests: a server with the plugin, real message stand-ins, a clock.

- ``twilio``: the Twilio stand-in (tests/standins/twilio.py) every SMS and
  WhatsApp message crosses, over HTTP with basic auth; ``twilio.received`` is
  what arrived.
- ``smtp``: the SMTP stand-in (aiosmtpd) that receives the e-mails.
- ``clock``: a :class:`FakeClock` the engine and handlers read; move it.
- ``server``: the running server's context with ``ekatra`` enabled; every
  table empty; cheap password hashes; notifications through the stand-ins.
- ``ek``: ``await ek.call(method, path, user=..., token=..., json=...)`` -> :class:`Reply`.
- ``servers``: start and stop more servers on the same database (a restart, a replica).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa
from ngshare_ekatra import jobs
from ngshare_ekatra.clock import Clock
from ngshare_ekatra.models import EkatraBase
from tornado.httpclient import HTTPClientError, HTTPRequest
from traitlets.config import Config

from ngshare.app import build, run_hooks
from ngshare.scheduler_models import SchedulerBase
from tests.conftest import ADMIN, empty_all_tables
from tests.standins.smtp import start_smtp
from tests.standins.twilio import TwilioStandIn, listen
from tests.waiting import eventually

SID = "AC" + "0123456789abcdef" * 2
TWILIO_TOKEN = "twilio-auth-token"
FROM = "+15005550006"
PASSWORD = "correct horse battery"
OWNER = "teacher"  # a dev user
OTHER = "stranger"


class FakeClock:
    """A clock that only moves when told to (naive UTC)."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current

    def set(self, value: datetime) -> None:
        self.current = value


def empty_plugin_tables(engine: sa.Engine) -> None:
    tables = [*EkatraBase.metadata.sorted_tables[::-1], *SchedulerBase.metadata.sorted_tables]
    with engine.begin() as conn:
        for table in tables:
            conn.execute(table.delete())


@pytest.fixture
def twilio(io_loop):
    standin = TwilioStandIn(SID, TWILIO_TOKEN)
    http_server, port = listen(standin)
    standin.url = f"http://127.0.0.1:{port}"
    yield standin
    http_server.stop()


@pytest.fixture
def smtp():
    handler, controller = start_smtp()
    handler.port = controller.port
    yield handler
    controller.stop()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 10, 28, 12, 0, 0))


class Servers:
    """Server contexts on the test's database, started and stopped with the app's hooks.

    ``start()`` from fixtures, ``await astart()`` / ``await astop(ctx)`` inside a
    test (a restart, a second replica); whatever is left running is stopped at the end.
    """

    def __init__(self, make_config, io_loop, clock, twilio, smtp) -> None:
        self.make_config, self.io_loop, self.clock = make_config, io_loop, clock
        self.twilio, self.smtp = twilio, smtp
        self.running: list[tuple] = []
        self.cleaned = False

    def _build(self, **traits: Any):
        config = self.make_config(plugins=["ekatra"])
        config.update_config(
            Config(
                {
                    "NotificationService": {
                        "channels": {"sms": "twilio", "whatsapp": "twilio", "email": "smtp"},
                        "poll_interval_seconds": 0.05,
                        "retry_base_seconds": 0.05,
                    },
                    "TwilioProvider": {
                        "account_sid": SID,
                        "auth_token": TWILIO_TOKEN,
                        "from_number": FROM,
                        "whatsapp_from": "whatsapp:+14155238886",
                        "api_base_url": self.twilio.url,
                    },
                    "SmtpProvider": {
                        "host": "127.0.0.1",
                        "port": self.smtp.port,
                        "security": "none",
                        "sender": "Ekatra <noreply@example.org>",
                    },
                    "Ekatra": {"twilio_auth_token": TWILIO_TOKEN, **traits},
                }
            )
        )
        ctx, plugins = build(config)
        if not self.cleaned:  # the first build has migrated the database
            self.cleaned = True
            empty_plugin_tables(ctx.db.engine)
            empty_all_tables(ctx.db.engine)
        ctx.set_state(self.clock, Clock)
        self.running.append((ctx, plugins))
        return ctx, plugins

    def _started(self, ctx):
        ctx.accounts.scrypt_n = 2**10  # fast hashes: these tests are about Ekatra
        return ctx

    def start(self, **traits: Any):
        ctx, plugins = self._build(**traits)
        self.io_loop.run_sync(lambda: run_hooks(ctx, plugins, "startup"))
        return self._started(ctx)

    async def astart(self, **traits: Any):
        ctx, plugins = self._build(**traits)
        await run_hooks(ctx, plugins, "startup")
        return self._started(ctx)

    async def astop(self, ctx) -> None:
        for entry in self.running:
            if entry[0] is ctx:
                self.running.remove(entry)
                await run_hooks(ctx, entry[1], "shutdown")
                ctx.close()
                return

    def stop_all(self) -> None:
        for ctx, plugins in list(self.running):
            self.io_loop.run_sync(lambda c=ctx, p=plugins: run_hooks(c, p, "shutdown"))
            ctx.close()
        self.running.clear()


@pytest.fixture
def servers(make_config, io_loop, clock, twilio, smtp):
    servers = Servers(make_config, io_loop, clock, twilio, smtp)
    yield servers
    servers.stop_all()


@pytest.fixture
def server(servers):
    return servers.start()


@dataclass
class Reply:
    status: int
    body: Any
    headers: Any

    @property
    def message(self) -> str:
        assert isinstance(self.body, dict) and isinstance(self.body.get("message"), str), self.body
        return self.body["message"]

    def ok(self) -> dict:
        assert self.status == 200, (self.status, self.body)
        assert self.body["message"]
        return self.body

    def error(self) -> tuple[int, str]:
        """``(status, message)`` after checking the seed's error envelope."""
        assert set(self.body) == {"message"}, self.body
        return self.status, self.body["message"]


class EkatraClient:
    """Calls ``/api/ekatra/...`` as the seed's clients do (JSON, Bearer tokens)."""

    def __init__(self, http_client, base_url: str) -> None:
        self.http = http_client
        self.base_url = base_url
        self.root = base_url + "/api/ekatra/"

    async def call(
        self,
        method: str,
        path: str,
        *,
        user: str | None = OWNER,
        token: str | None = None,
        json_body: Any = None,
        body: bytes | str | None = None,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        params = dict(query or {})
        if user is not None and token is None:
            params["user"] = user
        url = self.root + path + ("?" + urlencode(params) if params else "")
        all_headers = dict(headers or {})
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        if json_body is not None:
            body = json.dumps(json_body)
            all_headers.setdefault("Content-Type", "application/json")
        if body is None and method in ("POST", "PUT", "PATCH"):
            body = b""
        request = HTTPRequest(url, method=method, body=body, headers=all_headers)
        try:
            response = await self.http.fetch(request)
        except HTTPClientError as e:
            response = e.response
        content_type = response.headers.get("Content-Type", "")
        parsed = json.loads(response.body) if content_type.startswith("application/json") else None
        return Reply(response.code, parsed, response.headers)


@pytest.fixture
def ek(http_client, base_url, server) -> EkatraClient:
    return EkatraClient(http_client, base_url)


COURSE = {
    "name": "Python",
    "author": "Ekatra",
    "description": "Python in three days",
    "days": [
        {"text": "Introduction", "questions": []},
        {
            "text": "print('hello world')",
            "questions": [
                {
                    "question": "What does print do? a) shows text b) deletes files",
                    "type": "mcq",
                    "correct_answer": "a",
                },
                {
                    "question": "Type the keyword that defines a function",
                    "type": "exact",
                    "correct-answer": "def",
                },
            ],
        },
        {"text": "Loops", "questions": [{"question": "Tell us about your day", "type": "Q/A"}]},
    ],
}

KOLKATA = "+919380169981"
NEW_YORK = "+12125550100"


def group_body(*learners: dict) -> dict:
    return {
        "name": "Group1",
        "description": "Two cities",
        "students": list(learners)
        or [
            {"name": "Tejas", "number": KOLKATA, "channel": "WhatsApp", "timezone": "Asia/Kolkata"},
            {"name": "Amy", "number": NEW_YORK, "channel": "sms", "timezone": "America/New_York"},
        ],
    }


async def make_course(ek: EkatraClient, body: dict | None = None, user: str = OWNER) -> int:
    reply = await ek.call("POST", "course/", json_body=body or COURSE, user=user)
    return int(reply.ok()["id"])


async def make_group(ek: EkatraClient, body: dict | None = None, user: str = OWNER) -> int:
    reply = await ek.call("POST", "group/", json_body=body or group_body(), user=user)
    return reply.ok()["id"]


async def run_engine(ctx) -> int:
    """One run of the ``ekatra.send_due`` job, as the scheduler runs it."""
    return await jobs.send_due(ctx)


__all__ = ["ADMIN", "COURSE", "FakeClock", "Reply", "eventually"]
