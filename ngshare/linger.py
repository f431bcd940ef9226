"""Refusing a request whose body is still arriving, without losing the refusal.

Tornado closes a connection as soon as it has written the answer to a request
whose body it has not read. The kernel then resets the connection, because
unread data is waiting on it, and a client still sending its upload may never
see the answer: four 40 MB uploads in a row to a 1 MiB limit each got a
reset, not the JSON 413. So the refusal is written on the connection taken
over from Tornado, the sending side is shut (the client sees the answer, then
the end of the stream), and whatever the client still sends is read and
dropped for a while before the connection is closed, which is what web
servers call a lingering close.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from typing import TYPE_CHECKING

from tornado import httputil
from tornado.iostream import IOStream, StreamClosedError

if TYPE_CHECKING:
    from tornado.web import RequestHandler

log = logging.getLogger(__name__)

#: How long a refused client may go on sending before the connection is closed.
LINGER_SECONDS = 10.0
#: Bytes read (and dropped) per step while lingering.
LINGER_READ_BYTES = 1 << 16


def refuse_unread_body(handler: RequestHandler, status: int, envelope: dict) -> None:
    """Answer ``status`` with the JSON ``envelope`` and linger, in the background.

    The request ends here. Call it from ``prepare`` of a
    ``stream_request_body`` handler (Tornado lets a handler take the
    connection over only while the headers are handled).
    """
    body = json.dumps(envelope, separators=(",", ":")).encode()
    head = "\r\n".join(
        [
            f"HTTP/1.1 {status} {httputil.responses.get(status, 'Unknown')}",
            f"Date: {httputil.format_timestamp(time.time())}",
            "Content-Type: application/json; charset=UTF-8",
            f"Content-Length: {len(body)}",
            "Connection: close",
            "\r\n",
        ]
    ).encode("latin-1")
    stream = handler.detach()  # Tornado neither answers nor reads this request any more
    # the path, not the URI: query strings may carry tokens
    log.info(
        "%d %s %s (refused before its body was read)",
        status,
        handler.request.method,
        handler.request.path,
    )
    task = asyncio.ensure_future(_answer_then_linger(stream, head + body))
    _LINGERING.add(task)  # a task only weakly referenced by the loop could vanish
    task.add_done_callback(_LINGERING.discard)


#: Connections being answered and drained (see :func:`refuse_unread_body`).
_LINGERING: set[asyncio.Future] = set()


async def _answer_then_linger(stream: IOStream, answer: bytes) -> None:
    try:
        await stream.write(answer)
        stream.socket.shutdown(socket.SHUT_WR)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LINGER_SECONDS
        while (left := deadline - loop.time()) > 0:
            await asyncio.wait_for(stream.read_bytes(LINGER_READ_BYTES, partial=True), left)
    except (StreamClosedError, OSError, asyncio.TimeoutError):
        pass  # the client closed, or lingered too long
    finally:
        stream.close()
