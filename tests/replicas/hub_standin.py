"""A stand-in for JupyterHub's ``GET /hub/api/user`` on a thread of its own, for server processes.

It answers the way the hub does: the token in the Authorization header
identifies its owner; an unknown token gets 403.
"""

from __future__ import annotations

import asyncio
import json
import threading
from contextlib import contextmanager

from tornado import web
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

USERS = {"tok-kevin": {"kind": "user", "name": "kevin", "admin": False, "groups": []}}
SERVICE_TOKEN = "replicas-service-token"


class _User(web.RequestHandler):
    def get(self) -> None:
        token = self.request.headers.get("Authorization", "").partition(" ")[2]
        if token not in USERS:
            raise web.HTTPError(403)
        self.write(json.dumps({**USERS[token], "scopes": []}))


@contextmanager
def hub_standin():
    """Yield the environment a managed service gets, pointing at the running stand-in."""
    sockets = bind_sockets(0, "127.0.0.1")
    port = sockets[0].getsockname()[1]
    loop = asyncio.new_event_loop()
    started = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        server = HTTPServer(web.Application([(r"/hub/api/user", _User)]))
        server.add_sockets(sockets)
        started.set()
        loop.run_forever()
        server.stop()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    started.wait(10)
    try:
        yield {
            "JUPYTERHUB_API_URL": f"http://127.0.0.1:{port}/hub/api",
            "JUPYTERHUB_API_TOKEN": SERVICE_TOKEN,
            "JUPYTERHUB_SERVICE_PREFIX": "/api/",
            "JUPYTERHUB_CLIENT_ID": "service-ngshare",
            "JUPYTERHUB_SERVICE_URL": "http://127.0.0.1:10101",
        }
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
