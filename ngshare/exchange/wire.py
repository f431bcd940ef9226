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
#: The longest directory entry a client can create (ext4, XFS, btrfs, APFS: 255 bytes).
MAX_NAME_BYTES = 255
#: The longest text the ``String(255)`` columns (ids, roster names) hold on PostgreSQL.
MAX_TEXT_CHARS = 255


def is_storable(text: object, max_chars: int = MAX_TEXT_CHARS) -> bool:
    """Text both databases store alike: valid UTF-8, no NUL, at most ``max_chars``.

    PostgreSQL refuses NUL and over-long text where SQLite keeps them, and
    neither can store a lone surrogate (from ``\\ud800`` or bytes that are not
    UTF-8): such text is an input error, never a database one.
    """
    if not isinstance(text, str) or len(text) > max_chars or "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def is_legal_name(name: object) -> bool:
    """One directory entry every client can create: an id, or one part of a path.

    Course, assignment and student ids become directories on the clients'
    disks (nbgrader's ``course_id/assignment_id``, ``submitted/student_id``),
    so they follow the rule of a path's parts: 1 to 255 bytes of UTF-8, not
    ``.`` or ``..``, no ``/``, ``\\`` (a separator on Windows, where ``..\\x``
    would escape) or NUL.
    """
    if not isinstance(name, str) or name in ("", ".", ".."):
        return False
    if "/" in name or "\\" in name or "\x00" in name:
        return False
    try:
        return len(name.encode("utf-8")) <= MAX_NAME_BYTES
    except UnicodeEncodeError:
        return False


def is_legal_path(path: object) -> bool:
    """A relative path of legal names joined by '/' (see :func:`is_legal_name`)."""
    if not isinstance(path, str) or not path or len(path) > MAX_PATH_LENGTH:
        return False
    return all(is_legal_name(part) for part in path.split("/"))


class PathTree:
    """The paths of one upload as a tree of names, to refuse what no disk can hold.

    A path taken twice, or a file that is also a directory (``a`` and
    ``a/b``), cannot both be written; each check walks the path's parts once,
    so an upload is checked in time linear in its size.
    """

    _FILE = None  # the leaf of a file; a directory is a dict of its entries

    def __init__(self) -> None:
        self.root: dict = {}

    def add(self, path: str) -> bool:
        """Record ``path``; False if it clashes with a path added before."""
        node = self.root
        *dirs, name = path.split("/")
        for part in dirs:
            child = node.setdefault(part, {})
            if child is self._FILE:
                return False
            node = child
        if name in node:
            return False
        node[name] = self._FILE
        return True


def stage_files(
    chunks: Iterable[bytes] | None, store: BlobStore, max_files: int | None = None
) -> list[UploadedFile]:
    """Validate an encoded directory tree and stage its files (blocking).

    ``chunks`` is the field's bytes in pieces (see :mod:`ngshare.forms`). Checks
    run in ngshare's order: presence, JSON, then (ours) at most ``max_files``
    files, then per file its path and its base64 content. On any error nothing
    staged so far is kept.
    """
    if chunks is None:
        raise ApiError(400, errors.ERR_FILES_MISSING)
    with store.writing():
        return _stage_tree(chunks, store, max_files)


def _stage_tree(
    chunks: Iterable[bytes], store: BlobStore, max_files: int | None
) -> list[UploadedFile]:
    skeleton = split_long_strings(chunks, str(store.tmp))
    try:
        if not skeleton.valid:
            raise ApiError(400, errors.ERR_FILES_JSON)
        entries = load_json(skeleton.text, errors.ERR_FILES_JSON)
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise ApiError(400, errors.ERR_FILES_JSON)
        if max_files is not None and len(entries) > max_files:
            raise ApiError(413, errors.too_many_files(max_files))
        paths: list[str] = []
        tree = PathTree()
        path_error = None  # the first illegal path; files before it are still checked first
        for entry in entries:
            path = skeleton.resolve(entry.get("path"))
            if isinstance(path, LongString):  # decode it only if it could be a legal length
                path = path.text() if path.size <= 6 * MAX_PATH_LENGTH else None
            if not is_legal_path(path) or not tree.add(path):
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


def load_json(text: str | bytes, message: str) -> object:
    """``json.loads``, with any undecodable text (nested too deep too) a 400 ``message``."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise ApiError(400, message) from None


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
