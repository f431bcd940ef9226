"""Many simultaneous submits: every one is stored, listed and downloadable."""

import asyncio
import base64
import json

import pytest

from tests.conftest import encode_files

STUDENTS = [f"s{i}" for i in range(24)]


@pytest.mark.gen_test(timeout=120)
async def test_simultaneous_submits_lose_nothing(exchange, api):
    await exchange.course()
    await exchange.students(names=STUDENTS)
    await exchange.release()

    def payload(name, n):
        return {"p1.ipynb": f"{name} attempt {n}".encode(), "extra.txt": bytes([n]) * 1000}

    async def submit(name, n):
        status, body = await api(
            "POST", "submission/c1/a1", user=name, files=encode_files(payload(name, n))
        )
        assert status == 200, body
        return name, n, body["timestamp"]

    # every student submits twice at once: 48 concurrent requests
    results = await asyncio.gather(*(submit(s, n) for s in STUDENTS for n in (1, 2)))

    timestamps = [ts for _, _, ts in results]
    assert len(set(timestamps)) == len(timestamps), "two submissions share a timestamp"

    _, listing = await api("GET", "submissions/c1/a1", user="kevin")
    listed = {(e["student_id"], e["timestamp"]) for e in listing["submissions"]}
    assert listed == {(name, ts) for name, _, ts in results}

    for name, n, ts in results:
        _, body = await api("GET", f"submission/c1/a1/{name}", user="kevin", timestamp=ts)
        files = {f["path"]: base64.b64decode(f["content"]) for f in body["files"]}
        assert files == payload(name, n), (name, n)


@pytest.mark.gen_test(timeout=120)
async def test_concurrent_releases_of_one_name_give_one_assignment(exchange, api):
    await exchange.course()
    files = json.dumps([{"path": "a.txt", "content": "YQ=="}])
    results = await asyncio.gather(
        *(api("POST", "assignment/c1/race", user="kevin", files=files) for _ in range(8))
    )
    statuses = sorted(status for status, _ in results)
    assert statuses.count(200) == 1 and statuses.count(409) == 7, results
    _, body = await api("GET", "assignments/c1", user="kevin")
    assert body["assignments"] == ["race"]
