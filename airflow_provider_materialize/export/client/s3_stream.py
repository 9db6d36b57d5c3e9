"""Stream bytes into one S3 object while they are produced, with bounded memory.

The Parquet writer writes into :class:`S3ObjectStream`, a write-only file object. Its bytes go, in
chunks, through a small bounded queue to a thread that runs ``S3Hook.load_file_obj``: boto3's
managed transfer reads the other end as a non-seekable stream and uploads it as a multipart upload
(or a single PUT when small), with the hook's credentials, endpoint, upload arguments and transfer
settings. If the producer fails, the reading end raises, and boto3 aborts the multipart upload, so
no partial object appears.

Chunks are cut to exactly the hook's ``multipart_chunksize``: boto3 reads one part at a time, so each
read returns a queued ``bytes`` object as it is, which boto3 wraps without copying. boto3 keeps up to
``max_in_memory_upload_chunks`` parts of a stream in memory (10 unless set); parts beyond those being
uploaded only cost memory, so the stream lowers it to the upload concurrency.
"""

from __future__ import annotations

import io
import queue
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

PART_SIZE = 8 * 1024 * 1024
# The S3Hook transfer settings client mode uses unless the user overrides them: streaming uploads in
# 8 MiB parts, 4 in flight (the stream also caps the parts boto3 holds at that concurrency).
DEFAULT_TRANSFER_CONFIG = {"multipart_chunksize": PART_SIZE, "max_concurrency": 4}
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

    def _next_chunk(self) -> bool:
        """Make the next queued chunk current; False at the end of the stream."""
        item = self._chunks.get()
        if isinstance(item, BaseException):
            raise UploadAbortedError("upload abandoned by the writer") from item
        if item == _END:
            self._finished = True
            return False
        self._current = memoryview(item)
        return True

    def read(self, size: int | None = -1) -> bytes:
        wanted = size if size is not None and size >= 0 else float("inf")
        parts: list[bytes] = []
        while wanted > 0 and (self._current or (not self._finished and self._next_chunk())):
            chunk = self._current.obj
            if not parts and isinstance(chunk, bytes) and len(self._current) == wanted == len(chunk):
                # The usual case: one whole part, handed over without a copy.
                self._current = memoryview(b"")
                return chunk
            take = self._current[: int(min(wanted, len(self._current)))]
            parts.append(bytes(take))
            self._current = self._current[len(take) :]
            wanted -= len(take)
        return b"".join(parts)


def _tune_transfer(s3_hook: S3Hook) -> int:
    """Cap boto3's in-memory parts of a stream at the upload concurrency; return the part size."""
    config = getattr(s3_hook, "transfer_config", None)
    if config is None:
        return PART_SIZE
    concurrency = getattr(config, "max_request_concurrency", None)
    if isinstance(concurrency, int) and concurrency < getattr(config, "max_in_memory_upload_chunks", 0):
        config.max_in_memory_upload_chunks = max(concurrency, 1)
    size = getattr(config, "multipart_chunksize", None)
    return size if isinstance(size, int) and size > 0 else PART_SIZE


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
        self._chunk_size = _tune_transfer(s3_hook)
        self._buffer = bytearray()
        self._position = 0
        self._upload_error: BaseException | None = None
        self._finished = False
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
        while len(self._buffer) >= self._chunk_size:
            self._send(bytes(memoryview(self._buffer)[: self._chunk_size]))
            del self._buffer[: self._chunk_size]  # cheap: bytearray drops a prefix by moving its start
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

    def finish(self) -> None:
        """Send the last bytes and return without waiting: S3 completes the object in the background."""
        if self._finished:
            return
        if self._buffer:
            self._send(bytes(self._buffer))
            self._buffer.clear()
        self._send(_END)
        self._finished = True

    def close(self) -> None:
        """Finish the object and wait until S3 has it."""
        if self.closed:
            return
        try:
            self.finish()
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
            if self._thread.is_alive() and not self._finished:
                self._send(reason)
        except RuntimeError:
            pass  # the upload already failed on its own
        self._thread.join()
        super().close()
