"""The S3 storage backend against a local S3-compatible server (moto's, tests/standins/s3.py).

A course driven through the HTTP API with its blob files in a bucket; a large
download streamed from the object store; failures of the store answered with
a JSON error and nothing half-written; garbage collection, fsck and
``ngshare storage migrate`` on a bucket. Runs on SQLite and on PostgreSQL
(``NGSHARE_TEST_DB``), on a database of its own (fsck reports other feature
sets' tables in the shared one).
"""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import time
import uuid

import pytest
import sqlalchemy as sa

from ngshare.exchange.handlers.base import ENCODE_CHUNK_BYTES
from ngshare.exchange.models import KIND_RELEASE, Assignment, Course
from ngshare.exchange.models import StoredFile as ExchangeFile
from ngshare.exchange.response_cache import ResponseCache
from ngshare.fsck import fsck
from ngshare.garbage import collect_garbage_sync
from ngshare.models import InlineBlob
from ngshare.storage import BlobStore
from ngshare.storage_backend import StorageError
from ngshare.storage_s3 import (
    MESSAGE_DENIED,
    MESSAGE_NO_BUCKET,
    MESSAGE_UNREACHABLE,
    READ_BUFFER_BYTES,
    S3Backend,
)
from tests.conftest import empty_all_tables, encode_files, own_pg_schema
from tests.standins.s3 import ACCESS_KEY, REGION, SECRET_KEY, DenyingS3, closed_port_url

SMALL = b"small, kept in the database"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def big(store: BlobStore, tag: bytes) -> bytes:
    """Content over the inline limit: a blob file, hence an S3 object."""
    return tag + os.urandom(store.inline_bytes + 1000)


def key(digest: str) -> str:
    return f"{digest[:2]}/{digest[2:]}"


@pytest.fixture(scope="module")
def db_url(tmp_path_factory):
    """This module's own database, of the run's kind (SQLite file, or PostgreSQL schema)."""
    if os.environ.get("NGSHARE_TEST_DB", "sqlite") != "postgresql":
        yield "sqlite:///" + str(tmp_path_factory.mktemp("s3-db") / "ngshare.db")
        return
    with own_pg_schema("s3") as url:
        yield url


@pytest.fixture
def make_config(make_config, s3_server, s3_bucket):
    """Every server of this module keeps its blob files in a new bucket."""

    def factory(**traits):
        return make_config(**{**s3_server.settings(s3_bucket), **traits})

    return factory


def backend(s3_server, bucket: str, prefix: str = "", endpoint: str | None = None) -> S3Backend:
    return S3Backend(
        bucket,
        prefix,
        endpoint_url=endpoint or s3_server.endpoint_url,
        region=REGION,
        access_key_id=ACCESS_KEY,
        secret_access_key=SECRET_KEY,
        max_attempts=1,
    )


def files_on_disk(server) -> list[str]:
    """Files in the storage folder outside tmp/ (with S3 there must be none)."""
    root = server.storage.root
    return sorted(
        str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and p.parent.name != "tmp"
    )


def temp_files(server) -> list[str]:
    return sorted(p.name for p in server.storage.tmp.iterdir())


# -- the store's contract, on either backend -------------------------------------------


@pytest.fixture(params=["filesystem", "s3"])
def any_store(request, tmp_path):
    """A BlobStore on the folder, or on a new bucket: the same behaviour is expected of both."""
    files = None
    if request.param == "s3":
        files = backend(request.getfixturevalue("s3_server"), request.getfixturevalue("s3_bucket"))
    store = BlobStore(tmp_path / "blobs", backend=files)
    yield store
    store.close()


def test_either_backend_finds_a_committed_blob_only_after_the_commit(any_store):
    data = os.urandom(2000)
    blob = any_store.stage(data)
    assert not any_store.exists(blob.sha256)
    any_store.commit([blob])
    assert any_store.exists(blob.sha256) and any_store.read(blob.sha256) == data
    assert (blob.sha256, blob.md5, blob.size) == (sha(data), hashlib.md5(data).hexdigest(), 2000)


def test_either_backend_stores_identical_content_once_and_keeps_no_temp_file(any_store):
    a, b, c = any_store.stage(b"same"), any_store.stage(b"same"), any_store.stage(b"")
    any_store.commit([a, b, c])
    assert any_store.all_digests() == {sha(b"same"), sha(b"")}
    assert any_store.read(sha(b"")) == b""
    assert list(any_store.tmp.iterdir()) == []


def test_either_backend_keeps_nothing_of_discarded_blobs(any_store):
    any_store.discard([any_store.stage(b"refused")])
    assert any_store.all_digests() == set() and list(any_store.tmp.iterdir()) == []


def test_either_backend_stores_every_blob_of_a_commit_done_side_by_side(any_store):
    blobs = [any_store.stage(os.urandom(100 + i)) for i in range(12)]
    any_store.commit(blobs)  # alone: committed on the store's threads
    assert any_store.file_digests() == {b.sha256 for b in blobs}
    any_store.remove(blobs[0].sha256)
    assert not any_store.exists(blobs[0].sha256)
    assert len(any_store.file_digests()) == 11


def test_either_backend_removes_by_age_only_what_is_older_than_the_cutoff(any_store):
    blob = any_store.put(b"aged")
    name = key(blob.sha256)
    assert not any_store.files.remove_if_older(name, time.time() - 3600)
    assert any_store.exists(blob.sha256)
    assert any_store.files.remove_if_older(name, time.time() + 5)
    assert not any_store.exists(blob.sha256)
    assert any_store.files.remove_if_older(name, time.time() + 5)  # gone already: gone


def test_storing_ahead_uploads_before_the_transaction_and_leaves_commit_nothing_to_do(
    any_store, s3_server
):
    ahead, later = any_store.stage(os.urandom(5000)), any_store.stage(os.urandom(5000))
    any_store.store_ahead([ahead])
    if any_store.files.local:  # a rename stays inside the transaction
        assert ahead.temp_path is not None and not any_store.exists(ahead.sha256)
        any_store.commit([ahead, later])
    else:
        assert ahead.stored and ahead.temp_path is None and any_store.exists(ahead.sha256)
        assert not later.stored and not any_store.exists(later.sha256)
        reachable = any_store.files
        any_store.files = backend(s3_server, "unused", endpoint=closed_port_url())
        with pytest.raises(StorageError):  # the broken backend is reached for the other blob...
            any_store.commit([ahead, later])
        any_store.commit([ahead])  # ... but never for the one stored ahead
        any_store.files.close()
        any_store.files = reachable
        any_store.commit([later])
    assert any_store.exists(ahead.sha256) and any_store.exists(later.sha256)
    assert list(any_store.tmp.iterdir()) == []


# -- the backend on its own --------------------------------------------------------


def test_a_committed_blob_is_an_object_named_by_its_digest_and_reads_back(
    s3_server, s3_bucket, tmp_path
):
    store = BlobStore(tmp_path, backend=backend(s3_server, s3_bucket, prefix="course-files"))
    try:
        data = b"x" * 100_000
        staged = store.stage(data)
        assert s3_server.keys(s3_bucket) == []  # staged: a local temp file only
        store.commit([staged])
        assert s3_server.keys(s3_bucket) == [f"course-files/{key(sha(data))}"]
        assert store.read(sha(data)) == data and store.exists(sha(data))
        assert list(store.tmp.iterdir()) == []  # the temp file went with the upload
        assert not store.exists(sha(b"other"))
        with pytest.raises(FileNotFoundError):
            store.open(sha(b"other"))
    finally:
        store.close()


def test_storing_content_again_refreshes_the_object_for_garbage_collection(
    s3_server, s3_bucket, tmp_path
):
    store = BlobStore(tmp_path, backend=backend(s3_server, s3_bucket))
    try:
        blob = store.put(b"again")
        first = {f.digest: f.mtime for f in store.files.scan()}[blob.sha256]
        time.sleep(1.1)  # LastModified has a resolution of one second
        store.put(b"again")
        second = {f.digest: f.mtime for f in store.files.scan()}[blob.sha256]
        assert second > first
        assert len(s3_server.keys(s3_bucket)) == 1
    finally:
        store.close()


def test_keys_that_are_no_blob_are_listed_as_such(s3_server, s3_bucket, tmp_path):
    s3_server.client.put_object(Bucket=s3_bucket, Key="ab/junk", Body=b"junk")
    s3_server.client.put_object(Bucket=s3_bucket, Key="elsewhere/ab/cd", Body=b"junk")
    store = BlobStore(tmp_path, backend=backend(s3_server, s3_bucket))
    try:
        listing = {f.name: f.digest for f in store.files.scan()}
        assert listing == {"ab/junk": None, "elsewhere/ab/cd": None}
    finally:
        store.close()


# -- a course through the HTTP API --------------------------------------------------


@pytest.mark.gen_test
async def test_a_whole_course_runs_with_its_files_in_the_bucket(
    exchange, server, s3_server, s3_bucket
):
    """release -> fetch -> submit -> collect -> feedback; small files in the database, big in S3."""
    store = server.storage
    await exchange.course()
    await exchange.students()
    release = {"p1.ipynb": SMALL, "data.bin": big(store, b"release")}
    await exchange.release("a1", files=release)
    server.state(ResponseCache).clear()
    fetched = await exchange.ok("GET", "assignment/c1/a1", "s1")
    assert {f["path"]: base64.b64decode(f["content"]) for f in fetched["files"]} == release

    answer = {"p1.ipynb": b'{"cells": ["answer"]}', "out.bin": big(store, b"answer")}
    ts = await exchange.submit("s1", files=answer)
    listed = await exchange.ok("GET", "submissions/c1/a1", "kevin")
    assert [s["student_id"] for s in listed["submissions"]] == ["s1"]
    collected = await exchange.ok("GET", "submission/c1/a1/s1", "kevin", timestamp=ts)
    assert {f["path"]: base64.b64decode(f["content"]) for f in collected["files"]} == answer

    feedback = {"p1.html": big(store, b"<html>feedback")}
    await exchange.ok(
        "POST", "feedback/c1/a1/s1", "kevin", timestamp=ts, files=encode_files(feedback)
    )
    got = await exchange.ok("GET", "feedback/c1/a1/s1", "s1", timestamp=ts)
    assert {f["path"]: base64.b64decode(f["content"]) for f in got["files"]} == feedback

    big_ones = [release["data.bin"], answer["out.bin"], feedback["p1.html"]]
    assert s3_server.keys(s3_bucket) == sorted(key(sha(b)) for b in big_ones)
    assert files_on_disk(server) == []
    rows = server.db.run_sync(lambda s: set(s.scalars(sa.select(InlineBlob.sha256))))
    assert sha(SMALL) in rows
    assert fsck(server, grace_seconds=0).problems == []


class RecordingReads:
    """Wraps the backend's ``open``: records the size of every read of the object's stream."""

    def __init__(self, files: S3Backend) -> None:
        self.files = files
        self.real_open = files.open
        self.reads: list[int] = []

    def open(self, digest: str):
        reader = self.real_open(digest)
        raw = reader.raw
        real_readinto = raw.readinto

        def readinto(buffer):
            n = real_readinto(buffer)
            self.reads.append(n)
            return n

        raw.readinto = readinto
        return reader


@pytest.mark.gen_test(timeout=60)
async def test_a_large_download_is_streamed_from_the_object_store_in_pieces(
    exchange, server, monkeypatch
):
    """A collected submission over WHOLE_BODY_BYTES goes out piece by piece as it is read."""
    await exchange.setup()
    data = os.urandom(9 << 20)
    ts = await exchange.submit("s1", files={"big.bin": data})
    recorder = RecordingReads(server.storage.files)
    monkeypatch.setattr(server.storage.files, "open", recorder.open)
    body = await exchange.ok("GET", "submission/c1/a1/s1", "kevin", timestamp=ts)
    assert base64.b64decode(body["files"][0]["content"]) == data
    # read in buffer-sized pieces, never whole: at least size / buffer reads of it
    assert sum(recorder.reads) == len(data)
    assert max(recorder.reads) <= max(READ_BUFFER_BYTES, ENCODE_CHUNK_BYTES)
    assert len(recorder.reads) >= len(data) // max(READ_BUFFER_BYTES, ENCODE_CHUNK_BYTES)


# -- failures of the object store ------------------------------------------------


def assignments(server) -> list[str]:
    return server.db.run_sync(lambda s: list(s.scalars(sa.select(Assignment.name))))


def inline_rows(server) -> set[str]:
    return server.db.run_sync(lambda s: set(s.scalars(sa.select(InlineBlob.sha256))))


async def release_fails(exchange, api, server, message: str) -> None:
    """A release with a small and a big file is refused with ``message``; nothing is kept."""
    await exchange.course()
    files = {"p1.ipynb": SMALL, "data.bin": big(server.storage, b"refused")}
    status, body = await api("POST", "assignment/c1/a1", user="kevin", files=encode_files(files))
    assert (status, body) == (503, {"success": False, "message": message})
    assert assignments(server) == []  # no rows ...
    assert sha(SMALL) not in inline_rows(server)  # ... not even the small blob's
    assert temp_files(server) == []  # ... and no temp file left
    assert files_on_disk(server) == []


@pytest.mark.gen_test
async def test_a_missing_bucket_refuses_the_upload_with_a_json_503(
    exchange, api, server, s3_server
):
    server.storage.files.close()
    server.storage.files = backend(s3_server, f"ngshare-test-missing-{uuid.uuid4().hex[:8]}")
    await release_fails(exchange, api, server, MESSAGE_NO_BUCKET)


@pytest.mark.gen_test
async def test_a_check_error_wins_over_a_failing_object_store(exchange, api, server, s3_server):
    """A student releasing into a course while the bucket is missing: 403, not 503."""
    await exchange.setup()
    server.storage.files.close()
    server.storage.files = backend(s3_server, f"ngshare-test-missing-{uuid.uuid4().hex[:8]}")
    files = encode_files({"data.bin": big(server.storage, b"not yours")})
    status, body = await api("POST", "assignment/c1/a9", user="s1", files=files)
    assert (status, body["success"]) == (403, False), body
    assert temp_files(server) == []


@pytest.mark.gen_test
async def test_an_object_store_that_is_down_refuses_the_upload_with_a_json_503(
    exchange, api, server, s3_server, s3_bucket
):
    server.storage.files.close()
    server.storage.files = backend(s3_server, s3_bucket, endpoint=closed_port_url())
    await release_fails(exchange, api, server, MESSAGE_UNREACHABLE)


@pytest.mark.gen_test
async def test_denied_access_refuses_the_upload_with_a_json_503(
    exchange, api, server, s3_server, s3_bucket
):
    with DenyingS3() as denying:
        server.storage.files.close()
        server.storage.files = backend(s3_server, s3_bucket, endpoint=denying.endpoint_url)
        await release_fails(exchange, api, server, MESSAGE_DENIED)


@pytest.mark.gen_test
async def test_a_download_from_a_store_that_went_down_is_a_json_503(
    exchange, api, server, s3_server, s3_bucket
):
    await exchange.setup()
    ts = await exchange.submit("s1", files={"data.bin": big(server.storage, b"down later")})
    server.storage.files.close()
    server.storage.files = backend(s3_server, s3_bucket, endpoint=closed_port_url())
    status, body = await api("GET", "submission/c1/a1/s1", user="kevin", timestamp=ts)
    assert (status, body) == (503, {"success": False, "message": MESSAGE_UNREACHABLE})


def test_storage_errors_keep_the_stores_own_text_for_the_log_only(s3_server, tmp_path):
    files = backend(s3_server, f"ngshare-test-missing-{uuid.uuid4().hex[:8]}")
    staged = BlobStore(tmp_path, backend=files).stage(b"y" * 10)
    with pytest.raises(StorageError) as caught:
        files.commit([staged], None)
    assert str(caught.value) == MESSAGE_NO_BUCKET
    assert "NoSuchBucket" in caught.value.log_message
    files.close()


# -- garbage collection and fsck on a bucket -------------------------------------------


@pytest.mark.gen_test
async def test_garbage_collection_deletes_unreferenced_objects_past_their_grace(
    exchange, server, s3_server, s3_bucket
):
    await exchange.course()
    await exchange.students()
    kept = big(server.storage, b"kept")
    await exchange.release("a1", files={"kept.bin": kept})
    orphan = server.storage.put(big(server.storage, b"orphan"))
    assert collect_garbage_sync(server, grace_seconds=3600) == 0  # young: kept
    assert len(s3_server.keys(s3_bucket)) == 2
    time.sleep(1.1)  # LastModified is to the second
    assert collect_garbage_sync(server, grace_seconds=1) == 1
    assert s3_server.keys(s3_bucket) == [key(sha(kept))]
    assert not server.storage.exists(orphan.sha256)


@pytest.mark.gen_test
async def test_fsck_finds_and_repairs_problems_in_the_bucket(
    exchange, server, s3_server, s3_bucket
):
    await exchange.course()
    await exchange.students()
    good = big(server.storage, b"good")
    lost = big(server.storage, b"lost")
    await exchange.release("a1", files={"good.bin": good, "lost.bin": lost})
    orphan = server.storage.put(big(server.storage, b"orphan"))
    s3_server.client.put_object(Bucket=s3_bucket, Key="ab/junk", Body=b"junk")
    s3_server.client.delete_object(Bucket=s3_bucket, Key=key(sha(lost)))
    wrong = big(server.storage, b"wrong")
    s3_server.client.put_object(Bucket=s3_bucket, Key=key(sha(good)), Body=wrong)
    time.sleep(1.1)
    report = fsck(server, repair_problems=True, grace_seconds=1, verify=True)
    found = sorted((p.kind, p.target, p.repaired) for p in report.problems)
    assert found == sorted(
        [
            ("unreferenced-file", key(orphan.sha256), True),
            ("stray-file", "ab/junk", True),
            ("missing-blob", sha(lost), False),
            ("corrupt-blob", key(sha(good)), False),  # the only copy: kept for a human
        ]
    )
    assert s3_server.keys(s3_bucket) == [key(sha(good))]


# -- ngshare storage migrate ------------------------------------------------------


def ngshare(tmp_path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from ngshare.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,
    )


def test_migrate_copies_every_blob_both_ways_resumably_and_fsck_is_clean(
    tmp_path, s3_server, s3_bucket, db_url
):
    """filesystem -> s3 -> (folder emptied) -> filesystem, each checked by fsck; runs resume."""
    from ngshare.app import build
    from ngshare.config import VNgShare

    files = tmp_path / "files"
    common = [f"--data-dir={tmp_path}", f"--storage={files}", f"--database={db_url}"]
    s3 = [
        f"--NgShare.{k}={v}"
        for k, v in s3_server.settings(s3_bucket).items()
        if k != "storage_backend"
    ]
    # a course's files on the filesystem backend
    ctx, _ = build(
        VNgShare(db_url=db_url, storage_path=str(files), data_dir=str(tmp_path), config_file="")
    )
    empty_all_tables(ctx.db.engine)  # this module's other tests leave their rows
    try:
        blobs = [ctx.storage.put(os.urandom(ctx.storage.inline_bytes + 1 + i)) for i in range(6)]
        digests = sorted(b.sha256 for b in blobs)
        # referenced, so that fsck sees a consistent store: an assignment holding them
        _reference(ctx, blobs)
    finally:
        ctx.close()

    # resumable: two blobs are in the bucket already (an interrupted earlier run)
    for b in blobs[:2]:
        s3_server.client.upload_file(str(files / key(b.sha256)), s3_bucket, key(b.sha256))
    to_s3 = ngshare(
        tmp_path, "storage", "migrate", "--from", "filesystem", "--to", "s3", *common, *s3
    )
    assert to_s3.returncode == 0, to_s3
    assert "copied 4 blob(s), 2 already there, 0 corrupt" in to_s3.stdout
    assert "migrate: 6/6 blob(s)" in to_s3.stderr  # the progress line
    assert s3_server.keys(s3_bucket) == [key(d) for d in digests]
    again = ngshare(
        tmp_path, "storage", "migrate", "--from", "filesystem", "--to", "s3", *common, *s3
    )
    assert "copied 0 blob(s), 6 already there" in again.stdout, again

    on_s3 = [*common, *s3, "--NgShare.storage_backend=s3"]
    check = ngshare(tmp_path, "fsck", "--verify", *on_s3)
    assert (check.returncode, check.stdout.splitlines()[-1]) == (0, "no problems found"), check

    for d in digests:  # the folder is gone: the bucket is the only copy
        (files / key(d)).unlink()
    back = ngshare(
        tmp_path, "storage", "migrate", "--from", "s3", "--to", "filesystem", *common, *s3
    )
    assert back.returncode == 0 and "copied 6 blob(s), 0 already there" in back.stdout, back
    check = ngshare(tmp_path, "fsck", "--verify", *common)
    assert (check.returncode, check.stdout.splitlines()[-1]) == (0, "no problems found"), check
    for b in blobs:
        assert sha((files / key(b.sha256)).read_bytes()) == b.sha256


def test_migrate_refuses_to_copy_a_corrupt_blob(tmp_path, s3_server, s3_bucket, db_url):
    files = tmp_path / "files"
    data = os.urandom(300_000)
    path = files / key(sha(data))
    path.parent.mkdir(parents=True)
    path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # one bit flipped on disk
    s3 = [
        f"--NgShare.{k}={v}"
        for k, v in s3_server.settings(s3_bucket).items()
        if k != "storage_backend"
    ]
    run = ngshare(
        tmp_path, "storage", "migrate", "--from", "filesystem", "--to", "s3",
        f"--data-dir={tmp_path}", f"--storage={files}", f"--database={db_url}", *s3,
    )  # fmt: skip
    assert run.returncode == 1 and "1 corrupt (not copied)" in run.stdout, run
    assert "does not match its digest" in run.stderr
    assert s3_server.keys(s3_bucket) == []


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "usage: ngshare storage migrate"),
        (["--from", "s3"], "usage: ngshare storage migrate"),
        (["--from", "s3", "--to", "s3"], "the same backend"),
    ],
)
def test_migrate_explains_wrong_arguments(tmp_path, args, message):
    run = ngshare(tmp_path, "storage", "migrate", *args, f"--data-dir={tmp_path}")
    assert run.returncode == 2 and message in run.stderr, run


def _reference(ctx, blobs) -> None:
    """Rows of the exchange referring to ``blobs``: a course with one released assignment."""

    def write(session):
        course = Course(name="c1")
        session.add(course)
        session.flush()
        assignment = Assignment(course_pk=course.pk, name="a1")
        session.add(assignment)
        session.flush()
        for i, b in enumerate(blobs):
            session.add(
                ExchangeFile(
                    kind=KIND_RELEASE,
                    assignment_pk=assignment.pk,
                    position=i,
                    path=f"f{i}.bin",
                    sha256=b.sha256,
                    md5=b.md5,
                    size=b.size,
                )
            )

    ctx.db.run_sync(write)
