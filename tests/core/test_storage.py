"""The blob store: content addressing, de-duplication, two-phase writes."""

import hashlib

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
