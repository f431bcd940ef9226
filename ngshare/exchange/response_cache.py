"""Whole fetch responses of released assignments, kept ready to send.

At a deadline every student fetches the same release: encoding its files to
base64 and JSON once, instead of once per student, is the difference between
the server doing work and only writing bytes. Entries are keyed by the release's
(path, sha256) list — content addressing makes them impossible to serve stale —
and the cache is a byte-bounded LRU.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from ngshare.exchange import codec
from ngshare.plugin_api import SingleFlight

if TYPE_CHECKING:
    from ngshare.exchange.models import FileEntry
    from ngshare.plugin_api import BlobStore

Key = tuple[tuple[str, str], ...]


#: Bytes of a blob encoded per piece (a multiple of 3: the pieces join into one string).
ENCODE_PIECE_BYTES = 3 << 20


class ResponseCache:
    """A thread-safe LRU of response bodies, bounded by their total size."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Key, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self._builds: SingleFlight[bytes] = SingleFlight()

    @staticmethod
    def key(files: list[FileEntry]) -> Key:
        return tuple((f.path, f.sha256) for f in files)

    def fits(self, files: list[FileEntry]) -> bool:
        """Small enough to cache: at most a quarter of the budget, encoded."""
        encoded = sum(f.size for f in files) * 4 // 3 + 100 * len(files)
        return encoded * 4 <= self.max_bytes

    def get(self, key: Key) -> bytes | None:
        with self._lock:
            body = self._entries.get(key)
            if body is not None:
                self._entries.move_to_end(key)
            return body

    async def get_or_build(self, key: Key, build: Callable[[], Awaitable[bytes]]) -> bytes:
        """The cached body, else built once however many requests ask at the same time.

        At a deadline the first 32 students arrive together; without this each
        would encode the whole release (32 x the CPU, 32 x the memory).
        """
        body = self.get(key)
        if body is not None:
            return body
        return await self._builds.run(key, lambda: self._build_and_put(key, build))

    async def _build_and_put(self, key: Key, build: Callable[[], Awaitable[bytes]]) -> bytes:
        body = await build()
        self.put(key, body)
        return body

    def clear(self) -> None:
        """Forget every body (tests, and operators who replaced blobs by hand)."""
        with self._lock:
            self._entries.clear()
            self._size = 0

    def put(self, key: Key, body: bytes) -> None:
        with self._lock:
            if key in self._entries:
                return
            self._entries[key] = body
            self._size += len(body)
            while self._size > self.max_bytes and self._entries:
                _, old = self._entries.popitem(last=False)
                self._size -= len(old)


def entry_json(f: FileEntry) -> str:
    """A file's entry without its content: ``{"path":..,"checksum":..}``."""
    return json.dumps({"path": f.path, "checksum": f.md5}, separators=(",", ":"))


def build_body(
    files: list[FileEntry],
    storage: BlobStore,
    fields: dict | None = None,
    small: dict[str, bytes] | None = None,
) -> bytes:
    """``{"success":true,**fields,"files":[...]}`` with every file's content (blocking).

    Blobs are encoded in pieces and joined once, so building costs about twice
    the body in memory (pieces + result), not a copy per concatenation.
    ``small``: contents already read from the database (ngshare.exchange.small_reads);
    without it the small files are read here.
    """
    envelope = json.dumps({"success": True, **(fields or {})}, separators=(",", ":"))
    pieces = [envelope[:-1].encode(), b',"files":[']
    if small is None:
        small = storage.read_small([f.sha256 for f in files if f.size <= storage.inline_bytes])
    for i, f in enumerate(files):
        pieces.append((b"," if i else b"") + entry_json(f)[:-1].encode() + b',"content":"')
        if f.sha256 in small:
            pieces.append(codec.encode(small[f.sha256]))
        else:
            with storage.open(f.sha256) as blob:
                # a multiple of 3 bytes per piece: the encoded pieces join into one string
                while chunk := blob.read(ENCODE_PIECE_BYTES):
                    pieces.append(codec.encode(chunk))
        pieces.append(b'"}')
    pieces.append(b"]}")
    return b"".join(pieces)
