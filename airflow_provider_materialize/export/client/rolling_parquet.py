"""Roll a stream of Arrow record batches into Parquet files of bounded size.

Each file is written as a sequence of row groups. Before a row group is written, its compressed
size is estimated from the bytes per row of what was already written, and the group is cut so
that the file stays within ``max_file_size``; when the file is (nearly) full, the next one starts.
Row groups target a sixteenth of the file size, so an estimate that is off by half for one group
moves the file size by about 3%: files stay under 110% of the limit and, except the last, above
90% of it. A row group is also cut when the batches waiting for it hold ``MAX_PENDING_BYTES`` of
Arrow data (two of the reader's batches): well-compressed data (free text, repeated values) would
otherwise keep several times a sixteenth of the file in memory before its group is written, and
the worker's peak memory would follow how well the data compresses (docs/client-pipeline.md).

A sink may offer ``finish()``: then a full file's last bytes are sent and the next file starts while
the store completes the previous one (S3 assembles a multipart upload only after its last part). The
writer waits for that completion, and reports the file, before it finishes the next file or closes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.parquet as pq

from airflow_provider_materialize.export.client.encoding_choice import dictionary_columns
from airflow_provider_materialize.export.result import WrittenFile

_ROW_GROUPS_PER_FILE = 16
MAX_PENDING_BYTES = 8 * 1024 * 1024
_FULL_FRACTION = 0.97
_FOOTER_RESERVE = 64 * 1024


class ParquetSink(Protocol):
    """Where one file's bytes go; ``abort(error)``, when present, abandons the file.

    ``close()`` must return only once the file is stored; ``finish()``, when present, starts that and
    returns at once (``close()`` then waits for it).
    """

    def write(self, data: Any, /) -> int: ...

    def tell(self) -> int: ...

    def close(self) -> None: ...


@dataclass
class _OpenFile:
    name: str
    sink: Any
    writer: pq.ParquetWriter
    rows: int = 0


class RollingParquetWriter:
    """Write record batches into ``part-00000.parquet``, ``part-00001.parquet``, ...

    :param schema: The schema of every file (fixed up front, identical in all files).
    :param max_file_size: Upper bound, in bytes, for one file.
    :param compression: Parquet compression codec (``snappy``, ``zstd``, ``gzip``, ``lz4``, ``none``).
    :param open_sink: Opens the byte sink for a file name; it must offer ``write`` and ``tell``,
        and ``abort(error)`` if the file can be abandoned.
    :param on_file_written: Called with each finished file.
    :param file_name: The name of the file with the given index (0, 1, ...).
    :param next_index: Hands out file indexes, when several writers share one numbering.
    :param empty_file: Whether ``close()`` writes one empty file when no row came.
    """

    def __init__(
        self,
        *,
        schema: pa.Schema,
        max_file_size: int,
        compression: str,
        open_sink: Callable[[str], ParquetSink],
        on_file_written: Callable[[WrittenFile], None] | None = None,
        file_name: Callable[[int], str] = lambda index: f"part-{index:05d}.parquet",
        next_index: Callable[[], int] | None = None,
        empty_file: bool = True,
    ) -> None:
        self.schema = schema
        self.max_file_size = max_file_size
        self.compression = compression
        self._open_sink = open_sink
        self._on_file_written = on_file_written
        self._file_name = file_name
        self._next_index = next_index
        self._empty_file = empty_file
        self._target_group_bytes = max(max_file_size // _ROW_GROUPS_PER_FILE, 1)
        self._pending: list[pa.RecordBatch] = []
        self._pending_rows = 0
        self._bytes_per_row: float | None = None  # compressed, learnt from written row groups
        self._current: _OpenFile | None = None
        self._completing: tuple[Any, WrittenFile] | None = None  # finished, still being stored
        self._opened = 0
        self._chosen_dictionary_columns: list[str] | None = None
        self.files: list[WrittenFile] = []

    def write(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        self._pending.append(batch)
        self._pending_rows += batch.num_rows
        while self._pending_rows and (
            self._estimate(self._pending_rows) >= self._target_group_bytes
            or sum(pending.nbytes for pending in self._pending) >= MAX_PENDING_BYTES
        ):
            self._write_group(self._rows_for(self._target_group_bytes))

    def close(self) -> list[WrittenFile]:
        """Write what is pending and finish the last file; an empty stream gives one empty file."""
        while self._pending_rows:
            self._write_group(self._rows_for(self._target_group_bytes))
        if self._current is None and not self._opened and self._empty_file:
            self._open_file()
        self._finish_file()
        self._settle()
        return self.files

    def abort(self, reason: BaseException) -> None:
        """Abandon the file being written (its upload is aborted where the sink supports it)."""
        if self._current is not None:
            abort = getattr(self._current.sink, "abort", None)
            if abort is not None:
                abort(reason)
            self._current = None
        if self._completing is not None:
            sink, _ = self._completing
            self._completing = None
            with contextlib.suppress(Exception):
                sink.close()  # all its bytes are sent: let the store finish rather than leave a thread

    def _estimate(self, rows: int) -> float:
        if self._bytes_per_row is not None:
            return rows * self._bytes_per_row
        # Nothing written yet: assume no compression, which is conservative.
        in_memory = sum(batch.nbytes for batch in self._pending)
        return in_memory * rows / max(self._pending_rows, 1)

    def _rows_for(self, group_bytes: float) -> int:
        """How many pending rows make a row group of about ``group_bytes`` that fits the file."""
        if self._current is not None:
            room = self.max_file_size - _FOOTER_RESERVE - self._current.sink.tell()
            group_bytes = min(group_bytes, max(room, 1))
        per_row = self._estimate(self._pending_rows) / self._pending_rows
        return max(1, min(self._pending_rows, int(group_bytes / max(per_row, 1e-9))))

    def _write_group(self, rows: int) -> None:
        if self._current is None:
            self._open_file()
        assert self._current is not None
        group = self._take(rows)
        before = self._current.sink.tell()
        self._current.writer.write_table(group, row_group_size=max(rows, 1))
        written = self._current.sink.tell() - before
        self._current.rows += rows
        observed = written / rows
        self._bytes_per_row = (
            observed if self._bytes_per_row is None else 0.5 * (self._bytes_per_row + observed)
        )
        if self._current.sink.tell() >= _FULL_FRACTION * (self.max_file_size - _FOOTER_RESERVE):
            self._finish_file()

    def _take(self, rows: int) -> pa.Table:
        taken: list[pa.RecordBatch] = []
        needed = rows
        while needed:
            batch = self._pending[0]
            if batch.num_rows <= needed:
                taken.append(self._pending.pop(0))
                needed -= batch.num_rows
            else:
                taken.append(batch.slice(0, needed))
                self._pending[0] = batch.slice(needed)
                needed = 0
        self._pending_rows -= rows
        return pa.Table.from_batches(taken, schema=self.schema)

    def _open_file(self) -> None:
        name = self._file_name(self._opened if self._next_index is None else self._next_index())
        self._opened += 1
        sink = self._open_sink(name)
        writer = pq.ParquetWriter(
            sink,
            self.schema,
            compression=self.compression,
            # As Materialize's COPY TO S3 writes (src/storage-operators/src/s3_oneshot_sink/parquet.rs,
            # arrow-rs): uint32 as INT32 with the unsigned annotation, which pyarrow writes only from
            # format 2.x (1.0 makes it a plain INT64); list elements named "item"; no column
            # statistics, which Materialize turned off for reader compatibility (PR #31513).
            version="2.6",
            use_compliant_nested_type=False,
            write_statistics=False,
            use_dictionary=self._dictionary_columns(),
            # Encoding buffers come and go in varying sizes; malloc hands them back, while pyarrow's
            # default mimalloc pool kept more of them resident (docs/benchmarks.md).
            memory_pool=pa.system_memory_pool(),
        )
        self._current = _OpenFile(name=name, sink=sink, writer=writer)

    def _dictionary_columns(self) -> list[str]:
        """Chosen once, from the rows about to become the first file's first row group: later files
        start while the previous one's upload completes, the moment this writer holds the most."""
        if self._chosen_dictionary_columns is None:
            sample = pa.Table.from_batches(self._pending, schema=self.schema)
            self._chosen_dictionary_columns = dictionary_columns(sample)
        return self._chosen_dictionary_columns

    def _finish_file(self) -> None:
        if self._current is None:
            return
        current = self._current
        current.writer.close()
        written = WrittenFile(name=current.name, rows=current.rows, bytes=current.sink.tell())
        self._settle()  # at most one file completes in the background; if it failed, abort() ends this one
        self._current = None
        finish = getattr(current.sink, "finish", None)
        if finish is None:
            current.sink.close()
            self._record(written)
        else:
            finish()
            self._completing = (current.sink, written)

    def _settle(self) -> None:
        """Wait until the file finished before is stored (raising its error), then report it."""
        if self._completing is None:
            return
        sink, written = self._completing
        self._completing = None
        sink.close()
        self._record(written)

    def _record(self, written: WrittenFile) -> None:
        self.files.append(written)
        if self._on_file_written is not None:
            self._on_file_written(written)
