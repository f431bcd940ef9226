"""``ngshare fsck``: each kind of problem is made by hand, found, and repaired (or not).

These tests have a database of their own: other feature sets' tests leave their
tables in the shared one, which fsck rightly reports (``disabled-feature-set``).
"""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from ngshare.exchange.response_cache import ResponseCache
from ngshare.fsck import fsck, repair
from ngshare.models import InlineBlob, utcnow
from ngshare.storage import TEMP_GRACE_SECONDS
from tests.conftest import own_pg_schema

pytestmark = pytest.mark.gen_test

DAY = 86400
SMALL = b"small, kept in the database"


def big(server, tag: bytes = b"") -> bytes:
    """Content one byte over the inline limit: stored as a file."""
    return tag + b"B" * (server.storage.inline_bytes + 1 - len(tag))


def kinds(report) -> list[tuple[str, str]]:
    return sorted((p.kind, p.target) for p in report.problems)


def rel(server, digest: str) -> str:
    return f"{digest[:2]}/{digest[2:]}"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def age(path, seconds: float) -> None:
    old = time.time() - seconds
    os.utime(path, (old, old))


def age_rows(server, seconds: float) -> None:
    server.db.run_sync(
        lambda s: s.execute(
            sa.update(InlineBlob).values(touched_at=utcnow() - timedelta(seconds=seconds))
        )
    )


def inline_digests(server) -> set[str]:
    return set(server.db.run_sync(lambda s: list(s.scalars(sa.select(InlineBlob.sha256)))))


async def fetched(exchange, server, assignment: str = "a1") -> dict[str, bytes]:
    """The release as a student downloads it (read from the store, not the fetch cache)."""
    server.state(ResponseCache).clear()
    body = await exchange.ok("GET", f"assignment/c1/{assignment}", "s1")
    return {f["path"]: base64.b64decode(f["content"]) for f in body["files"]}


@pytest.fixture(scope="module")
def db_url(tmp_path_factory):
    """This module's own database, of the run's kind (SQLite file, or PostgreSQL schema)."""
    if os.environ.get("NGSHARE_TEST_DB", "sqlite") != "postgresql":
        yield "sqlite:///" + str(tmp_path_factory.mktemp("fsck-db") / "ngshare.db")
        return
    with own_pg_schema("fsck") as url:
        yield url


@pytest.fixture
def released(exchange, server):
    """c1 with a1 released: one small file (a row of blobs) and one large one (a file)."""

    async def setup():
        await exchange.course()
        await exchange.students()
        files = {"small.txt": SMALL, "big.bin": big(server)}
        await exchange.release("a1", files=files)
        return files

    return setup


async def test_a_consistent_store_has_no_problems(released, exchange, server):
    files = await released()
    await exchange.submit()
    report = fsck(server, verify=True)
    assert report.problems == []
    assert report.referenced >= 2 and report.files == 1 and report.rows >= 1
    assert await fetched(exchange, server) == files


async def test_old_unreferenced_blobs_are_found_and_removed_young_ones_kept(
    released, exchange, server
):
    files = await released()
    orphan_file = server.storage.put(big(server, b"orphan"))  # a file no row refers to
    young_file = server.storage.put(big(server, b"young"))
    with server.db.engine.begin() as conn:  # rows of blobs no row refers to
        server.storage.commit([server.storage.stage(b"orphan row")], conn)
    age(server.storage.path_for(orphan_file.sha256), 2 * DAY)
    age(server.storage.path_for(sha(files["big.bin"])), 2 * DAY)  # old, but referenced
    age_rows(server, 2 * DAY)  # every row old, referenced ones included
    with server.db.engine.begin() as conn:
        server.storage.commit([server.storage.stage(b"young row")], conn)

    report = fsck(server)
    assert kinds(report) == sorted(
        [
            ("unreferenced-file", rel(server, orphan_file.sha256)),
            ("unreferenced-row", sha(b"orphan row")),
        ]
    )
    assert report.remaining == report.problems  # report only by default
    assert server.storage.exists(orphan_file.sha256)

    report = fsck(server, repair_problems=True)
    assert [p.repaired for p in report.problems] == [True, True]
    assert not server.storage.exists(orphan_file.sha256)
    assert sha(b"orphan row") not in inline_digests(server)
    assert server.storage.exists(young_file.sha256)  # young: an upload may be about to use it
    assert sha(b"young row") in inline_digests(server)
    assert fsck(server).problems == []
    assert await fetched(exchange, server) == files  # the referenced ones are all there


async def test_a_blob_stored_again_after_the_check_is_not_removed(released, server):
    await released()
    orphan = server.storage.put(big(server, b"orphan"))
    age(server.storage.path_for(orphan.sha256), 2 * DAY)
    report = fsck(server)
    assert [p.kind for p in report.problems] == ["unreferenced-file"]
    server.storage.put(big(server, b"orphan"))  # an upload of the same content meanwhile
    repair(server, report)
    assert report.problems[0].repaired is False
    assert server.storage.exists(orphan.sha256)


async def test_old_temp_files_are_found_and_removed_fresh_ones_kept(released, server):
    await released()
    tmp = server.storage.tmp
    (tmp / "blob-crashed").write_bytes(b"half a blob")
    (tmp / "ngshare-body-crashed").write_bytes(b"half a body")
    (tmp / "blob-in-flight").write_bytes(b"someone is writing this")
    age(tmp / "blob-crashed", TEMP_GRACE_SECONDS + 60)
    age(tmp / "ngshare-body-crashed", TEMP_GRACE_SECONDS + 60)

    report = fsck(server, repair_problems=True)
    assert kinds(report) == [
        ("temp-file", "tmp/blob-crashed"),
        ("temp-file", "tmp/ngshare-body-crashed"),
    ]
    assert all(p.repaired for p in report.problems)
    assert sorted(p.name for p in tmp.iterdir()) == ["blob-in-flight"]
    # with the server stopped, --grace 0 takes every temp file
    report = fsck(server, repair_problems=True, grace_seconds=0)
    assert kinds(report) == [("temp-file", "tmp/blob-in-flight")]
    assert list(tmp.iterdir()) == []


async def test_files_that_are_no_blob_are_found_and_removed(released, server):
    await released()
    shard = server.storage.root / "ab"
    shard.mkdir(exist_ok=True)
    (shard / "notes.txt").write_text("someone's file")
    age(shard / "notes.txt", 2 * DAY)
    report = fsck(server, repair_problems=True)
    assert kinds(report) == [("stray-file", "ab/notes.txt")]
    assert report.problems[0].repaired and not (shard / "notes.txt").exists()


async def test_a_missing_blob_is_reported_and_cannot_be_repaired_without_a_copy(
    released, exchange, server
):
    files = await released()
    digest = sha(files["big.bin"])
    server.storage.path_for(digest).unlink()  # lost by hand or by a disk
    report = fsck(server, repair_problems=True)
    assert kinds(report) == [("missing-blob", digest)]
    assert "exchange" in report.problems[0].detail
    assert report.remaining == report.problems


async def test_a_missing_blob_is_restored_from_a_temp_file_holding_its_content(
    released, exchange, server
):
    files = await released()
    digest = sha(files["big.bin"])
    os.replace(server.storage.path_for(digest), server.storage.tmp / "blob-kept")
    report = fsck(server, repair_problems=True, grace_seconds=0)
    assert ("missing-blob", digest) in kinds(report)
    assert report.remaining == []
    assert server.storage.read(digest) == files["big.bin"]
    assert fsck(server, verify=True).problems == []
    assert await fetched(exchange, server) == files


async def test_verify_finds_corrupt_blobs_and_removes_only_those_it_may(released, exchange, server):
    files = await released()
    referenced = sha(files["big.bin"])
    orphan = server.storage.put(big(server, b"orphan"))
    for digest in (referenced, orphan.sha256):
        with open(server.storage.path_for(digest), "r+b") as f:
            f.write(b"rot")
    assert fsck(server).problems == []  # not hashed without --verify (the orphan is young)
    report = fsck(server, repair_problems=True, verify=True)
    assert kinds(report) == sorted(
        [
            ("corrupt-blob", rel(server, referenced)),
            ("corrupt-blob", rel(server, orphan.sha256)),
        ]
    )
    state = {p.target: p.repaired for p in report.problems}
    assert state == {rel(server, referenced): False, rel(server, orphan.sha256): True}
    assert server.storage.path_for(referenced).exists()  # the only copy: kept for a human
    assert not server.storage.path_for(orphan.sha256).exists()


async def test_verify_finds_a_corrupt_row_of_blobs(released, server):
    files = await released()
    digest = sha(files["small.txt"])
    server.db.run_sync(
        lambda s: s.execute(
            sa.update(InlineBlob)
            .where(InlineBlob.sha256 == digest)
            .values(content=b"rot", codec=None)
        )
    )
    report = fsck(server, repair_problems=True, verify=True)
    assert kinds(report) == [("corrupt-blob", digest)]
    assert report.remaining == report.problems  # referenced, no other copy


async def test_tables_of_a_feature_set_not_enabled_keep_every_blob(released, server):
    await released()
    orphan = server.storage.put(big(server, b"maybe a map"))
    age(server.storage.path_for(orphan.sha256), 2 * DAY)
    table = sa.Table("zzfake_maps", sa.MetaData(), sa.Column("sha256", sa.String(64)))
    table.create(server.db.engine)
    try:
        report = fsck(server, repair_problems=True)
    finally:
        table.drop(server.db.engine)
    assert kinds(report) == [("disabled-feature-set", "zzfake_maps")]
    assert report.remaining == report.problems
    assert server.storage.exists(orphan.sha256)  # it may be that feature set's


def test_the_command_reports_repairs_and_says_so_in_its_exit_status(tmp_path):
    """``ngshare fsck`` on a server's data folder: 1 while a problem remains, 0 after --repair."""

    def ngshare(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [
                sys.executable,
                "-c",
                "from ngshare.cli import main; main()",
                *args,
                f"--data-dir={tmp_path}",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
        )

    first = ngshare("fsck")
    assert (first.returncode, first.stdout.splitlines()[-1]) == (0, "no problems found"), first
    stray = tmp_path / "files" / "ab" / "junk"
    stray.parent.mkdir()
    stray.write_text("junk")
    age(stray, 2 * DAY)
    found = ngshare("fsck")
    assert found.returncode == 1 and "stray-file: ab/junk" in found.stdout, found
    assert stray.exists()
    fixed = ngshare("fsck", "--repair", "--json")
    assert fixed.returncode == 0, fixed
    assert '"repaired": true' in fixed.stdout and not stray.exists()
    wrong = ngshare("fsck", "now")
    assert wrong.returncode == 2 and "unexpected argument" in wrong.stderr
