"""A minimal HTTP/1.1 keep-alive client on asyncio protocols: the driver's cheapest transport.

The driver shares two cores with the server, and in the sequential phases
(collect, release_feedback) every microsecond it spends per request is added
to the latency it measures. aiohttp spends ~0.7 ms of CPU sending a 430 KB
form; this client writes the request head and the body as they are and parses
the answer with a few ``find`` calls, ~0.08 ms (``client_cost.py``).

It speaks only what the benchmark needs: one request at a time per
connection, bodies given whole, answers with ``Content-Length`` or
``chunked``, and ``Connection: close``. An answer that arrives before the
body is sent (a 413 for an oversized upload) ends the upload, as a browser
would.
"""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlsplit

from benchmarks.httpclient import Response

#: Bodies are written in pieces of this size, respecting the socket's flow control.
WRITE_PIECE_BYTES = 1 << 20
#: Bytes read per ``recv`` until an answer's length is known (then: straight into its body).
SCRATCH_BYTES = 256 * 1024


class HttpError(Exception):
    """A malformed answer or a connection that ended mid-answer."""


class _Answer:
    """Incremental parser of one HTTP/1.1 response.

    A body of known length is received into one buffer of that size (the
    socket writes into it: no piece objects, no join); other bodies are kept
    as the pieces the socket delivered and joined once at the end.
    """

    def __init__(self) -> None:
        self.head = bytearray()  # the head until its end is seen; then chunk-size lines
        self.status = 0
        self.headers: dict[str, str] = {}
        self.body_parts: list[bytes] = []
        self.sink: bytearray | None = None  # the whole body, when its length is known
        self.length: int | None = None  # body bytes still expected (Content-Length)
        self.chunked = False
        self.chunk_left = 0  # data bytes left in the current chunk
        self.crlf_left = 0  # bytes of the CRLF after a chunk still to skip
        self.trailers = False  # the zero-size chunk was seen: trailer lines follow
        self.head_done = False
        self.done = False

    def feed(self, data: bytes) -> None:
        if not self.head_done:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end == -1:
                return
            self._parse_head(bytes(self.head[:end]).decode("latin-1"))
            data = bytes(self.head[end + 4 :])
            self.head = bytearray()
        if self.chunked:
            self._feed_chunked(data)
        elif self.sink is not None:
            take = min(len(data), self.length)
            start = len(self.sink) - self.length
            self.sink[start : start + take] = data[:take]
            self.received(take)
        elif data:  # delimited by the end of the connection
            self.body_parts.append(data)

    def _parse_head(self, text: str) -> None:
        status_line, *lines = text.split("\r\n")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
            raise HttpError(f"bad status line {status_line!r}")
        self.status = int(parts[1])
        for line in lines:
            name, sep, value = line.partition(":")
            if not sep:
                raise HttpError(f"bad header line {line!r}")
            self.headers[name.strip().lower()] = value.strip()
        self.head_done = True
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            self.chunked = True
        elif "content-length" in self.headers:
            self.length = int(self.headers["content-length"])
            self.sink = bytearray(self.length)
            self.done = self.length == 0

    def free_space(self) -> memoryview | None:
        """Where the socket may write the rest of a body of known length (None: not known yet)."""
        if self.sink is None or self.done:
            return None
        return memoryview(self.sink)[len(self.sink) - self.length :]

    def received(self, n: int) -> None:
        """``n`` more body bytes are in :attr:`sink`."""
        self.length -= n
        self.done = self.length == 0

    def _feed_chunked(self, data: bytes) -> None:
        i, n = 0, len(data)
        while i < n and not self.done:
            if self.chunk_left:
                take = min(self.chunk_left, n - i)
                self.body_parts.append(data if take == n else data[i : i + take])
                self.chunk_left -= take
                i += take
                if not self.chunk_left:
                    self.crlf_left = 2
                continue
            if self.crlf_left:
                skip = min(self.crlf_left, n - i)
                self.crlf_left -= skip
                i += skip
                continue
            # a chunk-size line, or a trailer line after the last chunk
            eol = data.find(b"\n", i)
            if eol == -1:
                self.head += data[i:]
                return
            line = bytes(self.head + data[i:eol]).rstrip(b"\r")
            self.head = bytearray()
            i = eol + 1
            if self.trailers:
                self.done = not line  # an empty line ends the trailers
            else:
                size = int(line.split(b";")[0], 16)
                self.trailers = size == 0
                self.chunk_left = size

    def eof(self) -> None:
        """The connection closed: a close-delimited body is complete, anything else is cut."""
        if self.head_done and self.length is None and not self.chunked:
            self.done = True
        if not self.done:
            raise HttpError("connection closed before the answer was complete")

    @property
    def body(self) -> bytes | bytearray:
        if self.sink is not None:
            return self.sink  # no copy: each answer has its own
        return b"".join(self.body_parts)


class _Connection(asyncio.BufferedProtocol):
    """One keep-alive connection; :meth:`exchange` sends a request and returns its answer."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._answer: _Answer | None = None
        self._answered: asyncio.Future | None = None
        self._writable = asyncio.Event()
        self._writable.set()
        self._scratch = bytearray(SCRATCH_BYTES)
        self._into_body = False  # the last buffer handed out was the answer's body

    # -- protocol callbacks --

    def connection_made(self, transport) -> None:
        self.transport = transport

    def get_buffer(self, sizehint: int) -> memoryview:
        space = self._answer.free_space() if self._answer is not None else None
        self._into_body = space is not None
        return space if space is not None else memoryview(self._scratch)

    def buffer_updated(self, nbytes: int) -> None:
        if self._into_body and self._answered is not None and not self._answered.done():
            self._answer.received(nbytes)  # type: ignore[union-attr]
            if self._answer.done:  # type: ignore[union-attr]
                self._answered.set_result(self._answer)
            return
        self.data_received(bytes(self._scratch[:nbytes]))

    def eof_received(self) -> bool:
        return False  # close the transport; connection_lost settles the answer

    def data_received(self, data: bytes) -> None:
        if self._answer is None or self._answered is None or self._answered.done():
            self.closed = True  # nothing was asked: the server is confused or closing
            return
        try:
            self._answer.feed(data)
        except (HttpError, ValueError) as e:
            self._answered.set_exception(HttpError(str(e)))
            return
        if self._answer.done:
            self._answered.set_result(self._answer)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._writable.set()
        if self._answered is not None and not self._answered.done():
            try:
                self._answer.eof()  # type: ignore[union-attr]
                self._answered.set_result(self._answer)
            except HttpError as e:
                self._answered.set_exception(e)

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    # -- use --

    async def exchange(self, head: bytes, pieces: list[bytes]) -> _Answer:
        if self.closed or self.transport is None:
            raise HttpError("connection closed")
        self._answer = _Answer()
        self._answered = asyncio.get_running_loop().create_future()
        self.transport.write(head)
        for piece in pieces:
            view = memoryview(piece)
            for start in range(0, len(view), WRITE_PIECE_BYTES):
                if self._answered.done() or self.closed:
                    break  # answered early (e.g. 413): the rest is not wanted
                await self._writable.wait()
                if self._answered.done() or self.closed:
                    break
                self.transport.write(view[start : start + WRITE_PIECE_BYTES])
        answer = await self._answered
        if answer.headers.get("connection", "").lower() == "close":
            self.close()
        return answer

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class PlainTransport:
    """A pool of up to ``concurrency`` keep-alive connections to one server.

    A body may be given as pieces (sent one after the other, never joined).
    """

    takes_pieces = True

    def __init__(self, concurrency: int, timeout: float) -> None:
        self._limit = asyncio.Semaphore(concurrency)
        self._idle: list[_Connection] = []
        self._all: set[_Connection] = set()
        self._timeout = timeout

    async def send(self, method: str, url: str, headers: dict, body: bytes | list[bytes] | None):
        t0 = time.perf_counter()
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        lines = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        pieces = [] if body is None else [body] if isinstance(body, bytes | bytearray) else body
        if body is not None or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {sum(len(p) for p in pieces)}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        async with self._limit:
            conn, answered = None, False
            try:
                async with asyncio.timeout(self._timeout):
                    conn = await self._connection(parts.hostname, parts.port or 80)
                    answer = await conn.exchange(head, pieces)
                    answered = True
            except (HttpError, OSError, TimeoutError) as e:
                return Response(
                    0, seconds=time.perf_counter() - t0, error=f"{type(e).__name__}: {e}"
                )
            finally:
                if conn is not None and answered and not conn.closed:
                    self._idle.append(conn)  # ready for the next request
                elif conn is not None:  # failed, cancelled or closed: never reused
                    conn.close()
                    self._all.discard(conn)
        return Response(
            answer.status,
            answer.body,
            answer.headers.get("content-type", ""),
            time.perf_counter() - t0,
        )

    async def connect(self, url: str, count: int) -> None:
        """Open ``count`` connections to ``url``'s server now, idle for the next requests.

        Apps and browsers keep their connection open: a benchmark of requests
        opens them before its clock starts, so that no request's time holds a
        TCP handshake and the server's accepting of it.
        """
        parts = urlsplit(url)
        loop = asyncio.get_running_loop()
        for _ in range(count):
            _, conn = await loop.create_connection(_Connection, parts.hostname, parts.port or 80)
            self._all.add(conn)
            self._idle.append(conn)

    async def _connection(self, host: str, port: int) -> _Connection:
        while self._idle:
            conn = self._idle.pop()
            if not conn.closed:
                return conn
            self._all.discard(conn)
        loop = asyncio.get_running_loop()
        _, conn = await loop.create_connection(_Connection, host, port)
        self._all.add(conn)
        return conn

    async def close(self) -> None:
        for conn in list(self._all):
            conn.close()
        self._all.clear()
        self._idle.clear()
        await asyncio.sleep(0)  # let the transports finish closing
