"""Nothing is lost: deleted courses and assignments stay restorable until purged."""

import hashlib
import subprocess
import sys
from datetime import timedelta

import pytest

from ngshare.exchange import retention
from ngshare.exchange.response_cache import ResponseCache
from ngshare.models import utcnow


@pytest.mark.gen_test
async def test_a_deleted_assignment_can_be_restored_with_its_submissions(exchange, api, server):
    await exchange.setup()
    ts = await exchange.submit()
    await exchange.ok("DELETE", "assignment/c1/a1", "kevin")
    assert (await api("GET", "submissions/c1/a1", user="kevin"))[1]["message"] == (
        "Assignment not found"
    )

    items = server.db.run_sync(retention.list_deleted, timedelta(days=30))
    (item,) = items
    assert (item["kind"], item["course_id"], item["assignment_id"]) == ("assignment", "c1", "a1")
    assert item["submissions"] == 1

    server.db.run_sync(retention.restore, "assignment", item["id"])
    body = await exchange.ok("GET", "submissions/c1/a1", "kevin")
    assert body["submissions"] == [{"student_id": "s1", "timestamp": ts}]
    files = (await exchange.ok("GET", "submission/c1/a1/s1", "kevin"))["files"]
    assert [f["path"] for f in files] == ["p1.ipynb"]


@pytest.mark.gen_test
async def test_restore_refuses_when_the_name_was_released_again(exchange, server):
    await exchange.setup()
    await exchange.ok("DELETE", "assignment/c1/a1", "kevin")
    await exchange.release()
    (item,) = server.db.run_sync(retention.list_deleted, timedelta(days=30))
    with pytest.raises(retention.RestoreError, match="released again"):
        server.db.run_sync(retention.restore, "assignment", item["id"])


@pytest.mark.gen_test
async def test_a_deleted_course_can_be_restored_whole(exchange, server):
    await exchange.setup()
    await exchange.submit()
    await exchange.ok("DELETE", "course/c1", "root")
    assert (await exchange.ok("GET", "courses", "s1"))["courses"] == []
    (item,) = server.db.run_sync(retention.list_deleted, timedelta(days=30))
    assert (item["kind"], item["course_id"]) == ("course", "c1")
    server.db.run_sync(retention.restore, "course", item["id"])
    assert (await exchange.ok("GET", "courses", "s1"))["courses"] == ["c1"]
    assert len((await exchange.ok("GET", "submissions/c1/a1", "kevin"))["submissions"]) == 1


@pytest.mark.gen_test
async def test_a_recreated_course_blocks_restoring_the_old_one(exchange, server):
    await exchange.course()
    await exchange.ok("DELETE", "course/c1", "root")
    await exchange.course()
    (item,) = server.db.run_sync(retention.list_deleted, timedelta(days=30))
    with pytest.raises(retention.RestoreError, match="exists"):
        server.db.run_sync(retention.restore, "course", item["id"])


@pytest.mark.gen_test
async def test_purge_removes_only_items_past_retention(exchange, server):
    await exchange.setup()
    await exchange.submit()
    await exchange.release("a2")
    await exchange.ok("DELETE", "assignment/c1/a1", "kevin")
    keep = timedelta(days=30)
    assert server.db.run_sync(retention.purge_expired, keep) == 0
    assert len(server.db.run_sync(retention.list_deleted, keep)) == 1
    later = utcnow() + timedelta(days=31)
    assert server.db.run_sync(retention.purge_expired, keep, later) == 1
    assert server.db.run_sync(retention.list_deleted, keep) == []
    # the live assignment is untouched
    assert (await exchange.ok("GET", "assignments/c1", "s1"))["assignments"] == ["a2"]


def test_trash_command_lists_and_restores(tmp_path):
    """`ngshare trash` works against a server's database from the command line."""
    url = "sqlite:///" + str(tmp_path / "t.db")
    common = [f"--database={url}", f"--storage={tmp_path / 'files'}", "--admins=root"]

    def ngshare(*args):
        return subprocess.run(
            [sys.executable, "-m", "ngshare", *args, *common],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=60,
        )

    # make a deleted course through the ORM functions the API uses
    from ngshare.app import build
    from ngshare.auth import Identity
    from ngshare.config import NgShare
    from ngshare.exchange.handlers.courses import create_course, delete_course

    config = NgShare(db_url=url, storage_path=str(tmp_path / "files"), config_file="")
    ctx, _ = build(config)
    ctx.db.run_sync(create_course, "c9", Identity("root", True), "[]")
    ctx.db.run_sync(delete_course, "c9")
    ctx.close()

    listed = ngshare("trash", "list")
    assert listed.returncode == 0, listed.stderr
    assert '"course_id": "c9"' in listed.stdout
    restored = ngshare("trash", "restore", "course", "1")
    assert restored.returncode == 0 and "restored course 'c9'" in restored.stdout
    again = ngshare("trash", "restore", "course", "1")
    assert again.returncode == 1 and "no deleted course" in again.stderr
    bad = ngshare("trash", "restore", "nonsense")
    assert bad.returncode == 2


@pytest.mark.gen_test
async def test_garbage_collection_keeps_referenced_and_young_blobs(exchange, server):
    """Only blobs no row refers to, and older than the grace period, are removed."""
    from ngshare.garbage import collect_garbage

    await exchange.setup()  # releases p1.ipynb and data/x.csv
    await exchange.release("a2", files={"only-in-a2.txt": b"unique to a2"})
    await exchange.ok("DELETE", "assignment/c1/a2", "kevin")
    stored = server.storage.all_digests()
    assert len(stored) == 3
    # a deleted assignment is still restorable: its blob is kept
    assert await collect_garbage(server, grace_seconds=0) == 0
    server.db.run_sync(retention.purge_expired, timedelta(0), utcnow() + timedelta(seconds=1))
    # young orphans survive (an upload commits blobs just before its rows)
    assert await collect_garbage(server) == 0
    _age_blobs(server, stored, 2 * 86400)
    assert await collect_garbage(server) == 1
    assert len(server.storage.all_digests()) == 2
    # the live release still downloads, read from the store (not the fetch cache)
    server.state(ResponseCache).clear()
    body = await exchange.ok("GET", "assignment/c1/a1", "s1")
    assert sorted(f["path"] for f in body["files"]) == ["data/x.csv", "p1.ipynb"]


def _age_blobs(server, digests, seconds):
    """Make blobs look ``seconds`` old: files by mtime, database-kept ones by touched_at."""
    import os
    import time

    from sqlalchemy import update

    from ngshare.models import InlineBlob

    old = time.time() - seconds
    for digest in digests:
        path = server.storage.path_for(digest)
        if path.exists():
            os.utime(path, (old, old))
    server.db.run_sync(
        lambda s: s.execute(
            update(InlineBlob).values(touched_at=utcnow() - timedelta(seconds=seconds))
        )
    )


@pytest.mark.gen_test
async def test_small_files_are_kept_in_the_database_and_collected_there(exchange, server):
    """Files up to inline_blob_bytes live in the blobs table, not as files; GC removes them too."""
    from sqlalchemy import func, select

    from ngshare.garbage import collect_garbage
    from ngshare.models import InlineBlob

    def inline_count():
        return server.db.run_sync(lambda s: s.scalar(select(func.count()).select_from(InlineBlob)))

    big = b"x" * (server.storage.inline_bytes + 1)
    await exchange.setup()
    await exchange.release("a2", files={"small.txt": b"unique to a2", "big.bin": big})
    files = server.storage.file_digests()  # in the folder, or the bucket (NGSHARE_TEST_STORAGE)
    assert files == {hashlib.sha256(big).hexdigest()}  # only the large file is a file
    assert inline_count() == 3  # a1's two files and a2's small one
    await exchange.ok("DELETE", "assignment/c1/a2", "kevin")
    server.db.run_sync(retention.purge_expired, timedelta(0), utcnow() + timedelta(seconds=1))
    assert await collect_garbage(server) == 0  # young
    if not server.storage.files.local:
        pytest.skip("S3 objects cannot be aged by hand (GC on S3: tests/core/test_storage_s3.py)")
    _age_blobs(server, server.storage.all_digests(), 2 * 86400)
    assert await collect_garbage(server) == 2  # a2's small (database) and big (file) blobs
    assert inline_count() == 2
    assert server.storage.file_digests() == set()
    server.state(ResponseCache).clear()
    body = await exchange.ok("GET", "assignment/c1/a1", "s1")
    assert sorted(f["path"] for f in body["files"]) == ["data/x.csv", "p1.ipynb"]
