"""Form bodies without copies: urlencoded fields indexed in a spooled body.

Tornado parses a form body by holding it, its decoded text and every value in
memory at once; for a 700 MB ``files`` field that is gigabytes. Here a large
urlencoded body stays in its spool file: :func:`index_urlencoded` finds the
fields, small values are decoded at once, and a large value is read back as
percent-decoded chunks by :func:`iter_value` when (and only if) it is used.
All functions block: call them on a worker thread.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO
from urllib.parse import unquote_to_bytes

from tornado import httputil

SCAN_BYTES = 1 << 20
#: Values up to this size are decoded into memory when the body is indexed.
SMALL_VALUE_BYTES = 64 * 1024


@dataclass
class SpooledForm:
    """Form fields: small values decoded, large ones as byte ranges of the spool."""

    values: dict[str, list[bytes]] = field(default_factory=dict)
    ranges: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    spool: BinaryIO | None = None

    def chunks(self, name: str) -> Iterator[bytes] | None:
        """The last value of ``name`` as decoded chunks, or None if absent."""
        if name in self.ranges and self.spool is not None:
            start, end = self.ranges[name][-1]
            return iter_value(self.spool, start, end)
        if name in self.values:
            return iter([self.values[name][-1]])
        return None

    def close(self) -> None:
        if self.spool is not None:
            self.spool.close()
            self.spool = None


#: The most fields a form body (or a query string) may have; more is a 400.
MAX_FIELDS = 1000
ERR_TOO_MANY_FIELDS = f"Too many form fields (at most {MAX_FIELDS})"
ERR_MALFORMED = "Malformed form body"


class FormError(ValueError):
    """A form body that cannot be read; the message is for the client."""


def check_field_count(encoded: bytes | str) -> None:
    """Refuse a urlencoded body or query string of more than :data:`MAX_FIELDS` fields."""
    separator = b"&" if isinstance(encoded, bytes) else "&"
    if encoded.count(separator) >= MAX_FIELDS:  # type: ignore[arg-type]
        raise FormError(ERR_TOO_MANY_FIELDS)


def parse_small(content_type: str, body: bytes) -> SpooledForm:
    """Any form type held in memory (urlencoded or multipart), parsed by Tornado.

    :raises FormError: too many fields, or a body Tornado cannot parse.
    """
    form = SpooledForm()
    if body:
        files: dict[str, list[httputil.HTTPFile]] = {}
        if is_urlencoded(content_type):
            check_field_count(body)
        try:
            httputil.parse_body_arguments(content_type, body, form.values, files)
        except httputil.HTTPInputError:
            raise FormError(ERR_MALFORMED) from None
        for name, uploads in files.items():
            form.values.setdefault(name, []).extend(f.body for f in uploads)
    return form


def is_urlencoded(content_type: str) -> bool:
    return content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded"


#: :func:`has_few_fields`: at most this many fields. Indexing them decodes
#: every value up to ``SMALL_VALUE_BYTES``, so this bounds that work.
FEW_FIELDS = 8


def has_few_fields(body: bytes) -> bool:
    """Does the urlencoded ``body`` hold at most ``FEW_FIELDS`` fields? (memchr only)"""
    pos = 0
    for _ in range(FEW_FIELDS):
        pos = body.find(b"&", pos) + 1
        if pos == 0:
            return True
    return False


def parse_spooled(content_type: str, spool: BinaryIO) -> SpooledForm:
    """A large body: urlencoded ones are indexed in place, others parsed whole."""
    if not is_urlencoded(content_type):
        with spool:
            spool.seek(0)
            return parse_small(content_type, spool.read())
    form = SpooledForm(spool=spool)
    try:
        for count, (name, start, end) in enumerate(_field_ranges(spool), 1):
            if count > MAX_FIELDS:
                raise FormError(ERR_TOO_MANY_FIELDS)
            if end - start <= SMALL_VALUE_BYTES:
                spool.seek(start)
                form.values.setdefault(name, []).append(_unquote_plus(spool.read(end - start)))
            else:
                form.ranges.setdefault(name, []).append((start, end))
                form.values.pop(name, None)  # a later value replaces earlier ones
    except BaseException:
        form.close()  # the spool file goes now, not when the collector finds it
        raise
    return form


def _field_ranges(spool: BinaryIO) -> Iterator[tuple[str, int, int]]:
    """(name, value start, value end) of each ``name=value`` pair, in order."""
    spool.seek(0)
    offset = 0
    field_start = 0
    equals = -1
    while True:
        spool.seek(offset)  # the consumer reads the spool between our steps
        chunk = spool.read(SCAN_BYTES)
        if not chunk:
            break
        pos = 0
        while True:
            amp = chunk.find(b"&", pos)
            stop = len(chunk) if amp == -1 else amp
            if equals < 0:
                eq = chunk.find(b"=", pos, stop)
                if eq != -1:
                    equals = offset + eq
            if amp == -1:
                break
            yield from _finish_field(spool, field_start, equals, offset + amp)
            field_start, equals, pos = offset + amp + 1, -1, amp + 1
        offset += len(chunk)
    yield from _finish_field(spool, field_start, equals, offset)


def _finish_field(spool: BinaryIO, start: int, equals: int, end: int):
    if end <= start:
        return
    name_end = equals if equals >= 0 else end
    spool.seek(start)
    name = _unquote_plus(spool.read(name_end - start)).decode("utf-8", "replace")
    value_start = equals + 1 if equals >= 0 else end
    yield name, value_start, end


def iter_value(spool: BinaryIO, start: int, end: int) -> Iterator[bytes]:
    """Percent-decode ``spool[start:end]`` in chunks (escapes may straddle chunks)."""
    pos = start
    carry = b""
    while pos < end:
        spool.seek(pos)
        raw = carry + spool.read(min(SCAN_BYTES, end - pos))
        pos = spool.tell()
        if not raw:
            break
        cut = raw.rfind(b"%", max(0, len(raw) - 2))
        if cut != -1 and pos < end:
            raw, carry = raw[:cut], raw[cut:]
        else:
            carry = b""
        yield _unquote_plus(raw)
    if carry:
        yield _unquote_plus(carry)


def _unquote_plus(raw: bytes) -> bytes:
    """``unquote_to_bytes`` with '+' as space, at C speed for escape-dense values.

    A urlencoded base64 payload has an escape every few dozen bytes, and
    ``unquote_to_bytes`` spends Python work on each. ``codecs.escape_decode``
    does the same job in one C pass once every '%' is spelled ``\\x`` (and every
    backslash doubled, so no other escape can appear); malformed escapes, which
    it refuses, fall back to the lenient standard decoder.
    """
    raw = raw.replace(b"+", b" ")
    if b"%" not in raw:
        return raw
    escaped = raw.replace(b"\\", b"\\\\").replace(b"%", b"\\x")
    try:
        return codecs.escape_decode(escaped)[0]
    except ValueError:
        return unquote_to_bytes(raw)
