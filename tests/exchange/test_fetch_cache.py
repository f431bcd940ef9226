"""Fetches are served from the response cache or streamed: the same answer either way."""

import base64

import pytest

from ngshare.exchange.response_cache import ResponseCache
from tests.conftest import encode_files


@pytest.mark.gen_test
async def test_cached_and_streamed_fetches_give_the_same_answer(exchange, api, server):
    await exchange.course()
    await exchange.students()
    files = {"a.ipynb": b'{"cells": []}', "data/b.bin": bytes(range(256)) * 300}
    await exchange.release(files=files)
    cache = server.state(ResponseCache)

    first = await api("GET", "assignment/c1/a1", user="s1")
    second = await api("GET", "assignment/c1/a1", user="s2")
    assert first == second
    assert len(cache._entries) == 1  # built once, then shared
    cache.max_bytes = 0  # nothing fits: the streamed path
    streamed = await api("GET", "assignment/c1/a1", user="s1")
    assert streamed == first
    got = {f["path"]: base64.b64decode(f["content"]) for f in first[1]["files"]}
    assert got == files


@pytest.mark.gen_test
async def test_the_cache_is_keyed_by_content_not_by_name(exchange, api):
    await exchange.course()
    await exchange.students()
    await exchange.release(files={"a.txt": b"first"})
    assert (await api("GET", "assignment/c1/a1", user="s1"))[1]["files"][0]["content"] == (
        base64.b64encode(b"first").decode()
    )
    await exchange.ok("DELETE", "assignment/c1/a1", "kevin")
    await exchange.ok("POST", "assignment/c1/a1", "kevin", files=encode_files({"a.txt": b"second"}))
    body = (await api("GET", "assignment/c1/a1", user="s1"))[1]
    assert base64.b64decode(body["files"][0]["content"]) == b"second"


@pytest.mark.gen_test
async def test_simultaneous_first_fetches_build_the_body_once(exchange, api, server, monkeypatch):
    import asyncio
    import time

    from ngshare.exchange.handlers import assignments

    await exchange.course()
    await exchange.students()
    await exchange.release(files={"a.ipynb": b'{"cells": []}' * 1000})
    cache = server.state(ResponseCache)
    await _until(lambda: cache._entries)  # the release warmed it: start cold again
    cache.clear()
    builds = []
    real_build = assignments.build_body

    def counting_build(*args):
        builds.append(1)
        time.sleep(0.2)  # slow enough that the other requests arrive meanwhile
        return real_build(*args)

    monkeypatch.setattr(assignments, "build_body", counting_build)
    answers = await asyncio.gather(
        *(api("GET", "assignment/c1/a1", user=s) for s in ["s1", "s2", "kevin", "s1", "s2"])
    )
    assert all(a == answers[0] for a in answers) and answers[0][0] == 200
    assert len(builds) == 1


@pytest.mark.gen_test
async def test_a_failed_build_fails_its_waiters_and_is_not_cached(server):
    import asyncio

    cache = server.state(ResponseCache)
    release = asyncio.Event()

    async def failing_build():
        await release.wait()
        raise OSError("disk went away")

    first = asyncio.ensure_future(cache.get_or_build((("a", "x"),), failing_build))
    second = asyncio.ensure_future(cache.get_or_build((("a", "x"),), failing_build))
    await asyncio.sleep(0)
    release.set()
    for task in (first, second):
        with pytest.raises(OSError, match="disk went away"):
            await task
    assert cache.get((("a", "x"),)) is None

    async def good_build():
        return b"body"

    assert await cache.get_or_build((("a", "x"),), good_build) == b"body"


async def _until(condition, timeout: float = 5.0) -> None:
    import asyncio
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.01)


@pytest.mark.gen_test
async def test_a_release_prepares_its_fetch_answer_before_anyone_fetches(exchange, api, server):
    await exchange.course()
    await exchange.students()
    cache = server.state(ResponseCache)
    await exchange.release(files={"a.ipynb": b'{"cells": []}', "b.txt": b"hello"})
    await _until(lambda: len(cache._entries) == 1)
    (key,) = cache._entries
    assert [path for path, _ in key] == ["a.ipynb", "b.txt"]
    status, body = await api("GET", "assignment/c1/a1", user="s1")
    assert status == 200 and len(cache._entries) == 1  # served from what the release built
    assert base64.b64decode(body["files"][1]["content"]) == b"hello"


@pytest.mark.parametrize("piece", [3, 30, 3 << 20])
def test_the_body_is_the_same_whatever_the_encoding_piece_size(tmp_path, monkeypatch, piece):
    import hashlib
    import json

    from ngshare.exchange import response_cache
    from ngshare.exchange.models import FileRow
    from ngshare.storage import BlobStore

    monkeypatch.setattr(response_cache, "ENCODE_PIECE_BYTES", piece)
    store = BlobStore(tmp_path / "blobs")
    contents = {"a.ipynb": b'{"cells": []}' * 7, "empty": b"", "d/x.bin": bytes(range(256)) * 3}
    rows = []
    for path, data in contents.items():
        blob = store.put(data)
        rows.append(FileRow(path, blob.sha256, hashlib.md5(data).hexdigest(), len(data)))
    body = json.loads(response_cache.build_body(rows, store, {"timestamp": "t"}))

    def encoded(data: bytes) -> str:
        return base64.b64encode(data).decode()

    assert body == {
        "success": True,
        "timestamp": "t",
        "files": [
            {"path": r.path, "checksum": r.md5, "content": encoded(contents[r.path])} for r in rows
        ],
    }
