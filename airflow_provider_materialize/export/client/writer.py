"""Client mode's writer: one snapshot from the server, as Parquet files streamed into the S3 folder.

Follow a row through it (the output contract around it is
:func:`~airflow_provider_materialize.export.contract.run_export`):

1. :meth:`ClientWriter.prepare` asks the server for the query's columns (no rows are read) and
   :func:`~airflow_provider_materialize.export.client.type_plan.plan_export` fixes the output
   schema, failing on unsupported types before anything is written.
2. A reader thread streams record batches of the snapshot into a queue bounded by bytes
   (:mod:`~airflow_provider_materialize.export.client.readers`).
3. This thread converts each batch to the output types and hands it to the
   :class:`~airflow_provider_materialize.export.client.rolling_parquet.RollingParquetWriter`, which
   encodes row groups straight into
   :class:`~airflow_provider_materialize.export.client.s3_stream.S3ObjectStream` uploads; S3
   uploading happens on its own threads.

Reading, encoding and uploading overlap, and every queue between them is bounded, so memory
stays flat whatever the table's size.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from airflow_provider_materialize.export.client.malloc_arenas import limit_malloc_arenas
from airflow_provider_materialize.export.client.parallel_parquet import (
    ConvertingWriter,
    ParallelParquetWriter,
    default_encoders,
    open_parquet_writer,
)
from airflow_provider_materialize.export.client.parallel_read import with_read_connections
from airflow_provider_materialize.export.client.readers import (
    AdbcSnapshotReader,
    CsvSnapshotReader,
    SnapshotReader,
)
from airflow_provider_materialize.export.client.s3_stream import S3ObjectStream
from airflow_provider_materialize.export.client.snapshot_stream import ReadTiming, SnapshotStream
from airflow_provider_materialize.export.client.type_plan import ExportPlan, plan_export
from airflow_provider_materialize.export.contract import WrittenOutput
from airflow_provider_materialize.export.describe import describe_columns
from airflow_provider_materialize.export.result import schema_entries
from airflow_provider_materialize.export.sizes import human_size
from airflow_provider_materialize.sql import ServerFlavor, wrap_select

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    from airflow_provider_materialize.export.output_folder import OutputFolder
    from airflow_provider_materialize.export.ownership import FolderClaim
    from airflow_provider_materialize.export.request import ExportRequest
    from airflow_provider_materialize.hooks.materialize import MaterializeHook

log = logging.getLogger(__name__)


def choose_reader(name: str, mz_hook: MaterializeHook) -> SnapshotReader:
    """``adbc`` or ``csv`` as asked; ``auto`` takes ADBC when the driver can talk to the server."""
    if name == "csv":
        return CsvSnapshotReader(mz_hook.get_conn)
    adbc = AdbcSnapshotReader(mz_hook.get_libpq_uri())
    if name == "adbc":
        return adbc
    try:
        adbc.connect().close()
        return adbc
    except Exception as error:  # e.g. Materialize before v26.40: no pg_type.typsend
        log.warning("The ADBC reader cannot talk to this server (%s); using the slower CSV reader", error)
        return CsvSnapshotReader(mz_hook.get_conn)


class _Progress:
    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.started = time.monotonic()
        self.last_logged = self.started
        self.rows = 0

    def maybe_log(self, writer: ConvertingWriter | ParallelParquetWriter) -> None:
        now = time.monotonic()
        if now - self.last_logged < self.interval:
            return
        self.last_logged = now
        elapsed = now - self.started
        written = sum(f.bytes for f in writer.files)
        log.info(
            "Export progress: %s rows read (%s rows/s), %d file(s) finished, %s of Parquet uploaded",
            f"{self.rows:,}",
            f"{self.rows / elapsed:,.0f}",
            len(writer.files),
            human_size(written),
        )


class ClientWriter:
    """Streams the snapshot through the worker into Parquet files in the folder.

    :param request: The validated export request (client mode).
    :param mz_hook: Hook of the Materialize connection (its cluster applies to every session).
    :param s3_hook: Hook used for the uploads (credentials, endpoint, upload arguments).
    """

    marks_folder_first = True

    def __init__(self, request: ExportRequest, mz_hook: MaterializeHook, s3_hook: S3Hook) -> None:
        self.request = request
        self.mz_hook = mz_hook
        self.s3_hook = s3_hook
        self._flavor = ServerFlavor.POSTGRES
        self._plan: ExportPlan | None = None
        self._reader: SnapshotReader | None = None
        self._files: list[Any] = []
        self._stream: SnapshotStream | None = None

    @property
    def written_by(self) -> str:
        return self._reader.name if self._reader is not None else "client"

    @property
    def read_timing(self) -> ReadTiming | None:
        """When the read began, handed over its first batch and ended (None before ``prepare``)."""
        return self._stream.timing if self._stream is not None else None

    def prepare(self, folder: OutputFolder) -> None:
        """Describe the query, fix the output schema, and start reading: up to the first batch.

        A query that fails on its first rows (e.g. a function refused in a read-only transaction)
        fails here, before anything is written to S3.
        """
        self._flavor, columns = describe_columns(
            self.mz_hook, self.request.select, self.request.source_relation
        )
        plan = self._plan = plan_export(
            columns, flavor=self._flavor, type_metadata=self.request.field_metadata == "materialize"
        )
        reader = self._reader = with_read_connections(
            choose_reader(self.request.reader, self.mz_hook),
            connections=self.request.read_connections,
            relation=self.request.source_relation,
            select_for=lambda select: wrap_select(select, plan.column_aliases, plan.select_list),
        )
        read_sql = wrap_select(self.request.select, plan.column_aliases, plan.select_list)
        log.info("Exporting %d column(s) with the %s reader: %s", len(plan.columns), reader.name, read_sql)
        limit_malloc_arenas()  # before the reader and upload threads start
        session_sql = self.mz_hook.session_setup_statements()
        self._stream = SnapshotStream(reader.batches(read_sql, plan.read_types, session_sql, self._flavor))

    def write(self, claim: FolderClaim) -> None:
        plan, stream = self._plan, self._stream
        assert plan is not None and stream is not None, "prepare() first"
        progress = _Progress(self.request.progress_interval_seconds)
        target = self.request.folder
        writer = open_parquet_writer(
            encoders=default_encoders(),
            convert=plan.convert,
            schema=plan.file_schema,
            max_file_size=self.request.max_file_size,
            compression=self.request.compression,
            open_sink=lambda name: _open_owned(claim, self.s3_hook, target.key(name)),
            file_name=claim.data_file_name,
            on_file_written=lambda f: log.info(
                "Wrote %s: %s rows, %s", target.key_uri(f.name), f"{f.rows:,}", human_size(f.bytes)
            ),
        )
        self._files = _drain_into(stream, plan, writer, progress)

    def collect(self, folder: OutputFolder) -> WrittenOutput:
        assert self._plan is not None and self._reader is not None, "write() first"
        return WrittenOutput(
            files=list(self._files),
            rows=sum(f.rows or 0 for f in self._files),
            schema=schema_entries(self._plan.schema),
            snapshot_timestamp=self._reader.snapshot_timestamp,
        )

    def cancel(self) -> None:
        """Stop reading (a killed task process also ends its read with it)."""
        self.close()

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()


def _open_owned(claim: FolderClaim, s3_hook: S3Hook, key: str) -> S3ObjectStream:
    """Open the next file's upload, once the folder is seen to be still this try's."""
    claim.ensure_owned()
    return S3ObjectStream(s3_hook, claim.folder.folder.bucket, key)


def _drain_into(
    stream: SnapshotStream,
    plan: ExportPlan,
    writer: ConvertingWriter | ParallelParquetWriter,
    progress: _Progress,
) -> list[Any]:
    """Write the stream's batches converted; return the files written."""
    try:
        for batch in stream:
            writer.write(batch)
            progress.rows += batch.num_rows
            progress.maybe_log(writer)
        files = writer.close()
        log.info(
            "Batches queued between reading and encoding: at most %.1f MiB (%d batches)",
            stream.queue.peak_bytes / 2**20,
            stream.queue.peak_items,
        )
        timing = stream.timing
        if timing.last_batch_at is not None:
            # How much of a long export came after the read (S3 completing a multipart object
            # takes longer the larger it is). The read's time includes any wait on a full queue.
            log.info(
                "The read of %s rows ended %.1fs after it began; the last file was stored %.1fs later",
                f"{progress.rows:,}",
                timing.last_batch_at - timing.started_at,
                time.monotonic() - timing.last_batch_at,
            )
        return files
    except BaseException as error:
        writer.abort(error)
        raise
    finally:
        stream.close()
