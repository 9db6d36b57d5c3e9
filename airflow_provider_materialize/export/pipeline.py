"""The client-mode export: one snapshot from the server to Parquet files in an S3 folder.

Follow a row through it:

1. :func:`describe_columns` asks the server for the query's columns (no rows are read), and
   :func:`~airflow_provider_materialize.export.types.plan_export` fixes the output schema,
   failing on unsupported types before anything is written.
2. :class:`~airflow_provider_materialize.export.output_folder.OutputFolder` checks the target
   folder and writes the ``_INCOMPLETE`` marker.
3. A reader thread streams record batches of the snapshot into a small bounded queue
   (:mod:`~airflow_provider_materialize.export.readers`).
4. This thread converts each batch to the output types and hands it to the
   :class:`~airflow_provider_materialize.export.parquet_files.RollingParquetWriter`, which
   encodes row groups straight into :class:`~airflow_provider_materialize.export.s3_stream.S3ObjectStream`
   uploads; S3 uploading happens on its own threads.
5. The manifest is written and the marker removed.

Reading, encoding and uploading overlap, and every queue between them is bounded, so memory
stays flat whatever the table's size.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from airflow_provider_materialize.dialect import ServerFlavor, describe_sql, type_names_sql, wrap_select
from airflow_provider_materialize.export.memory import limit_malloc_arenas
from airflow_provider_materialize.export.output_folder import OutputFolder, RunIdentity
from airflow_provider_materialize.export.parquet_files import RollingParquetWriter, WrittenFile
from airflow_provider_materialize.export.readers import AdbcSnapshotReader, CsvSnapshotReader, SnapshotReader
from airflow_provider_materialize.export.result import ExportResult, schema_entries
from airflow_provider_materialize.export.s3_stream import S3ObjectStream
from airflow_provider_materialize.export.types import DescribedColumn, ExportPlan, plan_export

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    from airflow_provider_materialize.export.options import S3Folder
    from airflow_provider_materialize.hooks.materialize import MaterializeHook

log = logging.getLogger(__name__)

READERS = ("auto", "adbc", "csv")
_QUEUED_BATCHES = 2
_END = object()


@dataclass(frozen=True)
class ExportRequest:
    """Everything one export needs to know, already validated."""

    select: str  # the SELECT that defines the snapshot
    folder: S3Folder
    identity: RunIdentity
    max_file_size: int
    compression: str = "snappy"
    file_format: str = "parquet"
    overwrite: bool = False
    reader: str = "auto"
    progress_interval_seconds: float = 30.0


def describe_columns(mz_hook: MaterializeHook, select: str) -> tuple[ServerFlavor, list[DescribedColumn]]:
    """The server's flavour and the columns ``select`` returns, without reading any row."""
    with mz_hook.get_conn() as conn:
        flavor, _ = mz_hook.server_info
        cursor = conn.cursor()
        cursor.execute(describe_sql(select))
        description = list(cursor.description or [])
        typmods = [cursor.pgresult.fmod(i) for i in range(len(description))]
        oids = sorted({int(column.type_code) for column in description})
        type_names: dict[int, tuple[str, str | None]] = {}
        if oids:
            cursor.execute(type_names_sql(oids))
            type_names = {int(oid): (name, element) for oid, name, element in cursor.fetchall()}
        conn.rollback()
    columns = []
    for column, typmod in zip(description, typmods, strict=True):
        type_name, element = type_names.get(int(column.type_code), (f"oid {column.type_code}", None))
        columns.append(DescribedColumn(column.name, type_name, element_type_name=element, typmod=typmod))
    return flavor, columns


def choose_reader(name: str, mz_hook: MaterializeHook) -> SnapshotReader:
    """``adbc`` or ``csv`` as asked; ``auto`` takes ADBC when the driver can talk to the server."""
    if name not in READERS:
        raise ValueError(f"reader {name!r} is not one of {', '.join(READERS)}")
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

    def maybe_log(self, writer: RollingParquetWriter) -> None:
        now = time.monotonic()
        if now - self.last_logged < self.interval:
            return
        self.last_logged = now
        elapsed = now - self.started
        written = sum(f.bytes for f in writer.files)
        log.info(
            "Export progress: %d rows read (%.0f rows/s), %d file(s) finished, %.1f MB of Parquet uploaded",
            self.rows,
            self.rows / elapsed,
            len(writer.files),
            written / 1e6,
        )


def _put_unless_stopped(out: queue.Queue, item: Any, stop: threading.Event) -> bool:
    """Wait for room in ``out``; give up (False) once the consumer has stopped."""
    while not stop.is_set():
        try:
            out.put(item, timeout=0.5)
            return True
        except queue.Full:
            continue
    return False


def _produce(batches: Iterator[pa.RecordBatch], out: queue.Queue, stop: threading.Event) -> None:
    """Reader thread: move batches into the bounded queue until the end, an error, or a stop."""
    last: Any = _END
    try:
        for batch in batches:
            if not _put_unless_stopped(out, batch, stop):
                return
    except BaseException as error:
        last = error
    finally:
        close = getattr(batches, "close", None)
        if close is not None:
            close()
    _put_unless_stopped(out, last, stop)


def run_export(request: ExportRequest, mz_hook: MaterializeHook, s3_hook: S3Hook) -> ExportResult:
    """Run one client-mode export; see the module docstring for the path a row takes."""
    started = time.monotonic()
    flavor, columns = describe_columns(mz_hook, request.select)
    plan = plan_export(columns, flavor)
    reader = choose_reader(request.reader, mz_hook)
    read_sql = wrap_select(request.select, plan.column_aliases, plan.select_list)
    log.info("Exporting %d column(s) with the %s reader: %s", len(plan.columns), reader.name, read_sql)

    output = OutputFolder(s3_hook, request.folder)
    output.prepare(request.identity, request.overwrite)
    output.write_marker(request.identity)

    files = _write_files(request, plan, reader, read_sql, mz_hook.session_setup_statements(), flavor, s3_hook)

    result = ExportResult(
        folder=request.folder,
        mode="client",
        file_format=request.file_format,
        files=list(files),
        rows=sum(f.rows for f in files),
        schema=schema_entries(plan.schema),
        written_by=reader.name,
        snapshot_timestamp=reader.snapshot_timestamp,
    )
    result.manifest_uri = output.write_manifest(result.manifest(request.identity, datetime.now(UTC)))
    output.remove_marker()
    result.duration_seconds = time.monotonic() - started
    log.info(
        "Exported %d rows into %d file(s), %.1f MB, to %s in %.1fs",
        result.rows,
        len(files),
        result.bytes / 1e6,
        request.folder.uri,
        result.duration_seconds,
    )
    return result


def _write_files(
    request: ExportRequest,
    plan: ExportPlan,
    reader: SnapshotReader,
    read_sql: str,
    session_sql: list[str],
    flavor: ServerFlavor,
    s3_hook: S3Hook,
) -> list[WrittenFile]:
    limit_malloc_arenas()  # before the reader and upload threads start
    progress = _Progress(request.progress_interval_seconds)
    writer = RollingParquetWriter(
        schema=plan.schema,
        max_file_size=request.max_file_size,
        compression=request.compression,
        open_sink=lambda name: S3ObjectStream(s3_hook, request.folder.bucket, request.folder.key(name)),
        on_file_written=lambda f: log.info(
            "Wrote %s: %d rows, %d bytes", request.folder.key_uri(f.name), f.rows, f.bytes
        ),
    )
    batches: queue.Queue = queue.Queue(maxsize=_QUEUED_BATCHES)
    stop = threading.Event()
    producer = threading.Thread(
        target=_produce,
        args=(reader.batches(read_sql, plan.read_types, session_sql, flavor), batches, stop),
        name="snapshot-reader",
        daemon=True,
    )
    producer.start()
    try:
        while True:
            item = batches.get()
            if item is _END:
                break
            if isinstance(item, BaseException):
                raise item
            writer.write(plan.convert(item))
            progress.rows += item.num_rows
            progress.maybe_log(writer)
        return writer.close()
    except BaseException as error:
        writer.abort(error)
        raise
    finally:
        stop.set()
        producer.join(timeout=60)
