"""The blob store: content addressing, de-duplication, two-phase writes."""

import hashlib
import os
import threading

import lz4.frame
import pytest

from ngshare.storage import BlobStore


@pytest.fixture
def store(tmp_path):
    return BlobStore(tmp_path / "blobs")


def test_a_committed_blob_is_found_by_its_sha256(store):
    blob = store.stage(b"hello")
    store.commit([blob])
    assert blob.sha256 == hashlib.sha256(b"hello").hexdigest()
    assert blob.md5 == hashlib.md5(b"hello").hexdigest()
    assert blob.size == 5
    assert store.read(blob.sha256) == b"hello"


def test_a_staged_blob_is_invisible_until_committed(store):
    blob = store.stage(b"pending")
    assert not store.exists(blob.sha256)
    store.commit([blob])
    assert store.exists(blob.sha256)


def test_identical_content_is_stored_once(store):
    a, b = store.stage(b"same"), store.stage(b"same")
    store.commit([a, b])
    assert store.all_digests() == {a.sha256}
    assert list(store.tmp.iterdir()) == []


def test_discarded_blobs_leave_nothing(store):
    blob = store.stage(b"refused")
    store.discard([blob])
    assert store.all_digests() == set()
    assert list(store.tmp.iterdir()) == []


def test_paths_are_only_made_from_digests(store):
    with pytest.raises(ValueError):
        store.path_for("../../etc/passwd")


def test_empty_content_is_a_blob_too(store):
    blob = store.put(b"")
    assert store.read(blob.sha256) == b""


def test_storing_content_again_refreshes_the_blob_for_garbage_collection(tmp_path):
    import os

    store = BlobStore(tmp_path)
    blob = store.put(b"same bytes")
    path = store.path_for(blob.sha256)
    os.utime(path, (1_000_000, 1_000_000))  # an old, unreferenced blob
    again = store.stage(b"same bytes")
    store.commit([again])
    assert os.stat(path).st_mtime > 1_000_000  # inside the GC grace period again
    assert not os.path.exists(again.temp_path)


def test_commit_spanning_several_folders_stores_every_blob(tmp_path):
    store = BlobStore(tmp_path)
    staged = [store.stage(f"blob {i}".encode()) for i in range(20)]
    store.commit(staged)
    assert {b.sha256[:2] for b in staged} and all(store.exists(b.sha256) for b in staged)
    assert [store.read(b.sha256) for b in staged] == [f"blob {i}".encode() for i in range(20)]


def test_an_upload_is_alone_until_another_one_is_in_progress(store):
    assert store.alone()
    with store.writing():
        assert store.alone()  # only the caller's own
        with store.writing():
            assert not store.alone()
        assert store.alone()
    with pytest.raises(RuntimeError), store.writing():
        raise RuntimeError("a failed upload stops counting too")
    assert store.alone()


def test_a_commit_beside_other_uploads_stores_every_blob(store):
    blobs = [store.stage(bytes([i]) * 10) for i in range(8)]  # several shard folders
    with store.writing():  # another upload in progress: folders synced one by one
        store.commit(blobs[:4])
    store.commit(blobs[4:])  # alone: side by side
    assert all(store.read(b.sha256) == bytes([i]) * 10 for i, b in enumerate(blobs))


# -- small blobs kept in the database ------------------------------------------


@pytest.fixture
def db_store(server, tmp_path):
    """A store whose blobs up to 64 bytes live in the test database."""
    return BlobStore(tmp_path / "db-blobs", server.db.engine, inline_bytes=64)


def _files_of(store):
    return [p for p in store.root.rglob("*") if p.is_file()]


def test_a_small_blob_is_held_in_memory_and_stored_in_the_transaction(db_store, server):
    blob = db_store.stage(b"small")
    assert blob.temp_path is None and blob.data == b"small"
    assert blob.md5 == hashlib.md5(b"small").hexdigest()
    assert not db_store.exists(blob.sha256)
    with server.db.engine.begin() as conn:
        db_store.commit([blob], conn)
    assert db_store.exists(blob.sha256)
    assert db_store.read(blob.sha256) == b"small"
    assert blob.sha256 in db_store.all_digests()
    assert _files_of(db_store) == []  # no file, not even a temp file


def test_a_rolled_back_transaction_keeps_no_small_blob(db_store, server):
    blob = db_store.stage(b"refused later")
    with pytest.raises(RuntimeError), server.db.engine.begin() as conn:
        db_store.commit([blob], conn)
        raise RuntimeError("the rows failed")
    assert not db_store.exists(blob.sha256)
    with pytest.raises(FileNotFoundError):
        db_store.open(blob.sha256)


def test_blobs_over_the_limit_are_files(db_store, server):
    data = bytes(range(65))
    blob = db_store.stage(data)
    assert blob.temp_path is not None and blob.data is None
    with server.db.engine.begin() as conn:
        db_store.commit([blob], conn)
    assert db_store.path_for(blob.sha256).read_bytes() == data


@pytest.mark.parametrize("pieces", [[b"a" * 30, b"b" * 34], [b"a" * 30, b"b" * 35, b"c" * 500]])
def test_streamed_content_is_held_only_while_it_stays_small(db_store, server, pieces):
    data = b"".join(pieces)
    blob = db_store.stage_stream(iter(pieces))
    assert (blob.temp_path is None) == (len(data) <= 64)
    assert (blob.sha256, blob.md5, blob.size) == (
        hashlib.sha256(data).hexdigest(),
        hashlib.md5(data).hexdigest(),
        len(data),
    )
    with server.db.engine.begin() as conn:
        db_store.commit([blob], conn)
    assert db_store.read(blob.sha256) == data


def test_a_lone_upload_gets_the_md5_of_a_small_blob_computed_aside(db_store):
    data = b"feedback" * 7
    with db_store.writing():  # one upload in progress: the md5 is left to another thread
        lone = db_store.stage(data)
        with db_store.writing():  # two: computed at once, no hand-off
            crowded = db_store.stage(data)
    assert not isinstance(lone.md5_digest, str)
    assert isinstance(crowded.md5_digest, str)
    assert lone.md5 == crowded.md5 == hashlib.md5(data).hexdigest()
    assert lone.md5_digest == lone.md5  # resolved once, then kept


@pytest.fixture
def packing_store(server, tmp_path):
    """A store whose blobs up to 1 MB live in the test database (big enough to pack)."""
    return BlobStore(tmp_path / "packing-blobs", server.db.engine, inline_bytes=1 << 20)


def _stored_row(server, sha256):
    from sqlalchemy import select

    from ngshare.models import InlineBlob

    with server.db.engine.connect() as conn:
        return conn.execute(
            select(InlineBlob.content, InlineBlob.codec).where(InlineBlob.sha256 == sha256)
        ).one()


def _commit(store, server, blob):
    with server.db.engine.begin() as conn:
        store.commit([blob], conn)


def test_compressible_small_blobs_are_stored_packed_and_read_back_whole(packing_store, server):
    html = b"<div class='cell'><pre>the data model error</pre></div>\n" * 2000  # ~110 KB
    blob = packing_store.stage(html)
    _commit(packing_store, server, blob)
    content, codec = _stored_row(server, blob.sha256)
    assert codec == "lz4" and len(content) < len(html) // 4
    assert packing_store.read(blob.sha256) == html
    assert packing_store.read_small([blob.sha256]) == {blob.sha256: html}
    assert (blob.sha256, blob.md5) == (
        hashlib.sha256(html).hexdigest(),
        hashlib.md5(html).hexdigest(),
    )  # the digests name the content, not its stored form


@pytest.mark.parametrize(
    "data",
    [
        os.urandom(50_000),  # does not pack
        b"tiny but repetitive " * 100,  # too small to bother
        os.urandom(20_000) + b"a" * 100_000,  # its first 16 KiB do not pack: not tried
        b"a" * 20_000 + os.urandom(100_000),  # its start packs, the whole saves a sixth
    ],
)
def test_small_blobs_that_do_not_pack_well_or_are_tiny_are_stored_as_is(
    packing_store, server, data
):
    blob = packing_store.stage(data)
    _commit(packing_store, server, blob)
    assert _stored_row(server, blob.sha256) == (data, None)
    assert packing_store.read(blob.sha256) == data


def test_a_lone_upload_packs_aside_and_a_crowded_one_at_once(packing_store, server):
    data = b"feedback " * 10_000
    with packing_store.writing():
        lone = packing_store.stage(data)
        with packing_store.writing():
            crowded = packing_store.stage(data)
    assert not isinstance(lone.packing, bytes) and isinstance(crowded.packing, bytes)
    assert lone.packed == crowded.packed and lz4.frame.decompress(lone.packed) == data


def test_blobs_stored_before_packing_existed_are_read_as_they_are(packing_store, server):
    from ngshare.models import InlineBlob, utcnow

    data = b"stored by an earlier version " * 500
    digest = hashlib.sha256(data).hexdigest()
    with server.db.engine.begin() as conn:  # the row an earlier server wrote: no codec
        conn.execute(
            InlineBlob.__table__.insert().values(sha256=digest, content=data, touched_at=utcnow())
        )
    assert packing_store.read(digest) == data


def test_a_blob_in_an_unknown_codec_is_an_error_not_garbage(packing_store, server):
    from ngshare.models import InlineBlob, utcnow

    digest = hashlib.sha256(b"x").hexdigest()
    with server.db.engine.begin() as conn:
        conn.execute(
            InlineBlob.__table__.insert().values(
                sha256=digest, content=b"??", codec="zstd", touched_at=utcnow()
            )
        )
    with pytest.raises(ValueError, match="unknown blob codec"):
        packing_store.read(digest)


def test_without_a_transaction_a_small_blob_becomes_a_file(db_store):
    blob = db_store.put(b"no connection")
    assert db_store.path_for(blob.sha256).read_bytes() == b"no connection"


def test_a_small_blob_stored_again_is_kept_once_and_touched_only_when_stale(db_store, server):
    from datetime import timedelta

    from sqlalchemy import func, select, update

    from ngshare.models import InlineBlob, utcnow

    def stored():
        with server.db.engine.connect() as conn:
            return conn.execute(select(func.count(), func.max(InlineBlob.touched_at))).one()

    def store_again():
        with server.db.engine.begin() as conn:
            db_store.commit([db_store.stage(b"twice"), db_store.stage(b"twice")], conn)

    store_again()
    count, first = stored()
    assert count == 1
    store_again()
    assert stored() == (1, first)  # recent: the row is not rewritten
    long_ago = utcnow() - timedelta(days=3)
    with server.db.engine.begin() as conn:
        conn.execute(update(InlineBlob).values(touched_at=long_ago))
    store_again()
    count, touched = stored()
    assert count == 1 and touched > long_ago + timedelta(days=2)


def test_untouched_small_blobs_are_removed_unless_kept(db_store, server):
    from datetime import timedelta

    from ngshare.models import utcnow

    blobs = [db_store.stage(f"blob {i}".encode()) for i in range(3)]
    with server.db.engine.begin() as conn:
        db_store.commit(blobs, conn)
    keep = {blobs[0].sha256}
    assert db_store.remove_untouched_since(utcnow() - timedelta(hours=1), keep) == 0  # young
    assert db_store.remove_untouched_since(utcnow() + timedelta(seconds=1), keep) == 2
    assert db_store.all_digests() == keep


def test_an_in_memory_sqlite_database_keeps_no_blobs(tmp_path):
    from sqlalchemy import create_engine

    store = BlobStore(tmp_path, create_engine("sqlite://"), inline_bytes=1024)
    assert store.inline_bytes == 0
    assert store.stage(b"x").temp_path is not None


def test_staging_runs_side_by_side_and_close_ends_the_stores_threads(tmp_path):
    store = BlobStore(tmp_path / "threads")
    workers = store.map_side_by_side(lambda _: threading.current_thread(), [1, 2, 3])
    assert all(t.name.startswith("ngshare-stage") for t in workers)
    store.close()
    assert not any(t.is_alive() for t in workers)


def test_with_packing_off_compressible_blobs_are_stored_as_is_and_packed_ones_still_read(
    server, tmp_path
):
    html = b"<div class='cell'><pre>the data model error</pre></div>\n" * 2000
    packing = BlobStore(tmp_path / "on", server.db.engine, inline_bytes=1 << 20)
    packed = packing.stage(html)
    _commit(packing, server, packed)
    plain = BlobStore(tmp_path / "off", server.db.engine, inline_bytes=1 << 20, packing=False)
    other = html + b"<!-- another file -->"
    blob = plain.stage(other)
    _commit(plain, server, blob)
    assert _stored_row(server, blob.sha256) == (other, None)
    assert plain.read(packed.sha256) == html  # what was stored packed is read either way
    packing.close()
    plain.close()


def test_with_threads_off_an_upload_stays_on_its_own_thread(server, tmp_path):
    store = BlobStore(tmp_path / "one", server.db.engine, inline_bytes=1 << 20, threads=False)
    assert (
        store.map_side_by_side(lambda _: threading.current_thread(), [1, 2, 3])
        == [threading.current_thread()] * 3
    )
    with store.writing():
        blob = store.stage(b"feedback " * 10_000)
    assert isinstance(blob.packing, bytes) and isinstance(blob.md5_digest, str)  # computed at once
    store.close()


# -- temp files a crash left ------------------------------------------------------


def _aged(path, seconds: float) -> None:
    import time

    old = time.time() - seconds
    os.utime(path, (old, old))


def test_opening_a_store_sweeps_old_temp_files_and_keeps_young_ones(tmp_path):
    """Staged blobs and spooled bodies a crash left go at start; recent ones may be a replica's."""
    from ngshare.storage import TEMP_GRACE_SECONDS

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    for name in ("blob-crashed", "ngshare-body-crashed", "blob-recent"):
        (tmp / name).write_bytes(b"x" * 1000)
    _aged(tmp / "blob-crashed", TEMP_GRACE_SECONDS + 5)
    _aged(tmp / "ngshare-body-crashed", TEMP_GRACE_SECONDS + 5)
    (tmp / "a-folder").mkdir()  # not a temp file of ours: left alone
    _aged(tmp / "a-folder", TEMP_GRACE_SECONDS + 5)
    store = BlobStore(tmp_path)
    try:
        assert sorted(p.name for p in tmp.iterdir()) == ["a-folder", "blob-recent"]
    finally:
        store.close()


def test_temp_files_left_just_before_opening_go_once_they_reach_the_grace(tmp_path):
    """A restart right after a crash: its leftovers are swept once they are old enough."""
    import time

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    (tmp / "blob-crashed").write_bytes(b"left by a crash")
    _aged(tmp / "blob-crashed", 0.5)
    store = BlobStore(tmp_path, temp_grace_seconds=1.0)
    try:
        assert (tmp / "blob-crashed").exists()  # younger than the grace at opening
        staged = store.stage(b"y" * 10)  # a file of this store, in flight
        deadline = time.monotonic() + 10
        while (tmp / "blob-crashed").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not (tmp / "blob-crashed").exists()
        assert os.path.exists(staged.temp_path)  # made after opening: never swept by it
        store.commit([staged])
        assert store.read(staged.sha256) == b"y" * 10
    finally:
        store.close()


def test_closing_the_store_cancels_its_pending_sweep(tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    (tmp / "blob-recent").write_bytes(b"recent")
    store = BlobStore(tmp_path, temp_grace_seconds=60)
    assert store._sweeper is not None and store._sweeper.is_alive()
    store.close()
    store._sweeper.join(timeout=5)
    assert not store._sweeper.is_alive()
    assert (tmp / "blob-recent").exists()


def test_a_store_opened_without_sweeping_keeps_every_temp_file(tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    (tmp / "blob-old").write_bytes(b"old")
    _aged(tmp / "blob-old", 10 * 86400)
    store = BlobStore(tmp_path, temp_grace_seconds=None)
    store.close()
    assert (tmp / "blob-old").exists()


def test_database_errors_do_not_carry_bound_values(db_url):
    """Tokens travel as bound values: a failing statement's error (and log) must not show them.

    (The statement fails for a reason other than its values: PostgreSQL's own
    messages may quote a row, which is the database's text, not SQLAlchemy's.)
    """
    import sqlalchemy as sa

    from ngshare.db import create_db_engine

    engine = create_db_engine(db_url)
    try:
        with pytest.raises(sa.exc.DBAPIError) as caught, engine.connect() as conn:
            conn.execute(
                sa.text("SELECT token FROM no_such_table WHERE token = :v"), {"v": "secret-token-1"}
            )
        assert "no_such_table" in str(caught.value)
        assert "secret-token-1" not in str(caught.value)
        assert "hidden due to hide_parameters" in str(caught.value)
    finally:
        engine.dispose()


def test_garbage_collection_sweeps_temp_files_past_their_own_grace(server):
    """A running server's daily GC removes crash leftovers after minutes, not after its day."""
    from ngshare.garbage import collect_garbage_sync
    from ngshare.storage import TEMP_GRACE_SECONDS

    tmp = server.storage.tmp
    (tmp / "blob-crashed").write_bytes(b"left")
    (tmp / "blob-in-flight").write_bytes(b"being written")
    _aged(tmp / "blob-crashed", TEMP_GRACE_SECONDS + 5)
    collect_garbage_sync(server)  # the default grace for blobs: a day
    assert sorted(p.name for p in tmp.iterdir()) == ["blob-in-flight"]
