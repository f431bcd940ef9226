"""Blobs in an S3-compatible bucket (AWS S3, MinIO, Ceph RGW), through boto3.

Staged blobs stay temp files on the local disk (``<root>/tmp``) until the
upload commits (or ``BlobStore.store_ahead``, just before its transaction);
commit PUTs each one to ``<prefix>ab/cdef…`` and returns only once the object
store has acknowledged it, so the rows committed after it never point at a
blob the store does not hold. A request refused while staging leaves nothing
in the bucket (its temp files are simply removed), and one that dies
half-way, or whose rows are refused after the PUT, leaves at most whole
objects no row refers to, which garbage collection removes after its grace
period.

Content already in the bucket is not uploaded again: it is copied onto
itself, which refreshes its ``LastModified`` (the age garbage collection
reads), like the filesystem backend's ``utime``.

Reads stream the object's body through a buffered reader: a download never
holds a whole large file in memory. Errors of the object store become
:class:`~ngshare.storage_backend.StorageError` (503): the client gets a JSON
error in its feature set's envelope, the log gets the store's own message.
Credentials come from the settings, else from boto3's usual chain (the
``AWS_*`` environment variables, ``~/.aws``, an instance or pod role).
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any, BinaryIO

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ngshare.storage_backend import FileBackend, StorageError, StoredFile, blob_name

if TYPE_CHECKING:
    from ngshare.storage import StagedBlob

#: Files up to this size go in one PUT; larger ones in parts of this size,
#: several at a time (boto3's transfer manager).
MULTIPART_BYTES = 64 << 20
#: Bytes the reader of a download asks the object store's stream for at a time.
READ_BUFFER_BYTES = 256 << 10
#: Error codes that mean "no such object" (HEAD answers a bare 404).
_MISSING = {"404", "NoSuchKey", "NotFound"}
_DENIED = {"403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "Forbidden"}

MESSAGE_UNREACHABLE = "Blob storage unavailable: the object store cannot be reached"
MESSAGE_NO_BUCKET = "Blob storage unavailable: the bucket does not exist"
MESSAGE_DENIED = "Blob storage unavailable: the object store denied access"
MESSAGE_FAILED = "Blob storage unavailable: the object store refused the request"


class S3Backend(FileBackend):
    """Blobs as objects ``<prefix>ab/cdef…`` of one bucket.

    :arg endpoint_url: the object store's URL (MinIO, Ceph RGW, a local
        test server); None for AWS S3 itself. With an endpoint URL, buckets are
        addressed by path (``<endpoint>/<bucket>/<key>``), which every
        S3-compatible server understands.
    :arg access_key_id: with ``secret_access_key``; None: boto3's credential chain.
    """

    stage_fsync = False
    local = False

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        session_token: str | None = None,
        connections: int = 16,
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
        max_attempts: int = 3,
    ) -> None:
        if not bucket:
            raise ValueError("the S3 storage backend needs a bucket (NgShare.s3_bucket)")
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.endpoint_url = endpoint_url or None
        session = boto3.session.Session(
            aws_access_key_id=access_key_id or None,
            aws_secret_access_key=secret_access_key or None,
            aws_session_token=session_token or None,
            region_name=region or None,
        )
        config = Config(
            max_pool_connections=connections,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries={"max_attempts": max_attempts, "mode": "standard"},
            s3={"addressing_style": "path"} if self.endpoint_url else None,
            # checksums only where the operation needs one: S3-compatible
            # servers differ in the newer default ones they accept
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        self.client = session.client("s3", endpoint_url=self.endpoint_url, config=config)
        self.transfer = TransferConfig(
            multipart_threshold=MULTIPART_BYTES,
            multipart_chunksize=MULTIPART_BYTES,
            max_concurrency=4,
        )

    def describe(self) -> str:
        where = f" at {self.endpoint_url}" if self.endpoint_url else ""
        return f"s3 bucket {self.bucket!r} prefix {self.prefix!r}{where}"

    def key(self, sha256: str) -> str:
        return self.prefix + blob_name(sha256)

    # -- writing ------------------------------------------------------------

    def commit(self, staged: list[StagedBlob], pool: Executor | None) -> None:
        if len(staged) > 1 and pool is not None:
            for done in [pool.submit(self._store, blob) for blob in staged]:
                done.result()
        else:
            for blob in staged:
                self._store(blob)

    def _store(self, blob: StagedBlob) -> None:
        assert blob.temp_path is not None
        key = self.key(blob.sha256)
        with _translated_errors():
            if self._head(key) is not None:
                self._touch(key)
            else:
                self.put_file(blob.temp_path, blob.sha256)
        try:
            os.unlink(blob.temp_path)
        except FileNotFoundError:
            pass

    def put_file(self, path: str | os.PathLike, sha256: str) -> None:
        """Upload the file at ``path`` as the blob ``sha256`` (acknowledged when this returns)."""
        with _translated_errors():
            self.client.upload_file(
                os.fspath(path), self.bucket, self.key(sha256), Config=self.transfer
            )

    def _touch(self, key: str) -> None:
        """Refresh an object's ``LastModified`` by copying it onto itself (no data sent)."""
        self.client.copy_object(
            Bucket=self.bucket,
            Key=key,
            CopySource={"Bucket": self.bucket, "Key": key},
            MetadataDirective="REPLACE",
        )

    # -- reading ------------------------------------------------------------

    def open(self, sha256: str) -> BinaryIO:
        key = self.key(sha256)
        with _translated_errors():
            try:
                response = self.client.get_object(Bucket=self.bucket, Key=key)
            except ClientError as e:
                if _code(e) in _MISSING:
                    raise FileNotFoundError(f"s3://{self.bucket}/{key}") from None
                raise
        return io.BufferedReader(_BodyReader(response["Body"]), READ_BUFFER_BYTES)  # type: ignore[return-value]

    def exists(self, sha256: str) -> bool:
        with _translated_errors():
            return self._head(self.key(sha256)) is not None

    def _head(self, key: str) -> dict | None:
        try:
            return self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as e:
            if _code(e) in _MISSING:
                return None
            raise

    # -- listing and removing ---------------------------------------------------

    def scan(self) -> Iterator[StoredFile]:
        with _translated_errors():
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix
            )
            for page in pages:
                for obj in page.get("Contents", ()):
                    name = obj["Key"][len(self.prefix) :]
                    yield StoredFile(name, obj["LastModified"].timestamp())

    def remove_if_older(self, name: str, cutoff: float) -> bool:
        key = self.prefix + name
        with _translated_errors():
            head = self._head(key)
            if head is None:
                return True
            if head["LastModified"].timestamp() >= cutoff:
                return False
            self.client.delete_object(Bucket=self.bucket, Key=key)
        return True

    def remove(self, sha256: str) -> None:
        with _translated_errors():
            self.client.delete_object(Bucket=self.bucket, Key=self.key(sha256))

    def close(self) -> None:
        self.client.close()


class _BodyReader(io.RawIOBase):
    """An object's streamed body as a raw stream, under the reader :meth:`S3Backend.open` returns.

    A buffered reader returns exactly the bytes asked for (short only at the
    end), which base64-encoding a download piece by piece needs.
    """

    def __init__(self, body: Any) -> None:
        self.body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        with _translated_errors():
            data = self.body.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        return n

    def close(self) -> None:
        if not self.closed:
            self.body.close()
        super().close()


class _translated_errors:
    """Turn the object store's failures into :class:`StorageError` (503)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, error: BaseException | None, tb: Any) -> bool:
        if error is None or isinstance(error, (StorageError, FileNotFoundError)):
            return False
        client_error = _client_error_in(error)
        if client_error is not None:
            code = _code(client_error)
            if code == "NoSuchBucket":
                message = MESSAGE_NO_BUCKET
            elif code in _DENIED:
                message = MESSAGE_DENIED
            else:
                message = MESSAGE_FAILED
            raise StorageError(503, message, f"S3 {code}: {client_error}") from error
        if isinstance(error, (BotoCoreError, ConnectionError, OSError)) or _boto3_error(error):
            raise StorageError(503, MESSAGE_UNREACHABLE, f"S3: {error}") from error
        return False


def _client_error_in(error: BaseException) -> ClientError | None:
    """The ClientError behind ``error`` (boto3's transfer manager wraps it in its own)."""
    seen = 0
    while error is not None and seen < 5:
        if isinstance(error, ClientError):
            return error
        error = error.__cause__ or error.__context__  # type: ignore[assignment]
        seen += 1
    return None


def _boto3_error(error: BaseException) -> bool:
    from boto3.exceptions import Boto3Error

    return isinstance(error, Boto3Error)


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
