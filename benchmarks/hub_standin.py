"""A local stand-in for the part of JupyterHub's REST API a service uses to identify callers.

The ``auth`` workload needs per-user API tokens that a hub can resolve, but
not a whole hub (proxy, spawner, database), so this small server answers the
hub's requests from a token file instead::

    python benchmarks/hub_standin.py --port 8081 --users tokens.json --services services.json

It answers like JupyterHub 5/6 (``jupyterhub/apihandlers``):

* ``GET /hub/api/`` -> ``{"version": ...}`` (no token needed);
* ``GET /hub/api/user`` with ``Authorization: token|bearer <t>``: the token
  owner's model (``kind`` user or service, ``name``, ``admin``, ``groups``,
  ``scopes``, ``token_id``, ``session_id``...); what ``HubAuth.user_for_token``
  asks, and ngshare 0.6 too;
* ``GET /hub/api/users/<name>``: a user's model, for a service token (or the
  user's own token), else 403 (what ``HubIdentity`` asks for hub admins/groups);
* anything else under ``/hub/api/`` -> JSON 404; a method other than GET -> JSON 405.

A missing or unknown token gets the hub's ``403 {"status": 403, "message":
"Forbidden"}``. ``GET /stats`` (outside the hub API, no token) counts what was
served (``requests`` to the hub API, ``lookups`` answered by ``/user``,
``refused``...), so the runner can tell how many identity lookups the server
made. Binds 127.0.0.1 only; :func:`running` starts it as its own process and
stops it by PID.

It shares the machine's 2 cores with the server it serves, so it is an
``asyncio.Protocol`` over httptools' parser rather than a Tornado
application: 300 lookups (one deadline fetch phase) cost it 0.02-0.03 s of
CPU instead of Tornado's 0.08-0.10 s (``benchmarks/standin_cost.py``, 5
rounds each; benchmarks/results/harness.md). A real
hub spends more per lookup (it hashes the token and reads its database); the
``auth`` workload measures what the *server's* lookups cost, and reports the
stand-in's CPU beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path

import httptools

HUB_API = "/hub/api/"
#: The version the stand-in claims; HubAuth does not check it.
HUB_VERSION = "6.1.1"
SERVICE_SCOPES = ["read:users", "read:groups"]
START_TIMEOUT = 15.0
USER_PATH = re.compile(re.escape(HUB_API) + r"users/([^/]+)")
ERR_SCOPE = "Action is not authorized with current scopes; requires any of [read:users]"


@dataclass
class Tokens:
    """Who owns which token: users (``{name: token}``) and services (same shape)."""

    users: dict[str, str]
    services: dict[str, str]

    def __post_init__(self) -> None:
        owners = [("user", n, t) for n, t in self.users.items()]
        owners += [("service", n, t) for n, t in self.services.items()]
        #: token -> (kind, name, token id as the hub shows it)
        self.owner = {t: (kind, n, f"a{i}") for i, (kind, n, t) in enumerate(owners, 1)}


def user_model(name: str) -> dict:
    """A user model with the fields a token holding the default ``self`` role sees."""
    return {
        "kind": "user",
        "name": name,
        "admin": False,
        "roles": ["user"],
        "groups": [],
        "server": None,
        "pending": None,
        "created": "2024-01-01T00:00:00.000000Z",
        "last_activity": None,
        "servers": {},
    }


class HubError(Exception):
    """An error answer, written as the hub writes them: ``{"status": code, "message": text}``."""

    def __init__(self, status: int, message: str | None = None) -> None:
        super().__init__(status, message)
        self.status, self.message = status, message or HTTPStatus(status).phrase


class HubApi:
    """The routes: (method, path, Authorization header) -> (status, JSON body)."""

    def __init__(self, tokens: Tokens) -> None:
        self.tokens = tokens
        self.stats: Counter = Counter()

    def answer(self, method: str, path: str, authorization: str) -> tuple[int, dict]:
        if path == "/stats" and method == "GET":
            return 200, {"requests": 0, "lookups": 0, "refused": 0, **self.stats}
        if not path.startswith(HUB_API):
            return 404, {"status": 404, "message": "Not Found"}  # not the hub API: uncounted
        self.stats["requests"] += 1  # everything asked of the hub API, lookups or not
        try:
            if method != "GET":
                raise HubError(405)
            return 200, self.route(path, authorization)
        except HubError as e:
            return e.status, {"status": e.status, "message": e.message}

    def route(self, path: str, authorization: str) -> dict:
        if path == HUB_API:
            return {"version": HUB_VERSION}
        if path == HUB_API + "user":
            return self.self_model(self.caller(authorization))
        match = USER_PATH.fullmatch(path)
        if match:
            return self.user(self.caller(authorization), match.group(1))
        self.stats["not_found"] += 1
        raise HubError(404)

    def caller(self, authorization: str) -> tuple[str, str, str]:
        """(kind, name, token id) owning the token, or the hub's 403."""
        scheme, _, value = authorization.partition(" ")
        who = None
        if scheme.lower() in ("token", "bearer") and value.strip():
            who = self.tokens.owner.get(value.strip())
        if who is None:
            self.stats["refused"] += 1
            raise HubError(403)
        return who

    def self_model(self, who: tuple[str, str, str]) -> dict:
        """``GET /hub/api/user``: who owns this token (an identity lookup)."""
        kind, name, token_id = who
        self.stats["lookups"] += 1
        self.stats[f"lookups_{kind}"] += 1
        if kind == "user":
            model = user_model(name)
            scopes = ["access:servers!user=" + name, "read:users!user=" + name]
        else:
            model = {"kind": "service", "name": name, "admin": False, "roles": [name + "-service"]}
            scopes = SERVICE_SCOPES
        model.update(scopes=scopes, token_id=token_id, session_id=None)
        return model

    def user(self, who: tuple[str, str, str], name: str) -> dict:
        """``GET /hub/api/users/<name>``: a service's token reads any user, a user only itself."""
        if who[0] != "service" and who[:2] != ("user", name):
            self.stats["refused_scope"] += 1
            raise HubError(403, ERR_SCOPE)
        self.stats["user_models"] += 1
        if name not in self.tokens.users:
            raise HubError(404)
        return user_model(name)


class HubConnection(asyncio.Protocol):
    """One client connection: requests parsed by httptools, answered in order (keep-alive)."""

    def __init__(self, api: HubApi) -> None:
        self.api = api
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.url = b""
        self.authorization = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.respond(400, {"status": 400, "message": "Bad Request"}, keep_alive=False)

    # httptools' callbacks
    def on_message_begin(self) -> None:
        self.url, self.authorization = b"", b""

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"authorization":
            self.authorization = value

    def on_message_complete(self) -> None:
        path = httptools.parse_url(self.url).path.decode("utf-8", "replace")
        status, body = self.api.answer(
            self.parser.get_method().decode(), path, self.authorization.decode("latin-1")
        )
        self.respond(status, body, self.parser.should_keep_alive())

    def respond(self, status: int, body: dict, keep_alive: bool) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        payload = json.dumps(body).encode()
        head = (
            f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
            + ("" if keep_alive else "Connection: close\r\n")
            + "\r\n"
        )
        self.transport.write(head.encode() + payload)
        if not keep_alive:
            self.transport.close()


async def serve(port: int, tokens: Tokens) -> None:
    api = HubApi(tokens)
    server = await asyncio.get_running_loop().create_server(
        lambda: HubConnection(api), "127.0.0.1", port
    )
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--users", required=True, help="JSON file {username: token}")
    p.add_argument("--services", help="JSON file {service name: token}")
    args = p.parse_args(argv)
    services = json.loads(Path(args.services).read_text()) if args.services else {}
    tokens = Tokens(json.loads(Path(args.users).read_text()), services)
    asyncio.run(serve(args.port, tokens))


# -- the runner's side: start it as a process, ask it for counts, stop it --------------


@dataclass
class Standin:
    url: str  # e.g. http://127.0.0.1:8081
    pid: int
    service_name: str
    service_token: str

    @property
    def api_url(self) -> str:
        return self.url + HUB_API.rstrip("/")

    def stats(self) -> dict[str, int]:
        with urllib.request.urlopen(self.url + "/stats", timeout=10) as r:
            return json.loads(r.read())

    def service_env(self) -> dict[str, str]:
        """What a hub sets for a managed service (port and URL are the server's own)."""
        return {
            "JUPYTERHUB_API_URL": self.api_url,
            "JUPYTERHUB_API_TOKEN": self.service_token,
            "JUPYTERHUB_CLIENT_ID": "service-" + self.service_name,
            "JUPYTERHUB_SERVICE_NAME": self.service_name,
            "JUPYTERHUB_SERVICE_PREFIX": "/api/",
            "JUPYTERHUB_BASE_URL": "/",
        }


def make_tokens(users: list[str]) -> dict[str, str]:
    """A fresh random API token per user."""
    return {u: secrets.token_hex(32) for u in users}


@contextmanager
def running(users: dict[str, str], service_name: str = "ngshare") -> Iterator[Standin]:
    """Run the stand-in on a free loopback port knowing ``users``; stopped by PID on exit."""
    from benchmarks.servers import free_port, stop, wait_until_answering  # the runner's side

    work = Path(tempfile.mkdtemp(prefix="hub-standin-"))
    service_token = secrets.token_hex(32)
    (work / "users.json").write_text(json.dumps(users))
    (work / "services.json").write_text(json.dumps({service_name: service_token}))
    port = free_port()
    log_path = work / "standin.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).resolve()),
                f"--port={port}",
                f"--users={work / 'users.json'}",
                f"--services={work / 'services.json'}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=work,
            start_new_session=True,
        )
    standin = Standin(f"http://127.0.0.1:{port}", proc.pid, service_name, service_token)
    try:
        # /stats is outside the hub API: polling it counts as no lookup
        wait_until_answering(standin.url + "/stats", proc, log_path, "hub stand-in", START_TIMEOUT)
        yield standin
    finally:
        stop(proc)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
