"""A local stand-in for the part of JupyterHub's REST API a service uses to identify callers.

The ``auth`` workload needs per-user API tokens that a hub can resolve, but
not a whole hub (proxy, spawner, database), so this small Tornado server
answers the hub's requests from a token file instead::

    python benchmarks/hub_standin.py --port 8081 --users tokens.json --services services.json

It answers like JupyterHub 5/6 (``jupyterhub/apihandlers``):

* ``GET /hub/api/`` -> ``{"version": ...}`` (no token needed);
* ``GET /hub/api/user`` with ``Authorization: token|bearer <t>``: the token
  owner's model (``kind`` user or service, ``name``, ``admin``, ``groups``,
  ``scopes``, ``token_id``, ``session_id``...); what ``HubAuth.user_for_token``
  asks, and ngshare 0.6 too;
* ``GET /hub/api/users/<name>``: a user's model, for a service token (or the
  user's own token), else 403 (what ``HubIdentity`` asks for hub admins/groups);
* anything else under ``/hub/api/`` -> JSON 404.

A missing or unknown token gets the hub's ``403 {"status": 403, "message":
"Forbidden"}``. ``GET /stats`` (outside the hub API, no token) counts what was
served (``requests`` to the hub API, ``lookups`` answered by ``/user``,
``refused``...), so the runner can tell how many identity lookups the server
made. Binds 127.0.0.1 only; :func:`running` starts it as its own process and
stops it by PID.
"""

from __future__ import annotations

import argparse
import json
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
from pathlib import Path

from tornado import ioloop, web

HUB_API = "/hub/api/"
#: The version the stand-in claims; HubAuth does not check it.
HUB_VERSION = "6.1.1"
SERVICE_SCOPES = ["read:users", "read:groups"]
START_TIMEOUT = 15.0


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
        "kind": "user", "name": name, "admin": False, "roles": ["user"], "groups": [],
        "server": None, "pending": None, "created": "2024-01-01T00:00:00.000000Z",
        "last_activity": None, "servers": {},
    }


class HubApiHandler(web.RequestHandler):
    """Errors as the hub writes them: ``{"status": code, "message": text}``."""

    def initialize(self, tokens: Tokens, stats: Counter) -> None:
        self.tokens, self.stats = tokens, stats

    def prepare(self) -> None:
        self.stats["requests"] += 1  # everything asked of the hub API, lookups or not

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json")

    def write_error(self, status_code: int, **kwargs) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        message = getattr(exc, "log_message", None) or self._reason
        self.finish(json.dumps({"status": status_code, "message": message}))

    def caller(self) -> tuple[str, str, str] | None:
        """(kind, name, token id) owning the request's token, or None."""
        scheme, _, value = self.request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() not in ("token", "bearer") or not value.strip():
            return None
        return self.tokens.owner.get(value.strip())

    def refuse(self) -> None:
        """The hub's answer to a missing or unknown token."""
        self.stats["refused"] += 1
        raise web.HTTPError(403)


class RootHandler(HubApiHandler):
    def get(self) -> None:
        self.finish(json.dumps({"version": HUB_VERSION}))


class SelfHandler(HubApiHandler):
    """``GET /hub/api/user``: who owns this token (an identity lookup)."""

    def get(self) -> None:
        who = self.caller()
        if who is None:
            self.refuse()
        kind, name, token_id = who
        self.stats["lookups"] += 1
        self.stats[f"lookups_{kind}"] += 1
        if kind == "user":
            model = user_model(name)
            scopes = ["access:servers!user=" + name, "read:users!user=" + name]
        else:
            model = {"kind": "service", "name": name, "admin": False,
                     "roles": [name + "-service"]}
            scopes = SERVICE_SCOPES
        model.update(scopes=scopes, token_id=token_id, session_id=None)
        self.finish(json.dumps(model))


class UserHandler(HubApiHandler):
    """``GET /hub/api/users/<name>``: a service's token may read any user, a user only itself."""

    def get(self, name: str) -> None:
        who = self.caller()
        if who is None:
            self.refuse()
        if who[0] != "service" and who[:2] != ("user", name):
            self.stats["refused_scope"] += 1
            raise web.HTTPError(
                403, "Action is not authorized with current scopes; requires any of [read:users]"
            )
        self.stats["user_models"] += 1
        if name not in self.tokens.users:
            raise web.HTTPError(404)
        self.finish(json.dumps(user_model(name)))


class NotFound(HubApiHandler):
    def prepare(self) -> None:
        super().prepare()
        self.stats["not_found"] += 1
        raise web.HTTPError(404)


class StatsHandler(web.RequestHandler):
    def initialize(self, stats: Counter) -> None:
        self.stats = stats

    def get(self) -> None:
        self.finish({"requests": 0, "lookups": 0, "refused": 0, **self.stats})


def make_app(tokens: Tokens, stats: Counter) -> web.Application:
    kw = {"tokens": tokens, "stats": stats}
    return web.Application([
        (HUB_API, RootHandler, kw),
        (HUB_API + "user", SelfHandler, kw),
        (HUB_API + r"users/([^/]+)", UserHandler, kw),
        (HUB_API + r".*", NotFound, kw),
        ("/stats", StatsHandler, {"stats": stats}),
    ])


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--users", required=True, help="JSON file {username: token}")
    p.add_argument("--services", help="JSON file {service name: token}")
    args = p.parse_args(argv)
    services = json.loads(Path(args.services).read_text()) if args.services else {}
    tokens = Tokens(json.loads(Path(args.users).read_text()), services)
    make_app(tokens, Counter()).listen(args.port, "127.0.0.1")
    ioloop.IOLoop.current().start()


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
            [sys.executable, str(Path(__file__).resolve()), f"--port={port}",
             f"--users={work / 'users.json'}", f"--services={work / 'services.json'}"],
            stdout=log, stderr=subprocess.STDOUT, cwd=work, start_new_session=True,
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
