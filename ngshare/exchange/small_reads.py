"""A download's small files read in the transaction that found them (one round trip, not four).

Files up to ``NgShare.inline_blob_bytes`` are rows of table ``blobs``. A
collect or feedback download used to look its files up in one transaction
and read their contents in a second one (``BlobStore.read_small``, its own
pooled connection). On PostgreSQL each transaction costs a BEGIN, a pool
check-out and a COMMIT or ROLLBACK, each a round trip to the database
process: reading the contents in the lookup's transaction saves three of
a collect's nine. On psycopg the contents also come back in binary, not as
hex text that the database must encode and the driver decode (twice the
bytes for a notebook). ``Exchange.small_files_in_lookup = False`` turns it
off (the contents are then read after the lookup, as before).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from ngshare.exchange.models import FileEntry
from ngshare.plugin_api import BlobStore


def small_digests(files: Sequence[FileEntry], storage: BlobStore) -> list[str]:
    """The digests of ``files`` small enough to be rows of ``blobs`` (none without inline blobs)."""
    if getattr(storage, "engine", None) is None:
        return []
    limit = storage.inline_bytes
    return sorted({f.sha256 for f in files if f.size <= limit})


def read_small_in(session: Session, storage: BlobStore, digests: list[str]) -> dict[str, bytes]:
    """Contents of those of ``digests`` kept in the database, on ``session``'s transaction."""
    return storage.read_small_in(session, digests)
