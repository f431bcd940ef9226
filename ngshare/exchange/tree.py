"""Read an encoded directory tree (the ``files`` field) without holding it in memory.

``[{"path": "a.ipynb", "content": "<base64>"}, ...]`` can be hundreds of MB,
nearly all of it inside the ``content`` strings. :func:`split_long_strings`
streams the JSON text once: every string longer than ``LONG_STRING_BYTES`` is
written to a temp file and replaced in a small *skeleton* by a per-request
marker. The skeleton goes through ``json.loads`` — so what is valid JSON, and
which error wins, is exactly the standard library's — and each long content
string is then base64-decoded from its temp file, chunk by chunk, into the blob
store. Peak memory is a few MB whatever the upload size.
"""

from __future__ import annotations

import binascii
import os
import re
import secrets
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

LONG_STRING_BYTES = 64 * 1024
DECODE_CHUNK_CHARS = 4 * (1 << 18)  # a multiple of 4: base64 pieces decode on their own

_QUOTE_OR_BACKSLASH = re.compile(rb'["\\]')
_CONTROL = re.compile(rb"[\x00-\x1f]")
_NOT_BASE64 = re.compile(rb"[^A-Za-z0-9+/=]")


@dataclass
class LongString:
    """The raw (still JSON-escaped) text of one long string, spooled to disk."""

    path: str
    has_escape: bool = False
    valid: bool = True  # no raw control characters (JSON forbids them in strings)
    ascii_only: bool = True

    def raw(self) -> bytes:
        with open(self.path, "rb") as f:
            return f.read()

    def text(self) -> str:
        """The decoded string (in memory: only for uncommon long strings)."""
        import json

        raw = self.raw()
        if not self.has_escape:
            return raw.decode("utf-8", "surrogateescape")
        return json.loads(b'"' + raw + b'"')

    def base64_chunks(self) -> Iterator[bytes] | None:
        """Decoded bytes in pieces, if the text is plain base64 (else None: decode whole)."""
        if self.has_escape or not self.ascii_only:
            return None
        with open(self.path, "rb") as f:
            head = f.read(DECODE_CHUNK_CHARS)
        if _NOT_BASE64.search(head):
            return None
        return self._decode_pieces()

    def _decode_pieces(self) -> Iterator[bytes]:
        with open(self.path, "rb") as f:
            piece = f.read(DECODE_CHUNK_CHARS)
            while piece:
                following = f.read(DECODE_CHUNK_CHARS)
                if _NOT_BASE64.search(piece) or (following and b"=" in piece):
                    raise _NeedsWholeDecode
                yield binascii.a2b_base64(piece, strict_mode=False)
                piece = following


class _NeedsWholeDecode(Exception):
    """Padding or foreign characters mid-stream: decode the whole string instead."""


@dataclass
class Skeleton:
    """The JSON text with long strings replaced by markers, and those strings."""

    text: bytes
    marker: str
    longs: list[LongString]
    tmpdir: str

    def resolve(self, value: object) -> object:
        """A LongString for a marker, the value itself otherwise."""
        if isinstance(value, str) and value.startswith(self.marker):
            return self.longs[int(value[len(self.marker) :])]
        return value

    @property
    def valid(self) -> bool:
        return all(s.valid for s in self.longs)

    def close(self) -> None:
        for s in self.longs:
            try:
                os.unlink(s.path)
            except FileNotFoundError:
                pass


def split_long_strings(chunks: Iterable[bytes], tmpdir: str) -> Skeleton:
    """Stream JSON text; spool strings longer than LONG_STRING_BYTES to temp files."""
    marker = f"\x00ngshare-long-{secrets.token_hex(8)}-"
    skeleton = bytearray()
    longs: list[LongString] = []
    in_string = False
    escape_next = False
    small = bytearray()
    spool = None  # the open file of the current long string
    current: LongString | None = None

    def append(piece: bytes) -> None:
        nonlocal spool, current, small
        if not piece:
            return
        if spool is None and len(small) + len(piece) > LONG_STRING_BYTES:
            fd, path = tempfile.mkstemp(dir=tmpdir, prefix="tree-")
            spool = os.fdopen(fd, "wb")
            current = LongString(path)
            longs.append(current)
            spool.write(small)
            _inspect(current, small)
            small = bytearray()
        if spool is not None:
            assert current is not None
            spool.write(piece)
            _inspect(current, piece)
        else:
            small.extend(piece)

    try:
        for data in chunks:
            i, n = 0, len(data)
            while i < n:
                if not in_string:
                    j = data.find(b'"', i)
                    if j == -1:
                        skeleton += data[i:]
                        break
                    skeleton += data[i : j + 1]
                    in_string, i = True, j + 1
                    continue
                if escape_next:
                    append(data[i : i + 1])
                    escape_next, i = False, i + 1
                    continue
                m = _QUOTE_OR_BACKSLASH.search(data, i)
                if m is None:
                    append(data[i:])
                    break
                j = m.start()
                if data[j] == 0x5C:  # backslash: keep it and the next character
                    append(data[i : j + 1])
                    if current is not None and spool is not None:
                        current.has_escape = True
                    escape_next, i = True, j + 1
                    continue
                append(data[i:j])
                if spool is not None:
                    spool.close()
                    spool = None
                    skeleton += f"{marker}{len(longs) - 1}".encode("ascii").replace(
                        b"\x00", b"\\u0000"
                    )
                    current = None
                else:
                    skeleton += small
                    small = bytearray()
                skeleton += b'"'
                in_string, i = False, j + 1
    finally:
        if spool is not None:  # unterminated string: the skeleton will not parse
            spool.close()
    if in_string:
        skeleton += small
    return Skeleton(bytes(skeleton), marker, longs, tmpdir)


def _inspect(s: LongString, piece: bytes | bytearray) -> None:
    if s.valid and _CONTROL.search(piece):
        s.valid = False
    if s.ascii_only and not piece.isascii():
        s.ascii_only = False
    if not s.has_escape and b"\\" in piece:
        s.has_escape = True


__all__ = ["LongString", "Skeleton", "split_long_strings", "_NeedsWholeDecode"]
