"""The benchmark's own HTTP client (benchmarks/plain_http.py) reads answers right.

The driver checks every downloaded file, so a parsing mistake would show as
benchmark errors; these tests pin the framing cases down one by one.
"""

from __future__ import annotations

import asyncio
import random

import pytest

from benchmarks.plain_http import HttpError, PlainTransport, _Answer

BODY = random.Random(7).randbytes(100_000)


def _feed(wire: bytes, step: int) -> _Answer:
    answer = _Answer()
    for i in range(0, len(wire), step):
        answer.feed(wire[i : i + step])
    return answer


def _chunked(body: bytes, size: int, trailer: bytes = b"") -> bytes:
    pieces = [body[i : i + size] for i in range(0, len(body), size)]
    framed = b"".join(b"%x;ext=1\r\n" % len(p) + p + b"\r\n" for p in pieces)
    head = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n"
    )
    return head + framed + b"0\r\n" + trailer + b"\r\n"


@pytest.mark.parametrize("step", [1, 2, 3, 5, 4096, 65536, 1 << 30])
def test_chunked_answers_split_anywhere(step):
    answer = _feed(_chunked(BODY, 7777, trailer=b"X-Trailer: 1\r\n"), step)
    assert answer.done and answer.status == 200
    assert answer.body == BODY
    assert answer.headers["content-type"] == "application/json"


@pytest.mark.parametrize("step", [1, 3, 1 << 30])
def test_content_length_answers(step):
    wire = (
        b"HTTP/1.1 413 Request Entity Too Large\r\nContent-Length: 5\r\n"
        b"Connection: close\r\n\r\nhello"
    )
    answer = _feed(wire, step)
    assert answer.done and answer.status == 413 and answer.body == b"hello"
    assert answer.headers["connection"] == "close"


def test_an_empty_body_is_complete_with_the_head():
    answer = _feed(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n", 1 << 30)
    assert answer.done and answer.body == b""


def test_a_close_delimited_body_ends_with_the_connection():
    answer = _feed(b"HTTP/1.1 200 OK\r\n\r\nall of it", 4)
    assert not answer.done
    answer.eof()
    assert answer.done and answer.body == b"all of it"


def test_a_cut_answer_is_an_error():
    answer = _feed(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", 1 << 30)
    with pytest.raises(HttpError):
        answer.eof()


def test_a_bad_status_line_is_an_error():
    with pytest.raises(HttpError):
        _feed(b"SPDY/3 200 OK\r\n\r\n", 1 << 30)


def test_requests_share_one_connection_and_early_answers_end_uploads():
    """Keep-alive reuse; and a 413 sent before the body is read stops the upload."""

    async def scenario():
        connections = 0

        async def serve(reader, writer):
            nonlocal connections
            connections += 1
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                if length > 1_000_000:  # refuse at once, unread, and close
                    writer.write(
                        b"HTTP/1.1 413 Too Large\r\nContent-Length: 2\r\n"
                        b"Connection: close\r\n\r\n{}"
                    )
                    await writer.drain()
                    writer.close()
                    return
                body = await reader.readexactly(length)
                answer = b'{"got":%d}' % len(body)
                head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(answer)
                writer.write(head + answer)
                await writer.drain()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        client = PlainTransport(concurrency=4, timeout=30)
        url = f"http://127.0.0.1:{port}/x"
        try:
            answers = [await client.send("POST", url, {}, b"a" * n) for n in (0, 10, 300_000)]
            refused = await client.send("POST", url, {}, b"b" * 64_000_000)
            again = await client.send("GET", url, {}, None)
        finally:
            await client.close()
            server.close()
            await server.wait_closed()
        return connections, answers, refused, again

    connections, answers, refused, again = asyncio.run(scenario())
    assert [a.body for a in answers] == [b'{"got":0}', b'{"got":10}', b'{"got":300000}']
    assert refused.status == 413 and refused.body == b"{}"
    assert again.status == 200 and again.body == b'{"got":0}'
    assert connections == 2  # the refused upload's connection was closed, then a new one


def test_a_long_body_of_known_length_arrives_whole_over_a_real_socket():
    """Head and the body's start in one segment, the rest in odd pieces; then the next answer."""
    big = random.Random(3).randbytes(3_000_001)

    async def scenario():
        async def serve(reader, writer):
            for _ in range(2):
                await reader.readuntil(b"\r\n\r\n")
                head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(big)
                writer.write(head + big[:1000])
                for i in range(1000, len(big), 333_333):
                    writer.write(big[i : i + 333_333])
                    await writer.drain()
                    await asyncio.sleep(0)

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        client = PlainTransport(concurrency=1, timeout=30)
        try:
            url = f"http://127.0.0.1:{port}/x"
            return [await client.send("GET", url, {}, None) for _ in range(2)]
        finally:
            await client.close()
            server.close()
            await server.wait_closed()

    first, second = asyncio.run(scenario())
    assert first.status == second.status == 200
    assert first.body == big and second.body == big


def test_a_body_given_in_pieces_arrives_joined():
    import hashlib

    from benchmarks import payloads

    pieces = payloads.form_pieces({"user": "a b", "x": "1"}, {"files": b"%5B" * 500_000})
    assert b"".join(pieces) == payloads.form({"user": "a b", "x": "1"}, {"files": b"%5B" * 500_000})
    assert payloads.form({}, {"files": b"v"}) == b"files=v"

    async def scenario():
        async def serve(reader, writer):
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            digest = hashlib.sha256(await reader.readexactly(length)).hexdigest().encode()
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(digest) + digest)
            await writer.drain()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        client = PlainTransport(concurrency=1, timeout=30)
        try:
            return await client.send("POST", f"http://127.0.0.1:{port}/x", {}, pieces)
        finally:
            await client.close()
            server.close()
            await server.wait_closed()

    answer = asyncio.run(scenario())
    assert answer.body == hashlib.sha256(b"".join(pieces)).hexdigest().encode()
