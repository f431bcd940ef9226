"""The exchange's handler base: ngshare's envelope and file-list responses."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, BinaryIO

from ngshare.exchange import codec, errors, small_reads
from ngshare.exchange.config import Exchange
from ngshare.exchange.models import FileEntry
from ngshare.exchange.response_cache import build_body, entry_json
from ngshare.exchange.wire import UploadedFile, stage_files
from ngshare.plugin_api import ApiError, APIHandler, BlobStore, StorageError

#: Bytes of a blob encoded per step of a streamed download (a multiple of 3,
#: so the base64 pieces join into one valid string).
ENCODE_CHUNK_BYTES = 3 * (1 << 18)
#: Uploads larger than this are checked (one transaction) before they are
#: decoded, so a refused caller cannot make the server decode a huge body;
#: smaller ones cost less to stage than that extra transaction does.
PRECHECK_BYTES = 8 << 20
#: Downloads whose files total at most this are encoded in one worker step and
#: sent with a Content-Length; larger ones are streamed piece by piece.
WHOLE_BODY_BYTES = 4 << 20


#: The URL groups naming courses, assignments and people.
URL_IDS = frozenset({"course_id", "assignment_id", "student_id", "instructor_id"})


class ExchangeHandler(APIHandler):
    """Base of every exchange route: ``{"success": ..}`` envelopes, files streamed."""

    unauthenticated_message = errors.ERR_LOGIN_REQUIRED

    def decode_argument(self, value: bytes, name: str | None = None) -> str:
        """URL ids that are not UTF-8 reach the checks (as lone surrogates) instead of a bare 400.

        Then such an id is "not found" when looked up and "Illegal ... id" when
        created, like every other id no database stores (see ``access.can_exist``).
        """
        if name in URL_IDS:
            return value.decode("utf-8", "surrogateescape")
        return super().decode_argument(value, name)

    async def receive_upload(self, check: Callable, record: Callable, *args: Any, **kw: Any):
        """Take the ``files`` field: check, stage, then record in one transaction.

        ``check(session, *args)`` raises the request's non-file errors in
        ngshare's order; ``record(session, *args, files=..., **kw)`` repeats
        them and writes the rows. A large upload is checked before it is
        decoded (so refused callers cost little); a small one is staged first
        and checked only when it is refused, so the usual success costs one
        database round trip ("large" is over ``PRECHECK_BYTES``). Either way
        a check error wins over a file error, and the blobs become durable
        inside the recording transaction, before its rows commit.
        """
        checked = False
        if self.argument_size("files") > PRECHECK_BYTES:
            await self.ctx.db.run(check, *args)
            checked = True
        try:
            files = await self.ctx.run_blocking(
                stage_files,
                self.argument_chunks("files"),
                self.ctx.storage,
                self.ctx.state(Exchange).max_files_per_upload,
            )
        except ApiError:
            if not checked:
                await self.ctx.db.run(check, *args)
            raise
        try:
            if not self.ctx.storage.files.local:
                await self._store_ahead(files, check, checked, args)
            return await self.ctx.db.run(
                _record_with_blobs, record, self.ctx.storage, files, *args, **kw
            )
        except BaseException:
            # staged files the transaction did not commit: remove them
            await self.ctx.run_blocking(self.ctx.storage.discard, [f.blob for f in files])
            raise

    async def _store_ahead(
        self, files: list[UploadedFile], check: Callable, checked: bool, args: tuple
    ) -> None:
        """A remote blob backend: upload before the transaction (see ``BlobStore.store_ahead``).

        If the object store fails, a check error still wins over it.
        """
        try:
            await self.ctx.run_blocking(self.ctx.storage.store_ahead, [f.blob for f in files])
        except StorageError:
            if not checked:
                await self.ctx.db.run(check, *args)
            raise

    def success(self, **fields: Any) -> None:
        self.write_json({"success": True, **fields})

    def list_only(self) -> bool:
        return self.get_query_argument("list_only", "false") == "true"

    async def lookup_files(self, lookup: Callable, *args: Any) -> tuple[Any, list, dict | None]:
        """``lookup(session, *args)`` -> (timestamp, files), with the small files' contents.

        With ``Exchange.small_files_in_lookup`` on, a download sent whole gets
        the contents of its files kept in the database in the same transaction
        (``ngshare.exchange.small_reads``); else (or when listing) the third
        item is None and :meth:`write_files` reads them itself.
        """
        read = self.ctx.state(Exchange).small_files_in_lookup and not self.list_only()
        return await self.ctx.db.run(_lookup_with_contents, lookup, self.ctx.storage, read, *args)

    async def write_files(
        self,
        files: list[FileEntry],
        list_only: bool,
        small: dict[str, bytes] | None = None,
        **fields: Any,
    ) -> None:
        """Send ``{"success": true, **fields, "files": [...]}``, streamed.

        Up to ``WHOLE_BODY_BYTES`` of files (a submission, feedback) are
        encoded in one worker step and sent whole. Beyond that each blob is
        read and base64-encoded in 768 KiB steps on a worker thread and flushed
        as it goes, so a large download neither blocks the loop nor sits in
        memory whole (ngshare held every file, encoded, at once).
        """
        if not list_only and sum(f.size for f in files) <= WHOLE_BODY_BYTES:
            body = await self.ctx.run_blocking(build_body, files, self.ctx.storage, fields, small)
            await self.send_bytes(body, "application/json; charset=UTF-8")
            return
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        head = json.dumps({"success": True, **fields}, separators=(",", ":"))
        self.write(head[:-1] + ',"files":[')
        if list_only:
            self.write(",".join(entry_json(f) for f in files))
        else:
            for i, f in enumerate(files):
                head = entry_json(f)[:-1] + ',"content":"'
                self.write(("," if i else "") + head)
                # base64 output needs no JSON escaping: stream it as is
                with await self.ctx.run_blocking(self.ctx.storage.open, f.sha256) as blob:
                    while True:
                        chunk = await self.ctx.run_blocking(_read_encoded, blob)
                        if not chunk:
                            break
                        self.write(chunk)
                        await self.flush()
                self.write('"}')
        self.finish("]}")


def _lookup_with_contents(
    session: Any, lookup: Callable, storage: BlobStore, read: bool, *args: Any
) -> tuple[Any, list, dict | None]:
    timestamp, files = lookup(session, *args)
    if not read or sum(f.size for f in files) > WHOLE_BODY_BYTES:  # streamed: read as it goes
        return timestamp, files, None
    return (
        timestamp,
        files,
        small_reads.read_small_in(session, storage, small_reads.small_digests(files, storage)),
    )


def _record_with_blobs(
    session: Any,
    record: Callable,
    storage: BlobStore,
    files: list[UploadedFile],
    *args: Any,
    **kw: Any,
) -> Any:
    result = record(session, *args, files=files, **kw)  # checks, then rows (flushed)
    # files durable before the transaction commits; small blobs inserted in it
    storage.commit([f.blob for f in files], session.connection())
    return result


def _read_encoded(blob: BinaryIO) -> bytes:
    """The next piece of a blob, base64-encoded (a multiple of 3 bytes in, no padding between)."""
    return codec.encode(blob.read(ENCODE_CHUNK_BYTES))
