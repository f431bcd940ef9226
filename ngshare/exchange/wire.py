"""The exchange's wire formats: encoded directory trees and timestamps.

An upload is a JSON list of ``{"path", "content"}`` (base64) objects in a form
field; the server computes every checksum itself. Timestamps are naive UTC
datetimes shown as ``%Y-%m-%d %H:%M:%S.%f UTC``; that text sorts like time.
"""

from __future__ import annotations

import binascii
import json
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from ngshare.exchange import errors
from ngshare.models import utcnow
from ngshare.storage import BlobStore, StagedBlob
from ngshare.web import ApiError

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
TIMESTAMP_SUFFIX = " UTC"


@dataclass
class UploadedFile:
    """One file of an accepted upload, staged in the blob store."""

    path: str
    blob: StagedBlob


def is_legal_path(path: object) -> bool:
    """A relative Unix path whose parts are all real names (no '', '.', '..')."""
    if not isinstance(path, str) or not path or "\x00" in path:
        return False
    return all(part not in ("", ".", "..") for part in path.split("/"))


def stage_files(raw: str | None, store: BlobStore) -> list[UploadedFile]:
    """Validate an encoded directory tree and stage its files (blocking).

    Checks run in ngshare's order: presence, JSON, then per file its path and
    its base64 content. On any error nothing staged so far is kept.
    """
    if raw is None:
        raise ApiError(400, errors.ERR_FILES_MISSING)
    try:
        entries = json.loads(raw)
    except ValueError:
        raise ApiError(400, errors.ERR_FILES_JSON) from None
    del raw
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ApiError(400, errors.ERR_FILES_JSON)
    staged: list[UploadedFile] = []
    seen: set[str] = set()
    try:
        for i, entry in enumerate(entries):
            path = entry.get("path")
            if not is_legal_path(path) or path in seen:
                raise ApiError(400, errors.ERR_ILLEGAL_PATH)
            seen.add(path)
            content = entry.get("content")
            if not isinstance(content, str):
                raise ApiError(400, errors.ERR_CONTENT_BASE64)
            try:
                data = binascii.a2b_base64(content, strict_mode=False)
            except ValueError:  # binascii.Error, or non-ASCII text
                raise ApiError(400, errors.ERR_CONTENT_BASE64) from None
            entries[i] = None  # let the encoded copy go as soon as it is decoded
            staged.append(UploadedFile(path=path, blob=store.stage(data)))
            del data, content, entry
    except BaseException:
        store.discard([f.blob for f in staged])
        raise
    return staged


def format_timestamp(ts: datetime) -> str:
    return ts.strftime(TIMESTAMP_FORMAT) + TIMESTAMP_SUFFIX


def parse_timestamp(text: str) -> datetime | None:
    """Parse a wire timestamp, with or without the ' UTC' suffix; None if malformed."""
    text = text.strip()
    if text.endswith(TIMESTAMP_SUFFIX):
        text = text[: -len(TIMESTAMP_SUFFIX)]
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
