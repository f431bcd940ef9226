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

import os
import re
import secrets
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from ngshare.exchange import codec

LONG_STRING_BYTES = 64 * 1024
MEMORY_BYTES = 8 * 1024 * 1024  # long strings beyond this are spilled to a temp file
DECODE_CHUNK_CHARS = 4 * (1 << 18)  # a multiple of 4: base64 pieces decode on their own


@dataclass
class LongString:
    """The raw (still JSON-escaped) text of one long string.

    Held in memory up to ``MEMORY_BYTES`` (typical notebooks), spilled to a
    temp file beyond that (large data files), so memory stays bounded.
    """

    memory: bytearray | None = field(default_factory=bytearray)
    path: str | None = None
    has_escape: bool = False
    valid: bool = True  # no raw control characters (JSON forbids them in strings)
    ascii_only: bool = True
    pure_base64: bool = True  # nothing but the base64 alphabet (the usual content)
    #: the content, when the string was canonical base64 held in memory (see :meth:`settle`)
    decoded: bytes | None = None

    def settle(self) -> None:
        """The string is complete: check it, if held in memory, in one step.

        Canonical base64 (what clients send) passes the SIMD decoder's strict
        check, which also yields the content, kept for staging; so does
        line-wrapped base64 once its ``\\n`` escapes are dropped. Anything
        else is inspected byte class by byte class. (Spilled strings were inspected
        piece by piece as they arrived.)
        """
        if self.memory is None:
            return
        try:
            self.decoded = codec.decode_canonical(self.memory)
            return
        except ValueError:
            pass
        if b"\\" in self.memory and self._settle_wrapped():
            return
        _inspect(self, self.memory)

    def _settle_wrapped(self) -> bool:
        """Line-wrapped base64 (``encodebytes``: nbgrader's feedback) in one step.

        When dropping its ``\\n`` escapes leaves canonical base64, the string
        held nothing else (so it is valid, ASCII JSON), and that is its content:
        the lenient decoder skips the newlines.
        """
        text = _without_newline_escapes(self.memory)
        if text is None:
            return False
        try:
            self.decoded = codec.decode_canonical(text)
        except ValueError:
            return False
        self.has_escape, self.pure_base64 = True, False
        return True

    def pieces(self, size: int) -> Iterator[bytes]:
        if self.memory is not None:
            view = memoryview(self.memory)
            for i in range(0, len(view), size):
                yield bytes(view[i : i + size])
            return
        assert self.path is not None
        with open(self.path, "rb") as f:
            while piece := f.read(size):
                yield piece

    def raw(self) -> bytes:
        return b"".join(self.pieces(1 << 24))

    @property
    def size(self) -> int:
        """Bytes of raw text held."""
        if self.memory is not None:
            return len(self.memory)
        return os.path.getsize(self.path) if self.path else 0

    def text(self) -> str:
        """The decoded string (in memory: only for uncommon long strings)."""
        import json

        raw = self.raw()
        if not self.has_escape:
            return raw.decode("utf-8", "surrogateescape")
        return json.loads(b'"' + raw + b'"')

    def base64_chunks(self) -> Iterator[bytes] | None:
        """Decoded bytes in pieces, if the text is plain base64 (else None: decode whole)."""
        if self.decoded is not None:
            return iter([self.decoded])
        if not self.ascii_only:
            return None
        if self.has_escape:
            return self._wrapped_base64()
        if not self.pure_base64:
            head = next(self.pieces(DECODE_CHUNK_CHARS), b"")
            if _has_non_base64(head):
                return None
        return self._decode_pieces()

    def _wrapped_base64(self) -> Iterator[bytes] | None:
        """Line-wrapped base64 (``encodebytes``, as nbgrader sends feedback) held in memory.

        Its only JSON escapes are ``\\n``: when every backslash starts one,
        dropping them leaves plain base64, decoded in one call instead of
        ``json.loads`` first. Anything else goes the general way (None).
        """
        if self.memory is None:
            return None
        text = _without_newline_escapes(self.memory)
        if text is None:
            return None
        # the general path ignores non-alphabet characters too, as codec.decode does
        return iter([codec.decode(text)])

    def _decode_pieces(self) -> Iterator[bytes]:
        pieces = self.pieces(DECODE_CHUNK_CHARS)
        piece = next(pieces, b"")
        while piece:
            following = next(pieces, b"")
            if (not self.pure_base64 and _has_non_base64(piece)) or (following and b"=" in piece):
                raise _NeedsWholeDecode
            yield codec.decode(piece)
            piece = following

    def close(self) -> None:
        self.memory = self.decoded = None
        if self.path is not None:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass


_NEWLINE_ESCAPE = re.compile(rb"\\n")
_BASE64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
_CONTROL_BYTES = bytes(range(32))


def _without_newline_escapes(raw: bytes | bytearray) -> bytes | None:
    """``raw`` without its ``\\n`` escapes, or None if it holds another escape."""
    text = _without_line_breaks(raw)
    if text is not None and b"\\" not in text:
        return text  # the same text the regex leaves (every escape was a line break)
    text = _NEWLINE_ESCAPE.sub(b"", raw)  # uneven lines (a regex beats bytes.replace)
    return None if b"\\" in text else text


def _without_line_breaks(raw: bytes | bytearray) -> bytearray | None:
    """Fixed-width lines each ending in ``\\n`` (as ``encodebytes`` writes), joined; else None.

    Two extended-slice deletions drop every line break at C speed, 6x faster
    than the regex. If a backslash is left, the text held other escapes too.
    """
    width = raw.find(b"\\n")
    if width <= 0:
        return None
    step = width + 2
    text = bytearray(raw)
    if text.endswith(b"\\n"):  # the last line's break (that line may be shorter)
        del text[-2:]
    backslashes, ns = text[width::step], text[width + 1 :: step]
    if len(ns) != len(backslashes) or backslashes.count(b"\\") + ns.count(b"n") != 2 * len(ns):
        return None
    del text[width::step]  # the backslashes, then the n's after them
    del text[width :: width + 1]
    return text


def _has_non_base64(piece: bytes) -> bool:
    """Any byte outside the base64 alphabet? (``translate`` runs at C speed.)"""
    return bool(piece.translate(None, _BASE64_ALPHABET))


def _has_control(piece: bytes | bytearray) -> bool:
    return len(piece.translate(None, _CONTROL_BYTES)) != len(piece)


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
            s.close()


def split_long_strings(chunks: Iterable[bytes], tmpdir: str) -> Skeleton:
    """Stream JSON text; spool strings longer than LONG_STRING_BYTES to temp files."""
    marker = f"\x00ngshare-long-{secrets.token_hex(8)}-"
    skeleton = bytearray()
    longs: list[LongString] = []
    in_string = False
    escape_next = False
    small = bytearray()
    current: LongString | None = None  # the long string being read

    def append(piece: bytes) -> None:
        nonlocal current, small
        if not piece:
            return
        if current is None and len(small) + len(piece) > LONG_STRING_BYTES:
            current = LongString(memory=small)
            longs.append(current)
            small = bytearray()
        if current is None:
            small.extend(piece)
            return
        if current.memory is not None:  # checked whole when complete (settle)
            current.memory.extend(piece)
            if len(current.memory) > MEMORY_BYTES:  # spill a large string to disk
                _inspect(current, current.memory)  # from now on, piece by piece
                fd, current.path = tempfile.mkstemp(dir=tmpdir, prefix="tree-")
                with os.fdopen(fd, "wb") as f:
                    f.write(current.memory)
                current.memory = None
        else:
            assert current.path is not None
            _inspect(current, piece)
            with open(current.path, "ab") as f:
                f.write(piece)

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
                j = _closing_quote(data, i)
                if j == -1:
                    append(data[i:])
                    # an odd run of backslashes at the end escapes the next chunk's first byte
                    escape_next = _trailing_backslashes(data, i) % 2 == 1
                    break
                append(data[i:j])
                if current is not None:
                    current.settle()
                    skeleton += f"{marker}{len(longs) - 1}".encode("ascii").replace(
                        b"\x00", b"\\u0000"
                    )
                    current = None
                else:
                    skeleton += small
                    small = bytearray()
                skeleton += b'"'
                in_string, i = False, j + 1
    except BaseException:
        for long in longs:
            long.close()
        raise
    if in_string:
        skeleton += small
        if current is not None:
            current.settle()
    return Skeleton(bytes(skeleton), marker, longs, tmpdir)


def _closing_quote(data: bytes, start: int) -> int:
    """Index of the first unescaped '"' at or after ``start``, or -1.

    Only quotes are visited (memchr), and for each the backslashes just before
    it are counted: an odd run escapes it. ``start`` is never inside an escape.
    """
    j = data.find(b'"', start)
    while j != -1 and _trailing_backslashes(data, start, j) % 2 == 1:
        j = data.find(b'"', j + 1)
    return j


def _trailing_backslashes(data: bytes, start: int, end: int | None = None) -> int:
    """How many backslashes end ``data[start:end]``."""
    end = len(data) if end is None else end
    k = end - 1
    while k >= start and data[k] == 0x5C:
        k -= 1
    return end - 1 - k


def _inspect(s: LongString, piece: bytes | bytearray) -> None:
    # one C pass for the usual case: pure base64 cannot hold controls, escapes or non-ASCII
    piece = piece.translate(None, _BASE64_ALPHABET)
    if not piece:
        return
    s.pure_base64 = False
    if s.valid and _has_control(piece):
        s.valid = False
    if s.ascii_only and not piece.isascii():
        s.ascii_only = False
    if not s.has_escape and b"\\" in piece:
        s.has_escape = True


__all__ = ["LongString", "Skeleton", "split_long_strings", "_NeedsWholeDecode"]
