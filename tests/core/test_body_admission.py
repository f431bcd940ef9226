"""Bodies are admitted only from callers who may send them, and released when abandoned.

Anonymous uploads are refused before a byte of their body is read (the caller
is identified from the headers and the URL), and a body still arriving when
its connection closes gives its spool file back at once, not when the
garbage collector finds the abandoned request. Open spool files are counted
in ``/proc/self/fd`` (the server runs in this process), so the test sees what
the kernel holds, deleted files included.

The clients here speak raw HTTP/1.1 over sockets: they must be able to stop
sending in the middle of a body, which no HTTP client library does on purpose.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import time
from pathlib import Path

import pytest
from tornado.web import create_signed_value

from ngshare.auth import NoIdentity, TokenFirstIdentity
from tests.core.test_hub_identity import fake_hub, hub_log, hub_server  # noqa: F401 - fixtures
from tests.waiting import eventually

pytestmark = pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")

MiB = 1 << 20
UPLOAD = "/api/assignment/c1/a1"
LOGIN_REQUIRED = {"success": False, "message": "Login required"}
#: Every wait below ends within this many seconds.
PATIENCE = 10.0


def open_spool_files(tmp: Path) -> int:
    """Files under the blob store's temp folder this process holds open (deleted ones too)."""
    prefix = str(tmp) + os.sep
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # a descriptor closed while we look
            if os.readlink(f"/proc/self/fd/{fd}").startswith(prefix):
                count += 1
    return count


async def start_upload(port: int, path: str, length: int, headers: dict | None = None):
    """Open a connection and send a POST's headers declaring ``length`` body bytes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Content-Type: application/x-www-form-urlencoded",
        f"Content-Length: {length}",
        *(f"{k}: {v}" for k, v in (headers or {}).items()),
    ]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    await writer.drain()
    return reader, writer


async def read_answer(reader: asyncio.StreamReader) -> tuple[int, dict]:
    """Status and JSON body of one HTTP/1.1 response with a Content-Length."""
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in header_lines if line)
    body = await reader.readexactly(int(headers["Content-Length"]))
    return int(status_line.split()[1]), json.loads(body)


async def abort(writer: asyncio.StreamWriter) -> None:
    writer.transport.abort()  # close at once, whatever is still buffered
    await asyncio.sleep(0)


@pytest.fixture
def port(http_server, http_port):
    """The port of the running test server (``http_port`` alone starts nothing)."""
    return http_port


# -- anonymous callers are refused before their body ---------------------------------------


@pytest.fixture
def no_identity(server):
    """``ngshare`` outside JupyterHub with no identity source: only core tokens identify."""
    dev = server.identity
    server.identity = TokenFirstIdentity(NoIdentity(admin_users={"root"}))
    yield server
    server.identity = dev


@pytest.mark.gen_test(timeout=60)
async def test_a_200_mib_anonymous_upload_is_answered_401_before_its_body_is_sent(
    no_identity, port
):
    started = time.monotonic()
    reader, writer = await start_upload(port, UPLOAD, 200 * MiB)
    # not one body byte sent: the answer can only come from the headers
    status, body = await asyncio.wait_for(read_answer(reader), PATIENCE)
    elapsed = time.monotonic() - started
    assert (status, body) == (401, LOGIN_REQUIRED)  # the exchange's own envelope
    assert elapsed < 5, elapsed
    # the refusal ends the stream: the server reads (and drops) what is sent, then closes
    assert await asyncio.wait_for(reader.read(), PATIENCE) == b""
    writer.close()
    assert open_spool_files(no_identity.storage.tmp) == 0
    assert list(no_identity.storage.tmp.iterdir()) == []


@pytest.mark.gen_test(timeout=60)
async def test_an_anonymous_client_still_sending_reads_its_401(no_identity, port):
    reader, writer = await start_upload(port, UPLOAD, 200 * MiB)
    answer = asyncio.ensure_future(read_answer(reader))
    sent = 0
    chunk = b"x" * MiB
    with contextlib.suppress(ConnectionError):
        while not answer.done() and sent < 200 * MiB:
            writer.write(chunk)
            await asyncio.wait_for(writer.drain(), PATIENCE)
            sent += len(chunk)
    assert await asyncio.wait_for(answer, PATIENCE) == (401, LOGIN_REQUIRED)
    assert sent < 200 * MiB  # answered long before the body could have been read whole
    await abort(writer)
    assert open_spool_files(no_identity.storage.tmp) == 0


@pytest.mark.gen_test(timeout=60)
async def test_an_invalid_core_token_is_refused_before_the_body_in_dev_mode(server, port):
    bogus = "ngs_" + "A" * 43  # the shape of a core token, issued to nobody
    reader, writer = await start_upload(
        port, UPLOAD + "?user=kevin", 50 * MiB, {"Authorization": f"Bearer {bogus}"}
    )
    assert await asyncio.wait_for(read_answer(reader), PATIENCE) == (401, LOGIN_REQUIRED)
    await abort(writer)


@pytest.mark.gen_test(timeout=60)
async def test_a_core_token_callers_upload_is_read_after_identification(
    no_identity, port, http_client, base_url
):
    issued = await no_identity.tokens.issue("root", issuer="test")
    body = b"instructors=%5B%5D"
    reader, writer = await start_upload(
        port, "/api/course/c1", len(body), {"Authorization": f"Bearer {issued.secret}"}
    )
    writer.write(body)
    await writer.drain()
    assert await asyncio.wait_for(read_answer(reader), PATIENCE) == (200, {"success": True})
    writer.close()


@pytest.mark.gen_test(timeout=60)
async def test_dev_mode_reads_the_body_when_only_the_body_can_name_the_user(server, port):
    body = b"user=root&instructors=%5B%5D"
    reader, writer = await start_upload(port, "/api/course/c1", len(body))
    # nothing names the caller yet: the server waits for the body rather than refuse
    early = asyncio.ensure_future(read_answer(reader))
    await asyncio.sleep(0.3)
    assert not early.done()
    writer.write(body)
    await writer.drain()
    assert await asyncio.wait_for(early, PATIENCE) == (200, {"success": True})
    writer.close()


@pytest.mark.gen_test(timeout=60)
async def test_dev_mode_user_in_the_query_names_the_caller_before_the_body(server, port):
    body = b"user=kevin&instructors=%5B%5D"  # a body naming someone else does not count
    reader, writer = await start_upload(port, "/api/course/c1?user=root", len(body))
    writer.write(body)
    await writer.drain()
    assert await asyncio.wait_for(read_answer(reader), PATIENCE) == (200, {"success": True})
    writer.close()


@pytest.mark.gen_test(timeout=60)
@pytest.mark.parametrize(
    "path", ["/api/jobs/exchange.purge_deleted/run", "/api/notifications/1/retry"]
)
async def test_a_signed_in_non_admin_is_refused_an_admin_route_before_the_body(server, port, path):
    reader, writer = await start_upload(port, path + "?user=kevin", 200 * MiB)
    answer = await asyncio.wait_for(read_answer(reader), PATIENCE)
    assert answer == (403, {"success": False, "message": "Permission denied (not admin)"})
    await abort(writer)


@pytest.mark.gen_test(timeout=60)
async def test_public_routes_still_read_their_body(no_identity, port):
    body = b"a=b"
    reader, writer = await start_upload(port, "/api/no-such-route", len(body))
    early = asyncio.ensure_future(read_answer(reader))
    await asyncio.sleep(0.3)
    assert not early.done()  # a public route (the 404) is not refused for want of identity
    writer.write(body)
    await writer.drain()
    assert (await asyncio.wait_for(early, PATIENCE))[0] == 404
    writer.close()


class TestHub:
    """``ngshare`` as a hub service: tokens and cookies are known from the headers."""

    @pytest.fixture
    def app(self, hub_server):  # noqa: F811 - the hub's server, not the dev one
        from ngshare.app import make_application

        return make_application(hub_server, hub_server.plugins)

    @pytest.mark.gen_test(timeout=60)
    async def test_an_unknown_hub_token_is_refused_before_the_body(self, port, hub_server):  # noqa: F811
        reader, writer = await start_upload(
            port, UPLOAD, 200 * MiB, {"Authorization": "token bogus"}
        )
        assert await asyncio.wait_for(read_answer(reader), PATIENCE) == (401, LOGIN_REQUIRED)
        await abort(writer)
        assert open_spool_files(hub_server.storage.tmp) == 0

    @pytest.mark.gen_test(timeout=60)
    async def test_an_unreachable_hub_is_a_503_before_the_body(self, port, fake_hub):  # noqa: F811
        fake_hub[0].settings["hub_down"] = True
        reader, writer = await start_upload(
            port, UPLOAD, 200 * MiB, {"Authorization": "token tok-kevin"}
        )
        status, body = await asyncio.wait_for(read_answer(reader), PATIENCE)
        assert (status, body["success"]) == (503, False)
        await abort(writer)

    @pytest.mark.gen_test(timeout=60)
    async def test_a_known_hub_token_uploads_as_before(self, port):
        body = b"instructors=%5B%5D"
        reader, writer = await start_upload(
            port, "/api/course/c1", len(body), {"Authorization": "token tok-kevin"}
        )
        writer.write(body)
        await writer.drain()
        # kevin is not an admin: the handler's own answer, after the body was read
        status, answer = await asyncio.wait_for(read_answer(reader), PATIENCE)
        assert (status, answer["success"]) == (403, False)
        writer.close()

    @pytest.mark.gen_test(timeout=60)
    async def test_a_forged_cookie_is_refused_before_the_body(self, port, hub_server):  # noqa: F811
        name = hub_server.identity.hub_auth.cookie_name
        reader, writer = await start_upload(port, UPLOAD, 200 * MiB, {"Cookie": f"{name}=forged"})
        assert await asyncio.wait_for(read_answer(reader), PATIENCE) == (401, LOGIN_REQUIRED)
        await abort(writer)

    @pytest.mark.gen_test(timeout=60)
    async def test_a_signed_cookie_without_an_xsrf_header_waits_for_the_body(
        self,
        port,
        hub_server,  # noqa: F811
        app,  # noqa: F811
    ):
        # a browser's form may carry its _xsrf token in the body: that one is read first
        name = hub_server.identity.hub_auth.cookie_name
        cookie = create_signed_value(app.settings["cookie_secret"], name, "hub-token").decode()
        body = b"instructors=%5B%5D"
        reader, writer = await start_upload(
            port, "/api/course/c1", len(body), {"Cookie": f"{name}={cookie}"}
        )
        early = asyncio.ensure_future(read_answer(reader))
        await asyncio.sleep(0.3)
        assert not early.done()
        writer.write(body)
        await writer.drain()
        # no _xsrf after all: the cookie identifies nobody
        assert await asyncio.wait_for(early, PATIENCE) == (401, LOGIN_REQUIRED)
        writer.close()


# -- abandoned bodies give their spool files back at once -----------------------------------


@contextlib.contextmanager
def collector_off():
    """Without the collector, only the server's own code can close an abandoned spool file."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def abandon_uploads(port: int, tmp: Path, count: int, batch: int, path: str) -> int:
    """Start ``count`` 10 MB uploads, send 3 MiB of each (spooled), then drop them.

    Returns the most spool files seen open at once (so a run that never
    spooled cannot pass for one that released its files).
    """
    most = 0
    part = b"files=" + b"x" * (3 * MiB - 6)  # over the 2 MiB kept in memory
    for start in range(0, count, batch):
        n = min(batch, count - start)
        connections = [await start_upload(port, path, 10 * MiB) for _ in range(n)]
        for _, writer in connections:
            writer.write(part)
        await asyncio.wait_for(asyncio.gather(*(w.drain() for _, w in connections)), PATIENCE)
        await eventually(lambda n=n: open_spool_files(tmp) >= n, PATIENCE, f"{n} bodies spooled")
        most = max(most, open_spool_files(tmp))
        for _, writer in connections:
            await abort(writer)
        await eventually(
            lambda: open_spool_files(tmp) == 0, 2.0, "spool files closed after the clients left"
        )
    return most


@pytest.mark.gen_test(timeout=120)
async def test_100_abandoned_anonymous_uploads_leave_no_open_spool_file(server, port):
    # dev mode with no user in the query: the body may name the caller, so it is read
    tmp = server.storage.tmp
    with collector_off():
        most = await abandon_uploads(port, tmp, 100, 20, UPLOAD)
        assert most >= 20
        assert open_spool_files(tmp) == 0
    assert list(tmp.iterdir()) == []  # the spool files were anonymous (deleted) to begin with


@pytest.mark.gen_test(timeout=120)
async def test_abandoned_signed_in_uploads_leave_no_open_spool_file(server, port):
    tmp = server.storage.tmp
    with collector_off():
        most = await abandon_uploads(port, tmp, 20, 10, UPLOAD + "?user=kevin")
        assert most >= 10
        assert open_spool_files(tmp) == 0


@pytest.mark.gen_test(timeout=60)
async def test_a_chunked_body_over_the_limit_gives_its_spool_file_back(
    make_config, io_loop, port, server
):
    server.config.max_body_bytes = 4 * MiB
    tmp = server.storage.tmp
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        (
            f"POST {UPLOAD}?user=kevin HTTP/1.1\r\nHost: x\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            "Transfer-Encoding: chunked\r\n\r\n"
        ).encode()
    )
    chunk = b"x" * MiB
    with collector_off():
        for _ in range(3):  # 3 MiB: spooled
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        await writer.drain()
        await eventually(lambda: open_spool_files(tmp) == 1, PATIENCE, "the body spooled")
        with contextlib.suppress(ConnectionError):
            for _ in range(3):  # over the limit: a 413, and the spool file goes
                writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                await writer.drain()
        status, _ = await asyncio.wait_for(read_answer(reader), PATIENCE)
        assert status == 413
        await eventually(lambda: open_spool_files(tmp) == 0, 2.0, "the spool file closed")
        await abort(writer)
