"""Convert and encode batches on more than one core: several rolling writers, one thread each.

pyarrow releases the GIL while it computes and encodes, but one ``ParquetWriter`` encodes one row
group at a time on the calling thread. With ``encoders`` > 1, each encoder thread owns a
:class:`RollingParquetWriter` and takes the next batch from a queue bounded by bytes as soon as it
is free, so several files are written at once. The file contract holds: one schema, every file
within ``max_file_size``, names from one numbering (``part-00000``, ``part-00001``, ... in the
order files are opened), exact rows per file. Up to ``encoders`` files may end below the size
target (each writer's last); an empty stream still gives one empty file.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

import pyarrow as pa

from airflow_provider_materialize.export.client.byte_queue import ByteBoundedQueue
from airflow_provider_materialize.export.client.rolling_parquet import RollingParquetWriter
from airflow_provider_materialize.export.result import WrittenFile

# Batches waiting for a free encoder: about one 4 MiB batch per encoder.
QUEUED_BYTES_PER_ENCODER = 4 * 1024 * 1024
_WAIT = 0.5
_END = object()
_ABORT = object()


def default_encoders() -> int:
    """Two encoders when this process may run on more than two cores, else one."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return 2 if cores > 2 else 1


class ConvertingWriter:
    """One rolling writer on the calling thread, converting each batch first."""

    def __init__(self, convert: Callable[[pa.RecordBatch], pa.RecordBatch], **rolling: Any) -> None:
        self._convert = convert
        self._writer = RollingParquetWriter(**rolling)

    @property
    def files(self) -> list[WrittenFile]:
        return self._writer.files

    def write(self, batch: pa.RecordBatch) -> None:
        self._writer.write(self._convert(batch))

    def close(self) -> list[WrittenFile]:
        return self._writer.close()

    def abort(self, reason: BaseException) -> None:
        self._writer.abort(reason)


class ParallelParquetWriter:
    """``encoders`` rolling writers on threads of their own, sharing one file numbering.

    :param encoders: How many writers (threads) encode at once.
    :param convert: Turns a read batch into the output types (runs on the encoder threads).
    :param rolling: The :class:`RollingParquetWriter` arguments (schema, sizes, sinks, names).
    """

    def __init__(
        self, *, encoders: int, convert: Callable[[pa.RecordBatch], pa.RecordBatch], **rolling: Any
    ) -> None:
        self._convert = convert
        self._rolling = rolling
        self._lock = threading.Lock()
        self._next = 0
        self._error: BaseException | None = None
        self.queue = ByteBoundedQueue(max_bytes=QUEUED_BYTES_PER_ENCODER * encoders)
        self._writers = [
            RollingParquetWriter(**rolling, next_index=self._take_index, empty_file=False)
            for _ in range(encoders)
        ]
        self._threads = [
            threading.Thread(target=self._run, args=(writer,), name=f"parquet-encoder-{n}", daemon=True)
            for n, writer in enumerate(self._writers)
        ]
        for thread in self._threads:
            thread.start()

    @property
    def files(self) -> list[WrittenFile]:
        return sorted((f for writer in self._writers for f in list(writer.files)), key=lambda f: f.name)

    def write(self, batch: pa.RecordBatch) -> None:
        while True:
            self._raise_error()
            if self.queue.put(batch, batch.nbytes, timeout=_WAIT):
                return

    def close(self) -> list[WrittenFile]:
        """Encode what is queued, finish every writer's last file; one empty file if no row came."""
        self._stop(_END)
        self._raise_error()
        files = self.files
        if not files:
            files = RollingParquetWriter(**self._rolling, next_index=self._take_index).close()
        return files

    def abort(self, reason: BaseException) -> None:
        """Abandon every file being written (their uploads are aborted)."""
        self.queue.clear()
        self._stop(_ABORT, reason)

    def _stop(self, signal: object, reason: BaseException | None = None) -> None:
        for _ in self._threads:
            self.queue.put((signal, reason), 0, force=True)
        for thread in self._threads:
            thread.join()

    def _take_index(self) -> int:
        with self._lock:
            index, self._next = self._next, self._next + 1
            return index

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    def _run(self, writer: RollingParquetWriter) -> None:
        """Encode batches until a signal; after a failure (anywhere), take batches without encoding.

        Every encoder keeps taking items until its own signal, so the queue never fills up for good
        and every signal finds an encoder.
        """
        failed = False
        while True:
            item = self.queue.get()
            if isinstance(item, tuple):
                signal, reason = item
                if not failed:
                    if signal is _END and self._error is None:
                        try:
                            writer.close()
                        except BaseException as error:
                            self._fail(error, writer)
                    else:
                        writer.abort(reason or self._error or RuntimeError("export stopped"))
                return
            if failed:
                continue
            if self._error is not None:
                writer.abort(self._error)
                failed = True
                continue
            try:
                writer.write(self._convert(item))
            except BaseException as error:
                self._fail(error, writer)
                failed = True

    def _fail(self, error: BaseException, writer: RollingParquetWriter) -> None:
        with self._lock:
            self._error = self._error or error
        writer.abort(error)


def open_parquet_writer(
    *, encoders: int, convert: Callable[[pa.RecordBatch], pa.RecordBatch], **rolling: Any
) -> ConvertingWriter | ParallelParquetWriter:
    """One writer on this thread for one encoder, else :class:`ParallelParquetWriter`."""
    if encoders < 2:
        return ConvertingWriter(convert, **rolling)
    return ParallelParquetWriter(encoders=encoders, convert=convert, **rolling)
