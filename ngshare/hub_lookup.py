"""Who owns a token, asked of the hub on kept-alive connections, answers parsed by httptools.

At a deadline every student's first request waits for one ``GET
/hub/api/user``, so 300 lookups land within a second on the cores the hub and
the students' downloads share. JupyterHub's ``HubAuth`` makes that request
through an aiohttp session (JupyterHub 6) or Tornado's client (4 and 5), and
spends about twice the CPU per lookup that this client does: it writes the
request as one buffer and has httptools (llhttp, in C) parse the answer
(figures and the command in docs/benchmarks.md).

It sends only that one request, and only to an ``http://`` hub that no
``http_proxy`` setting covers. Whatever it
cannot handle exactly as ``HubAuth`` would (another scheme, a token with
unusual characters, a refused or dropped connection, a malformed answer, a
status other than 200 or 403) raises :class:`LookupUnavailable`, and the
caller asks through ``HubAuth`` instead: identities and errors come out the
same either way, only the cost differs.
"""

from __future__ import annotations

import asyncio
import json
import re
from urllib.parse import urlsplit
from urllib.request import getproxies, proxy_bypass

import httptools

#: Tokens sent this way: JupyterHub's are hex or url-safe base64. Anything
#: else (which could not be written into a header verbatim) goes through HubAuth.
_PLAIN_TOKEN = re.compile(r"[A-Za-z0-9._~+/=-]{1,1024}")

#: A hub answer larger than this is not a user model; HubAuth may have it.
MAX_ANSWER_BYTES = 1 << 20


class LookupUnavailable(Exception):
    """This client got no usable answer; ask through HubAuth instead."""


class _Connection(asyncio.Protocol):
    """One kept-alive connection to the hub; one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.answer: asyncio.Future | None = None
        self.body: list[bytes] = []
        self.size = 0
        self.closed = False

    # -- asyncio.Protocol -----------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.answer is None or self.answer.done():  # nothing was asked: not a hub we know
            self._fail(LookupUnavailable("unexpected bytes from the hub"))
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as e:
            self._fail(LookupUnavailable(f"malformed answer: {e}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(LookupUnavailable(f"connection closed: {exc or 'by the hub'}"))

    # -- httptools callbacks --------------------------------------------------

    def on_message_begin(self) -> None:
        self.body, self.size = [], 0

    def on_body(self, body: bytes) -> None:
        self.size += len(body)
        if self.size > MAX_ANSWER_BYTES:
            raise LookupUnavailable("answer too large")  # surfaces as HttpParserError
        self.body.append(body)

    def on_message_complete(self) -> None:
        if self.answer is not None and not self.answer.done():
            status = self.parser.get_status_code()
            self.answer.set_result((status, b"".join(self.body), self.parser.should_keep_alive()))

    # -- use --------------------------------------------------------------------

    async def ask(self, request: bytes, timeout: float) -> tuple[int, bytes, bool]:
        """(status, body, may the connection be reused) of one request.

        The timeout is a timer on the answer, not ``asyncio.wait_for``: that
        wraps the wait in a task of its own (Python < 3.12), and each task
        boundary is one more pass of a busy IOLoop before the caller resumes.
        """
        loop = asyncio.get_running_loop()
        self.answer = loop.create_future()
        timer = loop.call_later(timeout, self._fail, TimeoutError("the hub did not answer in time"))
        self.transport.write(request)
        try:
            return await self.answer
        finally:
            timer.cancel()

    def _fail(self, exc: Exception) -> None:
        if self.answer is not None and not self.answer.done():
            self.answer.set_exception(exc)
        self.close()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class HubTokenLookup:
    """``GET {api_url}/user`` with a caller's token, on up to ``max_connections`` connections.

    Bound to the event loop it is first used on (its connections are).
    """

    def __init__(self, api_url: str, *, max_connections: int = 32, timeout: float = 30.0) -> None:
        if not self.serves(api_url):
            raise ValueError(f"not an http:// hub API URL: {api_url!r}")
        parts = urlsplit(api_url)
        self._address = (parts.hostname, parts.port or 80)
        self._head = (
            f"GET {parts.path.rstrip('/')}/user HTTP/1.1\r\n"
            f"Host: {parts.netloc}\r\n"
            "Accept: application/json\r\n"
            "User-Agent: ngshare-hub-lookup\r\n"
            "Authorization: token "
        ).encode("latin-1")
        self._idle: list[_Connection] = []
        self._slots = asyncio.Semaphore(max_connections)
        self._timeout = timeout

    @staticmethod
    def serves(api_url: str) -> bool:
        """Can this client ask the hub at ``api_url``? Plain http, and no proxy set for it.

        (Where ``http_proxy`` covers the hub's host, HubAuth's client decides
        whether to use it: curl does, aiohttp and Tornado's own do not.)
        """
        parts = urlsplit(api_url)
        if parts.scheme != "http" or not parts.hostname:
            return False
        return "http" not in getproxies() or bool(proxy_bypass(parts.hostname))

    async def user_for_token(self, token: str) -> dict | None:
        """The token owner's model; None if the hub does not know the token (403)."""
        if not _PLAIN_TOKEN.fullmatch(token):
            raise LookupUnavailable("token with unusual characters")
        request = self._head + token.encode("ascii") + b"\r\n\r\n"
        async with self._slots:
            status, body = await self._exchange(request)
        if status == 403:
            return None
        if status != 200:
            raise LookupUnavailable(f"hub answered {status}")
        try:
            model = json.loads(body.decode("utf-8"))
        except ValueError as e:
            raise LookupUnavailable("answer is not JSON") from e
        if not isinstance(model, dict):
            raise LookupUnavailable("answer is not a user model")
        return model

    async def _exchange(self, request: bytes) -> tuple[int, bytes]:
        """Send on an idle connection, or a new one; a kept-alive one the hub
        closed meanwhile is retried once on a new connection (the GET is safe)."""
        while True:
            conn, reused = self._take_idle(), True
            if conn is None:
                conn, reused = await self._connect(), False
            try:
                status, body, keep = await conn.ask(request, self._timeout)
            except LookupUnavailable:
                conn.close()
                if reused:
                    continue
                raise
            except TimeoutError as e:
                conn.close()
                raise LookupUnavailable(str(e)) from None
            except BaseException:  # cancelled mid-answer: the connection's state is unknown
                conn.close()
                raise
            if keep and not conn.closed:
                self._idle.append(conn)
            else:
                conn.close()
            return status, body

    def _take_idle(self) -> _Connection | None:
        while self._idle:
            conn = self._idle.pop()
            if not conn.closed:
                return conn
        return None

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            _, conn = await asyncio.wait_for(
                loop.create_connection(_Connection, *self._address), self._timeout
            )
        except (OSError, asyncio.TimeoutError) as e:
            raise LookupUnavailable(f"cannot connect: {e}") from None
        return conn

    def close(self) -> None:
        """Close the idle connections (those in use close when their answer is read)."""
        for conn in self._idle:
            conn.close()
        self._idle.clear()
