"""Checking answers: the envelope, and every downloaded file against what was uploaded.

A fast server that returns the wrong bytes is not fast, so each download is
compared with the uploaded content, and the server's reported ``checksum``
with the md5 of that content. Both references are computed once, before the
phase: the driver's CPU during a phase competes with the server's.
"""

from __future__ import annotations

import asyncio
import binascii
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from benchmarks.httpclient import Response
from benchmarks.payloads import Blob

T = TypeVar("T")


def envelope(resp: Response) -> dict | None:
    """The JSON answer if it is a ``{"success": true, ...}`` object, else None."""
    if resp.status != 200 or resp.error:
        return None
    try:
        doc = resp.json()
    except ValueError:
        return None
    if isinstance(doc, dict) and doc.get("success") is True:
        return doc
    return None


def verify_files(doc: dict, expected: list[Blob]) -> tuple[int, list[str]]:
    """Compare a ``files`` list with the uploaded blobs; returns (verified, problems)."""
    files = doc.get("files")
    if not isinstance(files, list):
        return 0, ["answer has no files list"]
    got = {f.get("path"): f for f in files if isinstance(f, dict)}
    problems = []
    if sorted(got) != sorted(b.path for b in expected) or len(files) != len(expected):
        problems.append(f"paths {sorted(got)} != {sorted(b.path for b in expected)}")
    verified = 0
    for blob in expected:
        entry = got.get(blob.path)
        if entry is None:
            continue
        content = entry.get("content")
        if not isinstance(content, str):
            problems.append(f"{blob.path}: no content")
            continue
        # Canonical base64 is unique per byte string, so equal text means equal
        # bytes; only a non-canonical (or wrong) encoding needs a full decode.
        if content != blob.b64 and content.replace("\n", "") != blob.b64:
            try:
                data = binascii.a2b_base64(content)
            except (binascii.Error, ValueError):
                problems.append(f"{blob.path}: content is not base64")
                continue
            if data != blob.data:
                problems.append(f"{blob.path}: bytes differ ({len(data)} vs {len(blob.data)})")
                continue
        if entry.get("checksum") != blob.md5:
            problems.append(f"{blob.path}: checksum {entry.get('checksum')} != md5 {blob.md5}")
        else:
            verified += 1
    return verified, problems


class ReferenceAnswer:
    """One answer checked in full on behalf of every byte-identical copy of it.

    Every student fetches the same release, so the server's answers are
    byte-identical. The first answer with status 200 becomes the reference;
    a later one equal to it (one memcmp) is counted as its copy, and the
    reference is checked in full *after* the phase, so the driver does not
    stall its first wave of answers for a 7.5 MB JSON parse. An answer that
    differs in any byte is not claimed: the caller checks it in full at once.
    """

    def __init__(self) -> None:
        self.response: Response | None = None
        self.copies = 0  # answers equal to the reference, itself included

    def claim(self, resp: Response) -> bool:
        """Is ``resp`` the reference or a copy of it? (Then it is checked later.)"""
        if resp.status != 200 or resp.error:
            return False
        if self.response is None:
            self.response = resp
        elif resp.body != self.response.body:
            return False
        self.copies += 1
        return True


async def each(
    items: Iterable[T],
    concurrency: int,
    fn: Callable[[T], Awaitable[Any]],
    on_error: Callable[[str], None],
) -> None:
    """Run ``fn`` over ``items`` with at most ``concurrency`` in flight (a fixed worker pool).

    An exception in one item is reported through ``on_error`` and does not
    stop the others.
    """
    it = iter(items)

    async def worker() -> None:
        for item in it:
            try:
                await fn(item)
            except Exception as e:  # noqa: BLE001 - a benchmark reports, it does not stop
                on_error(f"{type(e).__name__}: {e}")

    await asyncio.gather(*(worker() for _ in range(max(1, concurrency))))
