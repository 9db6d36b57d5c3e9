"""Stream bytes into one S3 object while they are produced, with bounded memory.

The Parquet writer writes into :class:`S3ObjectStream`, a write-only file object. Its bytes go, in
chunks, through a small bounded queue to a thread that runs ``S3Hook.load_file_obj``: boto3's
managed transfer reads the other end as a non-seekable stream and uploads it as a multipart upload
(or a single PUT when small), with the hook's credentials, endpoint, upload arguments and transfer
settings. If the producer fails, the reading end raises, and boto3 aborts the multipart upload, so
no partial object appears.
"""

from __future__ import annotations

import io
import queue
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

CHUNK_SIZE = 8 * 1024 * 1024
_QUEUED_CHUNKS = 2
_END = b""


class UploadAbortedError(Exception):
    """Raised inside the upload's reading end so that boto3 abandons (aborts) the upload."""


class _ChunkReader(io.RawIOBase):
    """The reading end handed to boto3: returns queued chunks, raises when the writer aborts."""

    def __init__(self, chunks: queue.Queue[bytes | BaseException]) -> None:
        super().__init__()
        self._chunks = chunks
        self._current = memoryview(b"")
        self._finished = False

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        parts: list[bytes] = []
        wanted = size if size is not None and size >= 0 else float("inf")
        while wanted > 0 and not self._finished:
            if not self._current:
                item = self._chunks.get()
                if isinstance(item, BaseException):
                    raise UploadAbortedError("upload abandoned by the writer") from item
                if item == _END:
                    self._finished = True
                    break
                self._current = memoryview(item)
            take = self._current[: int(min(wanted, len(self._current)))]
            parts.append(bytes(take))
            self._current = self._current[len(take) :]
            wanted -= len(take)
        return b"".join(parts)


class S3ObjectStream(io.RawIOBase):
    """A write-only file object whose bytes become the S3 object ``s3://bucket/key``.

    :param s3_hook: The hook whose credentials and upload settings are used.
    :param bucket: Target bucket.
    :param key: Target key.
    """

    def __init__(self, s3_hook: S3Hook, bucket: str, key: str) -> None:
        super().__init__()
        self.bucket = bucket
        self.key = key
        self._chunks: queue.Queue[bytes | BaseException] = queue.Queue(maxsize=_QUEUED_CHUNKS)
        self._buffer = bytearray()
        self._position = 0
        self._upload_error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._upload, args=(s3_hook,), name=f"s3-upload:{key}", daemon=True
        )
        self._thread.start()

    def _upload(self, s3_hook: S3Hook) -> None:
        try:
            s3_hook.load_file_obj(
                _ChunkReader(self._chunks), key=self.key, bucket_name=self.bucket, replace=True
            )
        except BaseException as error:
            self._upload_error = error
            # Unblock a writer waiting for room in the queue.
            while True:
                try:
                    self._chunks.get_nowait()
                except queue.Empty:
                    break

    def writable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def write(self, data) -> int:  # type: ignore[override]
        size = len(data)
        self._buffer += data
        self._position += size
        if len(self._buffer) >= CHUNK_SIZE:
            self._send(bytes(self._buffer))
            self._buffer.clear()
        return size

    def _send(self, item: bytes | BaseException) -> None:
        while True:
            self._raise_upload_error()
            try:
                self._chunks.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    def _raise_upload_error(self) -> None:
        if self._upload_error is not None:
            raise RuntimeError(
                f"upload to s3://{self.bucket}/{self.key} failed: {self._upload_error}"
            ) from self._upload_error

    def close(self) -> None:
        """Finish the object: send what is buffered and wait until S3 has it."""
        if self.closed:
            return
        try:
            if self._buffer:
                self._send(bytes(self._buffer))
                self._buffer.clear()
            self._send(_END)
            self._thread.join()
            self._raise_upload_error()
        finally:
            super().close()

    def abort(self, reason: BaseException) -> None:
        """Abandon the object: the upload is aborted and nothing is left at the key."""
        if self.closed:
            return
        self._buffer.clear()
        try:
            if self._thread.is_alive():
                self._send(reason)
        except RuntimeError:
            pass  # the upload already failed on its own
        self._thread.join()
        super().close()
