"""The driver's HTTP side: any ngshare-compatible server, through its REST API only.

Two things vary between servers and deployments and are kept apart here:

* the **transport** (which HTTP client): ``plain`` (default: our minimal
  keep-alive client in ``plain_http.py``, the cheapest on CPU by far, see
  ``client_cost.py``), ``aiohttp``, or Tornado's ``AsyncHTTPClient``
  (``tornado`` = simple_httpclient, ``curl`` = pycurl);
* the **identity** (how the caller says who they are): :class:`DevUser` sends
  ``user=`` as ngshare's development mode expects; :class:`TokenAuth` sends
  ``Authorization: token <t>`` per user, as behind JupyterHub. POST bodies
  carry ``user=`` in both, as ngshare_exchange sends it.

Transport errors never raise: they come back as a :class:`Response` with
status 0 and ``error`` set, so a refused upload is a result, not a crash.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from benchmarks import payloads

#: No request of the benchmark may hang longer than this (bounded runs).
REQUEST_TIMEOUT = 900.0
TRANSPORTS = ("plain", "aiohttp", "tornado", "curl")


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = ""
    seconds: float = 0.0
    error: str | None = None

    def json(self) -> Any:
        # decode first: json.loads(bytes) decodes with 'surrogatepass', ~3x slower
        return json.loads(self.body.decode("utf-8"))

    def describe(self) -> str:
        """A short text for error lists: status plus the start of the body."""
        if self.error:
            return f"transport error: {self.error}"
        return f"HTTP {self.status}: {self.body[:160]!r}"


class DevUser:
    """Development-mode identity: ``user=`` in the query string or form body."""

    name = "dev"

    def query(self, user: str) -> dict[str, str]:
        return {"user": user}

    def headers(self, user: str) -> dict[str, str]:
        return {}


@dataclass
class TokenAuth:
    """JupyterHub-style identity: one API token per user (``{"user": "token"}``).

    The ``auth`` workload makes the tokens and has ``hub_standin.py`` resolve
    them; against a real hub, pass tokens the hub issued.
    """

    tokens: dict[str, str]
    name: str = "token"

    def query(self, user: str) -> dict[str, str]:
        return {}

    def headers(self, user: str) -> dict[str, str]:
        try:
            return {"Authorization": f"token {self.tokens[user]}"}
        except KeyError:
            raise KeyError(f"no token for user {user!r}") from None


class AiohttpTransport:
    def __init__(self, concurrency: int) -> None:
        import aiohttp

        self._aiohttp = aiohttp
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency),
            timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT),
            auto_decompress=False,
            read_bufsize=1 << 20,
            skip_auto_headers=("Accept-Encoding",),
        )

    async def send(self, method: str, url: str, headers: dict, body: bytes | None) -> Response:
        from yarl import URL

        t0 = time.perf_counter()
        try:
            async with self._session.request(
                method, URL(url, encoded=True), headers=headers, data=body
            ) as r:
                data = await r.read()
                return Response(
                    r.status, data, r.headers.get("Content-Type", ""), time.perf_counter() - t0
                )
        except (self._aiohttp.ClientError, OSError, TimeoutError) as e:
            return Response(0, seconds=time.perf_counter() - t0, error=f"{type(e).__name__}: {e}")

    async def close(self) -> None:
        await self._session.close()


class TornadoTransport:
    def __init__(self, concurrency: int, curl: bool) -> None:
        big = 4 << 30
        if curl:
            from tornado.curl_httpclient import CurlAsyncHTTPClient

            self._client = CurlAsyncHTTPClient(force_instance=True, max_clients=concurrency)
        else:
            from tornado.simple_httpclient import SimpleAsyncHTTPClient

            self._client = SimpleAsyncHTTPClient(
                force_instance=True,
                max_clients=concurrency,
                max_body_size=big,
                max_buffer_size=big,
            )

    async def send(self, method: str, url: str, headers: dict, body: bytes | None) -> Response:
        from tornado.httpclient import HTTPRequest

        t0 = time.perf_counter()
        req = HTTPRequest(
            url,
            method=method,
            headers=headers,
            body=body,
            request_timeout=REQUEST_TIMEOUT,
            decompress_response=False,
            allow_nonstandard_methods=True,
        )
        try:
            r = await self._client.fetch(req, raise_error=False)
        except OSError as e:
            return Response(0, seconds=time.perf_counter() - t0, error=f"{type(e).__name__}: {e}")
        if r.code == 599 or (r.error is not None and r.code >= 599):
            return Response(0, seconds=time.perf_counter() - t0, error=str(r.error))
        return Response(
            r.code, r.body or b"", r.headers.get("Content-Type", ""), time.perf_counter() - t0
        )

    async def close(self) -> None:
        self._client.close()


def make_transport(kind: str, concurrency: int):
    if kind == "plain":
        from benchmarks.plain_http import PlainTransport

        return PlainTransport(concurrency, REQUEST_TIMEOUT)
    if kind == "aiohttp":
        return AiohttpTransport(concurrency)
    if kind in ("tornado", "curl"):
        return TornadoTransport(concurrency, curl=kind == "curl")
    raise ValueError(f"unknown transport {kind!r}; choose from {TRANSPORTS}")


@dataclass
class ApiClient:
    """ngshare's REST API at ``base_url + prefix`` as seen by one or many users."""

    base_url: str
    identity: Any = field(default_factory=DevUser)
    transport_kind: str = "plain"
    concurrency: int = 32
    prefix: str = "/api/"

    def __post_init__(self) -> None:
        self.transport = make_transport(self.transport_kind, self.concurrency)

    def url(self, path: str, params: dict[str, str]) -> str:
        url = self.base_url.rstrip("/") + self.prefix + quote(path, safe="/")
        return url + ("?" + urlencode(params) if params else "")

    async def get(self, path: str, user: str, **params: str) -> Response:
        params = {**self.identity.query(user), **params}
        return await self.transport.send(
            "GET", self.url(path, params), self.identity.headers(user), None
        )

    async def delete(self, path: str, user: str) -> Response:
        return await self.transport.send(
            "DELETE", self.url(path, self.identity.query(user)), self.identity.headers(user), None
        )

    async def post(
        self,
        path: str,
        user: str,
        fields: dict[str, str] | None = None,
        raw: dict[str, bytes] | None = None,
    ) -> Response:
        """POST a urlencoded form; ``raw`` fields are already percent-encoded."""
        pieces = payloads.form_pieces({"user": user, **(fields or {})}, raw)
        body = pieces if getattr(self.transport, "takes_pieces", False) else b"".join(pieces)
        headers = {
            **self.identity.headers(user),
            "Content-Type": "application/x-www-form-urlencoded",
        }
        return await self.transport.send("POST", self.url(path, {}), headers, body)

    async def close(self) -> None:
        await self.transport.close()
