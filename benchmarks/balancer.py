"""A small loopback HTTP load balancer for the replica benchmark: round-robin, kept-alive, streamed.

::

    python benchmarks/balancer.py --port 9000 http://127.0.0.1:9001 http://127.0.0.1:9002

Each request goes to the next backend in turn, over a pool of kept-alive
connections (aiohttp's client); request and response bodies are passed on in
pieces as they arrive, never held whole. Hop-by-hop headers are dropped and
``X-Forwarded-For``/``-Proto``/``-Host`` added, as nginx or Traefik would. A
backend that cannot be reached gives a JSON 502. It stands in for the load
balancer of a real deployment (deploy/docker-compose.yml uses nginx); it
is not meant for production.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys

import aiohttp
from aiohttp import web

#: Headers that describe one connection, not the message (RFC 9110 7.6.1).
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
    }
)
PIECE_BYTES = 1 << 16


def forward_headers(request: web.Request) -> dict[str, str]:
    headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
    peer = request.remote or ""
    prior = request.headers.get("X-Forwarded-For")
    headers["X-Forwarded-For"] = f"{prior}, {peer}" if prior else peer
    headers["X-Forwarded-Proto"] = request.scheme
    headers["X-Forwarded-Host"] = request.host
    return headers


class Balancer:
    def __init__(self, backends: list[str], connections: int = 256) -> None:
        self.backends = [b.rstrip("/") for b in backends]
        self._next = itertools.cycle(self.backends)
        self.connections = connections
        self.session: aiohttp.ClientSession | None = None

    async def start(self, _app: web.Application) -> None:
        connector = aiohttp.TCPConnector(limit=self.connections, keepalive_timeout=60)
        self.session = aiohttp.ClientSession(
            connector=connector,
            auto_decompress=False,
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=10),
        )

    async def stop(self, _app: web.Application) -> None:
        if self.session is not None:
            await self.session.close()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        backend = next(self._next)
        body = request.content if request.body_exists else None
        try:
            async with self.session.request(
                request.method,
                backend + request.rel_url.raw_path_qs,
                headers=forward_headers(request),
                data=body,
                allow_redirects=False,
            ) as upstream:
                response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
                for key, value in upstream.headers.items():
                    if key.lower() not in HOP_BY_HOP and key.lower() != "content-length":
                        response.headers.add(key, value)
                if upstream.content_length is not None:
                    response.content_length = upstream.content_length
                await response.prepare(request)
                async for piece in upstream.content.iter_chunked(PIECE_BYTES):
                    await response.write(piece)
                await response.write_eof()
                return response
        except aiohttp.ClientConnectionError as e:
            return web.json_response(
                {"success": False, "message": f"backend {backend} unreachable: {e}"}, status=502
            )


def make_app(backends: list[str]) -> web.Application:
    balancer = Balancer(backends)
    # no body size limit here: bodies are streamed to the backend, which enforces its own
    app = web.Application(client_max_size=0)
    app.on_startup.append(balancer.start)
    app.on_cleanup.append(balancer.stop)
    app.router.add_route("*", "/{tail:.*}", balancer.handle)
    return app


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("backends", nargs="+", help="base URLs, e.g. http://127.0.0.1:9001")
    args = p.parse_args(argv)
    print(json.dumps({"listening": args.port, "backends": args.backends}), flush=True)
    web.run_app(make_app(args.backends), host=args.host, port=args.port, print=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
