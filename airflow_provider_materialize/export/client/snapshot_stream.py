"""The snapshot's record batches, read on their own thread into a queue bounded by bytes."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from airflow_provider_materialize.export.client.byte_queue import ByteBoundedQueue

# About two of the reader's 4 MiB batches: enough to keep the reader busy while a batch is converted.
QUEUED_BYTES = 8 * 1024 * 1024
# Until the batches are first iterated (while the export claims its folder and sets up its S3
# client), the reader may run further ahead: what it reads then is no more than one row group
# gathers later, and nothing else is held yet.
READ_AHEAD_BYTES = 32 * 1024 * 1024
_END = object()


@dataclass
class ReadTiming:
    """When one read began, handed over its first batch, and ended (``time.monotonic()``).

    ``first_batch_at`` is taken on the consumer's side as the first batch is handed over (for an
    empty result, the end); ``last_batch_at`` on the reader's, once the reader is exhausted (its
    transaction ended), and stays None until then and for a read that failed. On a one-batch read
    the first can come after the last.
    """

    started_at: float
    first_batch_at: float | None = None
    last_batch_at: float | None = None


class SnapshotStream:
    """Iterate the batches of ``batches``, produced on a thread of their own.

    The first batch is read in the constructor, so a query that fails on its first rows fails there.
    A slow consumer stops the producer (the queue is full); a failure on either side stops the other.

    :param batches: The reader's batches (closed, when it has ``close``, once the stream ends).
    :param max_bytes: Bytes of batches the queue may hold (one batch alone may exceed it).
    :param ahead_bytes: The bound until the batches are first iterated.
    """

    def __init__(
        self,
        batches: Iterator[pa.RecordBatch],
        *,
        max_bytes: int = QUEUED_BYTES,
        ahead_bytes: int = READ_AHEAD_BYTES,
    ) -> None:
        self.max_bytes = max_bytes
        self.timing = ReadTiming(started_at=time.monotonic())
        self.queue = ByteBoundedQueue(max_bytes=max(ahead_bytes, max_bytes))
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._produce, args=(batches,), name="snapshot-reader", daemon=True
        )
        self._thread.start()
        self._first: Any = self._next()
        self.timing.first_batch_at = time.monotonic()

    def _put(self, item: Any, size: int) -> bool:
        """Wait for room in the queue; give up (False) once the consumer has stopped."""
        return self.queue.put_unless_stopped(item, size, self._stop)

    def _produce(self, batches: Iterator[pa.RecordBatch]) -> None:
        last: Any = _END
        try:
            for batch in batches:
                if not self._put(batch, batch.nbytes):
                    return
            # Set before the end is queued: the consumer sees it once it takes the end.
            self.timing.last_batch_at = time.monotonic()
        except BaseException as error:
            last = error
        finally:
            close = getattr(batches, "close", None)
            if close is not None:
                close()
        self._put(last, 0)

    def _next(self) -> Any:
        item = self.queue.get()
        if isinstance(item, BaseException):
            self.close()
            raise item
        return item

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        self.queue.bound(self.max_bytes)
        item, self._first = self._first, _END
        while item is not _END:
            yield item
            item = self._next()

    def close(self) -> None:
        self._stop.set()
        self.queue.clear()
        self._thread.join(timeout=60)
