"""The exchange's wire formats: encoded directory trees and timestamps.

An upload is a JSON list of ``{"path", "content"}`` (base64) objects in a form
field; the server computes every checksum itself. Timestamps are naive UTC
datetimes shown as ``%Y-%m-%d %H:%M:%S.%f UTC``; that text sorts like time.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from ngshare.exchange import codec, errors
from ngshare.exchange.tree import LongString, _NeedsWholeDecode, split_long_strings
from ngshare.plugin_api import ApiError, BlobStore, StagedBlob, utcnow

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
TIMESTAMP_SUFFIX = " UTC"


@dataclass
class UploadedFile:
    """One file of an accepted upload, staged in the blob store."""

    path: str
    blob: StagedBlob


MAX_PATH_LENGTH = 4096


def is_legal_path(path: object) -> bool:
    """A relative Unix path whose parts are all real names (no '', '.', '..')."""
    if not isinstance(path, str) or not path or len(path) > MAX_PATH_LENGTH or "\x00" in path:
        return False
    return all(part not in ("", ".", "..") for part in path.split("/"))


def stage_files(chunks: Iterable[bytes] | None, store: BlobStore) -> list[UploadedFile]:
    """Validate an encoded directory tree and stage its files (blocking).

    ``chunks`` is the field's bytes in pieces (see :mod:`ngshare.forms`). Checks
    run in ngshare's order: presence, JSON, then per file its path and its
    base64 content. On any error nothing staged so far is kept.
    """
    if chunks is None:
        raise ApiError(400, errors.ERR_FILES_MISSING)
    with store.writing():
        return _stage_tree(chunks, store)


def _stage_tree(chunks: Iterable[bytes], store: BlobStore) -> list[UploadedFile]:
    skeleton = split_long_strings(chunks, str(store.tmp))
    try:
        if not skeleton.valid:
            raise ApiError(400, errors.ERR_FILES_JSON)
        try:
            entries = json.loads(skeleton.text)
        except ValueError:
            raise ApiError(400, errors.ERR_FILES_JSON) from None
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise ApiError(400, errors.ERR_FILES_JSON)
        paths: list[str] = []
        path_error = None  # the first illegal path; files before it are still checked first
        for entry in entries:
            path = skeleton.resolve(entry.get("path"))
            if isinstance(path, LongString):  # decode it only if it could be a legal length
                path = path.text() if path.size <= 6 * MAX_PATH_LENGTH else None
            if not is_legal_path(path) or path in paths:
                path_error = ApiError(400, errors.ERR_ILLEGAL_PATH)
                break
            paths.append(path)
        contents = [skeleton.resolve(e.get("content")) for e in entries[: len(paths)]]
        outcomes = _stage_all(contents, store)
        staged = [o for o in outcomes if not isinstance(o, BaseException)]
        failures = [o for o in outcomes if isinstance(o, BaseException)]
        if failures or path_error is not None:
            store.discard(staged)
            raise failures[0] if failures else path_error
    finally:
        skeleton.close()
    return [UploadedFile(path=p, blob=b) for p, b in zip(paths, staged, strict=True)]


def _stage_all(contents: list[object], store: BlobStore) -> list[StagedBlob | BaseException]:
    """Stage every content; each result is the blob or the error of that file, in order."""

    def one(content: object) -> StagedBlob | BaseException:
        try:
            return _stage_content(content, store)
        except Exception as e:  # noqa: BLE001 - returned, raised in file order by the caller
            return e

    # Files small enough to be held in memory are staged in order: their md5 is
    # computed aside already, and a sha256 costs less than a hand-off.
    if all(_held_in_memory(c, store) for c in contents):
        return [one(c) for c in contents]
    return store.map_side_by_side(one, contents)


def _held_in_memory(content: object, store: BlobStore) -> bool:
    """Is staging ``content`` only a sha256 (its md5 computed aside), too little to hand off?"""
    if isinstance(content, LongString):
        return content.decoded is not None and store.stages_in_memory(len(content.decoded))
    return isinstance(content, str) and store.stages_in_memory(len(content))


def _stage_content(content: object, store: BlobStore) -> StagedBlob:
    """Decode base64 content (a string, or a long string spooled on disk) into a blob."""
    try:
        if isinstance(content, LongString):
            pieces = content.base64_chunks()
            if pieces is not None:
                try:
                    return store.stage_stream(pieces)
                except _NeedsWholeDecode:
                    pass
            content = content.text()
        if not isinstance(content, str):
            raise ApiError(400, errors.ERR_CONTENT_BASE64)
        return store.stage(codec.decode(content))
    except ValueError:  # binascii.Error, non-ASCII text, bad escapes
        raise ApiError(400, errors.ERR_CONTENT_BASE64) from None


def format_timestamp(ts: datetime) -> str:
    """``%Y-%m-%d %H:%M:%S.%f UTC`` (isoformat is that, and ~10x cheaper than strftime)."""
    if ts.year < 1000:  # strftime does not zero-pad such years; keep its text
        return ts.strftime(TIMESTAMP_FORMAT) + TIMESTAMP_SUFFIX
    return ts.replace(tzinfo=None).isoformat(" ", "microseconds") + TIMESTAMP_SUFFIX


#: The form this server writes (six fraction digits): parsed by the C parser.
_CANONICAL_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", re.ASCII)


def parse_timestamp(text: str) -> datetime | None:
    """Parse a wire timestamp, with or without the ' UTC' suffix; None if malformed.

    Timestamps in the form this server writes go through ``fromisoformat``
    (0.1 µs, against 4.6 µs for ``strptime``, which a feedback upload ran
    twice); on that form both give the same datetime, and every other text,
    or an impossible date, is left to ``strptime``.
    """
    text = text.strip()
    if text.endswith(TIMESTAMP_SUFFIX):
        text = text[: -len(TIMESTAMP_SUFFIX)]
    if _CANONICAL_TIMESTAMP.fullmatch(text):
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            pass
    try:
        return datetime.strptime(text, TIMESTAMP_FORMAT)
    except ValueError:
        return None


class SubmissionClock:
    """Hands out submission timestamps that strictly increase within a process.

    ngshare's clients look submissions up by their exact timestamp, so two
    submits in the same microsecond must not share one.
    """

    def __init__(self) -> None:
        self._last = datetime.min
        self._lock = threading.Lock()

    def advance_past(self, ts: datetime | None) -> None:
        """Never hand out a timestamp at or before ``ts`` (e.g. the newest stored)."""
        if ts is not None:
            with self._lock:
                self._last = max(self._last, ts)

    def next(self) -> datetime:
        with self._lock:
            now = utcnow()
            if now <= self._last:
                now = self._last + timedelta(microseconds=1)
            self._last = now
            return now
