"""Downloads read their small files in the lookup's transaction (Exchange.small_files_in_lookup).

On either database: a collect and a feedback download return exactly the
uploaded bytes (packed feedback HTML included), with the setting on (no
separate ``BlobStore.read_small``) and off (read afterwards, as before).
"""

import base64

import pytest

from ngshare.exchange.config import Exchange
from tests.exchange.wire_shapes import encoded

pytestmark = pytest.mark.gen_test

NOTEBOOK = b'{"cells": ["answer"], "pad": "' + b"x" * 5000 + b'"}'
# compressible, over the packing threshold: stored LZ4-packed
FEEDBACK = b"<html>" + b"<p>well done</p>" * 2000 + b"</html>"


async def _submit_with_feedback(exchange) -> str:
    await exchange.setup()
    ts = await exchange.submit("s1", files={"p1.ipynb": NOTEBOOK, "data/x.csv": b"1,2\n"})
    await exchange.ok(
        "POST", "feedback/c1/a1/s1", "kevin", timestamp=ts, files=encoded({"p1.html": FEEDBACK})
    )
    return ts


def _contents(body) -> dict[str, bytes]:
    return {f["path"]: base64.b64decode(f["content"]) for f in body["files"]}


@pytest.mark.parametrize("in_lookup", [True, False])
async def test_downloads_return_the_uploaded_bytes(server, exchange, monkeypatch, in_lookup):
    server.state(Exchange).small_files_in_lookup = in_lookup
    calls = []
    original = server.storage.read_small
    monkeypatch.setattr(
        server.storage, "read_small", lambda digests: calls.append(digests) or original(digests)
    )
    ts = await _submit_with_feedback(exchange)
    await exchange.ok("GET", "assignment/c1/a1", "s1")  # the release's answer is built (cached)
    calls.clear()

    collected = await exchange.ok("GET", "submission/c1/a1/s1", "kevin", timestamp=ts)
    assert _contents(collected) == {"p1.ipynb": NOTEBOOK, "data/x.csv": b"1,2\n"}
    feedback = await exchange.ok("GET", "feedback/c1/a1/s1", "s1", timestamp=ts)
    assert _contents(feedback) == {"p1.html": FEEDBACK}
    # on: the contents came with the lookup; off: read afterwards, once per download
    assert len(calls) == (0 if in_lookup else 2)


async def test_listing_reads_no_contents(server, exchange, monkeypatch):
    ts = await _submit_with_feedback(exchange)
    monkeypatch.setattr(
        "ngshare.exchange.small_reads.read_small_in",
        lambda *a: pytest.fail("a listing read file contents"),
    )
    listed = await exchange.ok(
        "GET", "submission/c1/a1/s1", "kevin", timestamp=ts, list_only="true"
    )
    assert sorted(f["path"] for f in listed["files"]) == ["data/x.csv", "p1.ipynb"]
    assert all("content" not in f for f in listed["files"])


async def test_files_kept_as_files_are_still_sent(server, exchange):
    """Files over the inline limit are not rows of ``blobs``: read from storage."""
    server.storage.inline_bytes = 16  # the notebook becomes a file, the csv stays a row
    await exchange.setup()
    ts = await exchange.submit("s1", files={"p1.ipynb": NOTEBOOK, "data/x.csv": b"1,2\n"})
    collected = await exchange.ok("GET", "submission/c1/a1/s1", "kevin", timestamp=ts)
    assert _contents(collected) == {"p1.ipynb": NOTEBOOK, "data/x.csv": b"1,2\n"}
