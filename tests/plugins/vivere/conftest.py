"""Fixtures of the Vivere tests: a server with the plugin, a settable clock, clients.

- ``server``: the running server's context with ``vivere`` enabled; every
  table (core, scheduler, Vivere) empty; passwords hashed cheaply; the plugin's
  clock replaced by ``clock``.
- ``clock``: a :class:`FakeClock` — move it with ``clock.advance(seconds=...)``
  instead of sleeping.
- ``settings``: the plugin's running configuration (``c.Vivere``).
- ``vv``: ``await vv.call(method, path, ...)`` -> :class:`Reply`; JSON or form
  bodies, tokens in ``X-MenloHacks-Authorization``, dev users with ``user=``.
- ``accounts``: ``await accounts.token("jason")`` signs someone up, returns the token.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa
from ngshare_vivere.clock import Clock, to_ms
from ngshare_vivere.config import Vivere
from ngshare_vivere.models import VivereBase
from tornado.httpclient import HTTPClientError, HTTPRequest

from ngshare.app import build, run_hooks
from ngshare.scheduler_models import SchedulerBase
from tests.conftest import ADMIN, empty_all_tables

PASSWORD = "correct horse battery"
ORGANISER = "olivia"  # listed in c.Vivere.organisers; ADMIN ("root") is one as an ngshare admin


class FakeClock:
    """A clock that only moves when told to (naive UTC, whole milliseconds)."""

    def __init__(self, start: datetime) -> None:
        self.current = to_ms(start)

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> datetime:
        self.current += timedelta(**delta)
        return self.current

    def set(self, value: datetime) -> None:
        self.current = value


def empty_plugin_tables(engine: sa.Engine) -> None:
    tables = [*VivereBase.metadata.sorted_tables[::-1], *SchedulerBase.metadata.sorted_tables]
    with engine.begin() as conn:
        for table in tables:
            conn.execute(table.delete())


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.now(timezone.utc).replace(tzinfo=None))


@pytest.fixture
def server(make_config, io_loop, clock):
    ctx, plugins = build(make_config(plugins=["vivere"]))
    empty_plugin_tables(ctx.db.engine)
    empty_all_tables(ctx.db.engine)
    ctx.state(Vivere).organisers = [ORGANISER]
    io_loop.run_sync(lambda: run_hooks(ctx, plugins, "startup"))
    ctx.accounts.scrypt_n = 2**10  # fast hashes: the tests are about Vivere, not scrypt
    ctx.set_state(clock, Clock)
    yield ctx
    io_loop.run_sync(lambda: run_hooks(ctx, plugins, "shutdown"))
    ctx.close()


@pytest.fixture
def settings(server):
    return server.state(Vivere)


@dataclass
class Reply:
    status: int
    body: Any
    headers: Any
    raw: bytes

    @property
    def data(self) -> Any:
        assert self.body["success"] is True, self.body
        return self.body["data"]

    @property
    def error(self) -> tuple[int, str]:
        """``(status, message)``, after checking the seed's error envelope."""
        assert set(self.body) == {"error", "success"}, self.body
        assert self.body["success"] is False
        assert set(self.body["error"]) == {"title", "message"}
        assert self.body["error"]["title"]
        return self.status, self.body["error"]["message"]


class VivereClient:
    """Calls ``/api/vivere/...`` the ways Vivere's clients do."""

    def __init__(self, http_client, base_url: str) -> None:
        self.http = http_client
        self.base_url = base_url
        self.root = base_url + "/api/vivere/"

    async def call(
        self,
        method: str,
        path: str,
        *,
        user: str | None = None,
        token: str | None = None,
        json_body: Any = None,
        form: dict[str, str] | None = None,
        body: bytes | str | None = None,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        params = dict(query or {})
        if user is not None:
            params["user"] = user
        url = self.root + path + ("?" + urlencode(params) if params else "")
        all_headers = dict(headers or {})
        if token is not None:
            all_headers["X-MenloHacks-Authorization"] = token
        if json_body is not None:
            body = json.dumps(json_body)
            all_headers.setdefault("Content-Type", "application/json")
        elif form is not None:
            body = urlencode(form)
            all_headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        if body is None and method in ("POST", "PUT", "PATCH"):
            body = b""
        request = HTTPRequest(url, method=method, body=body, headers=all_headers)
        try:
            response = await self.http.fetch(request)
        except HTTPClientError as e:
            response = e.response
        content_type = response.headers.get("Content-Type", "")
        parsed = json.loads(response.body) if content_type.startswith("application/json") else None
        return Reply(response.code, parsed, response.headers, response.body)


@pytest.fixture
def vv(http_client, base_url, server) -> VivereClient:
    return VivereClient(http_client, base_url)


class Accounts:
    def __init__(self, vv: VivereClient) -> None:
        self.vv = vv

    async def token(self, username: str, name: str | None = None) -> str:
        reply = await self.vv.call(
            "POST",
            "user/create",
            json_body={
                "name": name or username.title(),
                "username": username,
                "password": PASSWORD,
            },
        )
        assert reply.status == 201, reply.body
        return reply.data["token"]


@pytest.fixture
def accounts(vv) -> Accounts:
    return Accounts(vv)


__all__ = ["ADMIN", "ORGANISER", "PASSWORD", "FakeClock", "Reply"]
