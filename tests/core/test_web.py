"""The base handler's guarantees: JSON everywhere, size limit, health, identity."""

import asyncio
import base64
import hashlib
import json

import pytest
from tornado.httpclient import HTTPClientError

from ngshare.exchange.response_cache import ResponseCache
from ngshare.forms import FEW_FIELDS, has_few_fields
from ngshare.storage import BlobStore
from tests.conftest import encode_files
from tests.servers import running_server


async def fetch(http_client, url, **kwargs):
    try:
        return await http_client.fetch(url, raise_error=True, **kwargs)
    except HTTPClientError as e:
        return e.response


@pytest.mark.gen_test
@pytest.mark.parametrize("path", ["/healthz", "/api/healthz"])
async def test_health_answers_without_identity(http_client, base_url, path):
    response = await fetch(http_client, base_url + path)
    assert response.code == 200
    body = json.loads(response.body)
    assert body["success"] is True and body["database"]["reachable"] is True


@pytest.mark.gen_test
@pytest.mark.parametrize("path", ["/api/no-such-route", "/api/courses/x/y/z", "/elsewhere"])
async def test_unknown_routes_get_a_json_404(http_client, base_url, path):
    response = await fetch(http_client, base_url + path + "?user=root")
    assert response.code == 404
    assert response.headers["Content-Type"].startswith("application/json")
    assert json.loads(response.body) == {"success": False, "message": "Not found"}


@pytest.mark.gen_test
async def test_unknown_route_with_a_body_is_a_json_404(http_client, base_url):
    response = await fetch(http_client, base_url + "/api/nothing", method="POST", body="a=b")
    assert response.code == 404
    assert json.loads(response.body)["success"] is False


@pytest.mark.gen_test
async def test_a_method_the_route_lacks_gets_a_json_405(http_client, base_url):
    response = await fetch(http_client, base_url + "/api/courses?user=root", method="DELETE")
    assert response.code == 405
    assert json.loads(response.body) == {"success": False, "message": "Method Not Allowed"}


@pytest.mark.gen_test
async def test_calls_without_identity_get_a_json_401(http_client, base_url, caplog):
    with caplog.at_level("WARNING", logger="tornado"):
        response = await fetch(http_client, base_url + "/api/courses")
    assert response.code == 401
    assert response.reason == "Unauthorized"  # the standard phrase, not the message
    assert json.loads(response.body) == {"success": False, "message": "Login required"}
    # an ApiError is an answer, not a server failure: Tornado logs no exception for it
    # (tornado.access logs every 4xx as a warning; that is the access log's own line)
    logged = [r for r in caplog.records if r.name in ("tornado.application", "tornado.general")]
    assert logged == []


def test_an_api_error_reads_as_its_message():
    from tornado.web import HTTPError

    from ngshare.web import ApiError

    text = "Assignment already released"
    error = ApiError(409, text, detail=1)
    assert isinstance(error, HTTPError) and error.status_code == 409
    assert (str(error), error.message, error.extra) == (text, text, {"detail": 1})


@pytest.mark.gen_test
async def test_a_declared_oversized_body_gets_a_json_413(server, http_client, base_url):
    server.config.max_body_bytes = 1000
    response = await fetch(
        http_client, base_url + "/api/course/c1?user=root", method="POST", body="x" * 5000
    )
    assert response.code == 413
    assert json.loads(response.body) == {"success": False, "message": "Request body too large"}
    assert response.headers["Content-Type"] == "application/json; charset=UTF-8"
    assert response.headers["Connection"] == "close"
    assert response.reason == "Request Entity Too Large"


@pytest.mark.gen_test
async def test_a_body_at_the_limit_is_accepted(server, http_client, base_url):
    body = "instructors=[]&pad=" + "x" * 500
    server.config.max_body_bytes = len(body)
    response = await fetch(
        http_client, base_url + "/api/course/c1?user=root", method="POST", body=body
    )
    assert response.code == 200, response.body


@pytest.mark.gen_test
async def test_a_chunked_oversized_body_gets_a_json_413(server, http_client, base_url):
    server.config.max_body_bytes = 100_000

    async def producer(write):
        for _ in range(50):
            await write(b"x" * 10_000)

    response = await fetch(
        http_client,
        base_url + "/api/course/c1?user=root",
        method="POST",
        body_producer=producer,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.code == 413
    assert json.loads(response.body)["message"] == "Request body too large"


@pytest.mark.gen_test
async def test_a_large_body_is_parsed_from_a_spool(exchange, api):
    """Bodies above the in-memory threshold take the spooled, off-loop parse path."""
    await exchange.course()
    await exchange.students()
    big = bytes(range(256)) * 4096 * 3  # 3 MiB, binary: its body is over MEMORY_BODY_BYTES
    await exchange.release(files={"big.bin": big})
    status, body = await api("GET", "assignment/c1/a1", user="s1")
    assert status == 200
    (entry,) = body["files"]
    assert base64.b64decode(entry["content"]) == big
    assert entry["checksum"] == hashlib.md5(big).hexdigest()


@pytest.mark.parametrize("extra_fields", [0, 20])
@pytest.mark.gen_test
async def test_a_mid_sized_body_is_parsed_with_few_or_many_fields(exchange, api, extra_fields):
    """64 KiB-2 MiB bodies: a few fields are indexed on the loop, many on a worker."""
    await exchange.course()
    await exchange.students()
    await exchange.release()
    content = bytes(range(256)) * 1024  # 256 KiB: the body is over SMALL_BODY_BYTES
    padding = {f"pad{i}": "x" * i for i in range(extra_fields)}
    status, body = await api(
        "POST", "submission/c1/a1", user="s1", files=encode_files({"a.bin": content}), **padding
    )
    assert (status, body["success"]) == (200, True)
    status, body = await api("GET", "submission/c1/a1/s1", user="kevin")
    assert status == 200
    assert [base64.b64decode(f["content"]) for f in body["files"]] == [content]


def test_few_fields_are_counted_by_their_separators():
    assert has_few_fields(b"") and has_few_fields(b"files=abc")
    assert has_few_fields(b"&".join([b"a=1"] * FEW_FIELDS))
    assert not has_few_fields(b"&".join([b"a=1"] * (FEW_FIELDS + 1)))


@pytest.mark.gen_test
async def test_server_errors_are_json_without_a_trace(
    server, exchange, http_client, base_url, tmp_path
):
    await exchange.course()
    await exchange.release()
    cache = server.state(ResponseCache)
    for _ in range(500):  # the release warms the fetch cache in the background
        if cache._entries:
            break
        await asyncio.sleep(0.01)
    cache.clear()  # so that the fetch has to read the (missing) blobs
    server.storage = BlobStore(tmp_path / "empty-store")  # the released blobs are not there
    response = await fetch(http_client, base_url + "/api/assignment/c1/a1?user=kevin")
    assert response.code == 500
    assert json.loads(response.body) == {"success": False, "message": "Internal Server Error"}


async def _refused_while_still_sending(port: int, declared: int) -> bytes:
    """Send headers declaring ``declared`` bytes, then keep sending; return all that came back."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"POST /api/course/c1?user=root HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: %d\r\n\r\n" % declared
    )

    async def keep_sending():
        chunk = b"x" * (1 << 16)
        try:
            for _ in range(declared // len(chunk)):
                writer.write(chunk)
                await writer.drain()
        except (ConnectionError, OSError):
            pass  # the server stopped reading: expected

    sending = asyncio.ensure_future(keep_sending())
    answer = b""
    try:
        while piece := await asyncio.wait_for(reader.read(1 << 16), 20):
            answer += piece
    except ConnectionResetError:
        pass  # the reset a closed server sends for the unread body can throw the answer away
    sending.cancel()
    writer.close()
    try:
        await writer.wait_closed()
    except (ConnectionError, OSError):
        pass
    return answer


def test_a_refused_upload_still_sending_receives_the_whole_413(tmp_path):
    """The 413 survives the client's body still arriving (a server process of its own:
    in the test's own IOLoop the client never sends fast enough to lose the answer)."""

    async def refusals(port):
        return [await _refused_while_still_sending(port, 40 << 20) for _ in range(5)]

    with running_server(tmp_path, f"--NgShare.max_body_bytes={1 << 20}") as base:
        answers = asyncio.run(refusals(int(base.rsplit(":", 1)[1])))
    for answer in answers:
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 413"), answer[:200]
        assert b"\r\nConnection: close" in head
        assert json.loads(body) == {"success": False, "message": "Request body too large"}
