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
