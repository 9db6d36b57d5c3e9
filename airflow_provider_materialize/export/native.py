"""The native-mode export: Materialize writes the files itself with ``COPY ... TO 's3://...'``.

Follow an export through it:

1. The server must be Materialize; the target folder is checked exactly as in client mode
   (refused when it holds anything, unless ``overwrite`` or the leftovers are this task's own),
   plus the keys that Materialize's raw-prefix check would trip over (``p/run10/`` for ``p/run1``).
2. One ``COPY`` statement runs on the session's cluster. Meanwhile Materialize's own
   ``mz-<sink>-INCOMPLETE`` marker is the in-progress signal (ours would fail Materialize's
   emptiness check), and the folder is listed now and then to log progress. The ``COPY n`` tag
   gives the row count.
3. ``_INCOMPLETE`` is written with this try's identity, then every data file Materialize wrote is
   listed and each Parquet footer is read with ranged GETs for its row count; the counts must add
   up to ``n``. Then ``_manifest.json`` is written and the marker removed: the same contract and
   XCom as client mode, with ``"mode": "native"``.
4. If the COPY fails, ``_INCOMPLETE`` is written with this try's identity and the error, so that
   the task's retry deletes Materialize's leftovers and runs again.

``snapshot_timestamp`` is None: Materialize picks the COPY's timestamp itself and does not
return it (a timestamp asked for beforehand would belong to a different read).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from airflow_provider_materialize.dialect import ServerFlavor, copy_to_s3_sql
from airflow_provider_materialize.export.native_errors import (
    NativeCopyError,
    NativeModeUnavailableError,
    explain_copy_error,
)
from airflow_provider_materialize.export.output_folder import (
    MATERIALIZE_DATA_FILE,
    MATERIALIZE_MARKER,
    FolderNotEmptyError,
    OutputFolder,
    RunIdentity,
    describe_keys,
)
from airflow_provider_materialize.export.pipeline import describe_columns
from airflow_provider_materialize.export.result import ExportResult, schema_entries
from airflow_provider_materialize.export.s3_footers import read_parquet_footer

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    from airflow_provider_materialize.export.options import S3Folder
    from airflow_provider_materialize.hooks.materialize import MaterializeHook

log = logging.getLogger(__name__)

_COPY_TAG = re.compile(r"^COPY (\d+)$")
_CANCEL_WAIT_SECONDS = 30.0


@dataclass(frozen=True)
class NativeExportRequest:
    """Everything one native export needs to know, already validated."""

    relation: str  # what COPY reads: a quoted object name or a parenthesised query
    select: str  # the same rows as a SELECT (to describe the columns of a CSV export)
    folder: S3Folder
    identity: RunIdentity
    aws_connection: str  # name of the Materialize AWS CONNECTION object
    max_file_size: int
    file_format: str = "parquet"
    csv_options: dict[str, str | bool] = field(default_factory=dict)
    overwrite: bool = False
    progress_interval_seconds: float = 30.0

    @property
    def statement(self) -> str:
        target = f"s3://{self.folder.bucket}/{self.folder.prefix.rstrip('/')}"
        return copy_to_s3_sql(
            self.relation, target, self.aws_connection, self.file_format, self.max_file_size, self.csv_options
        )


@dataclass(frozen=True)
class MaterializeFile:
    """One data file Materialize wrote."""

    name: str
    bytes: int
    rows: int | None = None


class CopyRunner(Protocol):
    """Runs the COPY statement on the server (a seam: tests stand in for Materialize here)."""

    def check_server(self) -> None: ...

    def run(self, statement: str) -> int: ...

    def cancel(self) -> None: ...


def parse_copy_tag(status: str | None) -> int:
    """The row count of a ``COPY <n>`` command tag."""
    match = _COPY_TAG.match(status or "")
    if match is None:
        raise NativeCopyError(f"Materialize answered the COPY with {status!r} instead of 'COPY <rows>'")
    return int(match.group(1))


class MaterializeCopy:
    """Runs the COPY on the Materialize connection, on the hook's cluster, and can cancel it.

    :param mz_hook: Hook of the Materialize connection (its cluster applies to the session).
    """

    def __init__(self, mz_hook: MaterializeHook) -> None:
        self.mz_hook = mz_hook
        self._conn: Any = None

    def check_server(self) -> None:
        flavor, version = self.mz_hook.server_info
        if flavor is not ServerFlavor.MATERIALIZE:
            raise NativeModeUnavailableError(
                f"Native mode needs Materialize, but the connection {self.mz_hook.get_conn_id()!r} leads to "
                f"PostgreSQL {version}. Leave out aws_connection= to export in client mode instead."
            )

    def run(self, statement: str) -> int:
        conn = self._conn = self.mz_hook.get_conn()
        try:
            conn.autocommit = True  # COPY TO S3 runs on its own, not inside a transaction block
            cursor = conn.cursor()
            cursor.execute(statement)
            return parse_copy_tag(cursor.statusmessage)
        finally:
            self._conn = None
            conn.close()

    def cancel(self) -> None:
        conn = self._conn
        if conn is not None:
            log.info("Cancelling the COPY on the server")
            conn.cancel_safe()


def run_native_export(
    request: NativeExportRequest,
    mz_hook: MaterializeHook,
    s3_hook: S3Hook,
    runner: CopyRunner | None = None,
) -> ExportResult:
    """Run one native export; see the module docstring for the steps."""
    started = time.monotonic()
    runner = runner or MaterializeCopy(mz_hook)
    runner.check_server()
    output = OutputFolder(s3_hook, request.folder)
    _refuse_raw_prefix_neighbours(output)
    output.prepare(request.identity, request.overwrite)
    csv_schema = _describe_csv_columns(mz_hook, request.select) if request.file_format == "csv" else []

    log.info("Materialize writes the files itself: %s", request.statement)
    try:
        rows = _run_with_progress(runner, request, output)
    except BaseException as error:
        _claim_leftovers(output, request.identity, str(error) or type(error).__name__)
        raise
    log.info("Materialize reported COPY %d; checking the files it wrote", rows)

    output.write_marker(request.identity)
    files, schema = _inspect_files(output, request.file_format)
    counted = sum(f.rows or 0 for f in files)
    if request.file_format == "parquet" and counted != rows:
        raise NativeCopyError(
            f"Materialize reported COPY {rows}, but the Parquet footers of the {len(files)} file(s) under "
            f"{request.folder.uri} hold {counted} rows. The folder keeps its _INCOMPLETE marker and gets no "
            "manifest; the task's retry deletes it and copies again."
        )
    result = ExportResult(
        folder=request.folder,
        mode="native",
        file_format=request.file_format,
        files=list(files),
        rows=rows,
        schema=schema or csv_schema,
        written_by="materialize",
    )
    result.manifest_uri = output.write_manifest(result.manifest(request.identity, datetime.now(UTC)))
    output.remove_marker()
    result.duration_seconds = time.monotonic() - started
    log.info(
        "Materialize exported %d rows into %d file(s), %.1f MB, to %s in %.1fs",
        rows,
        len(files),
        result.bytes / 1e6,
        request.folder.uri,
        result.duration_seconds,
    )
    return result


def _refuse_raw_prefix_neighbours(output: OutputFolder) -> None:
    """Fail early where Materialize's own emptiness check (a raw prefix, not a folder) would fail."""
    neighbours = output.keys_sharing_raw_prefix()
    if neighbours:
        raise FolderNotEmptyError(
            f"Materialize checks that no key starts with {output.folder.prefix.rstrip('/')!r}, and "
            f"{len(neighbours)} key(s) outside the target folder do ({describe_keys(neighbours)}): "
            "it would refuse the COPY. "
            "Choose a folder name that is not the start of another one (e.g. end it with the run's date)."
        )


def _claim_leftovers(output: OutputFolder, identity: RunIdentity, error: str) -> None:
    """After a failed COPY, mark what Materialize left behind as this try's, for the retry to delete.

    Nothing is written when Materialize wrote nothing (e.g. it refused the statement), so a
    fixed task can run into the folder again without ``overwrite``.
    """
    try:
        if output.list_keys():
            output.write_marker(identity, error=error)
    except Exception as listing_error:  # never hide the COPY's own error behind this one
        log.warning("Could not mark the leftovers of the failed COPY: %s", listing_error)


def _run_with_progress(runner: CopyRunner, request: NativeExportRequest, output: OutputFolder) -> int:
    """Run the COPY on a thread and log what Materialize has written so far now and then.

    If this thread is interrupted (e.g. by the task's execution_timeout), the COPY is cancelled.
    """
    started = time.monotonic()
    interval = request.progress_interval_seconds
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="materialize-copy")
    future = pool.submit(runner.run, request.statement)
    try:
        while True:
            try:
                return future.result(timeout=interval if interval > 0 else None)
            except FutureTimeout:
                files, _ = _list_materialize_files(output)
                log.info(
                    "COPY running for %.0fs: Materialize has written %d file(s), %.1f MB so far",
                    time.monotonic() - started,
                    len(files),
                    sum(f.bytes for f in files) / 1e6,
                )
            except NativeCopyError:
                raise
            except Exception as error:  # raised by the COPY itself
                message = str(error).strip() or type(error).__name__
                raise NativeCopyError(
                    explain_copy_error(message, request.folder, request.aws_connection)
                ) from error
    except BaseException:
        if not future.done():
            runner.cancel()
            done = threading.Event()
            future.add_done_callback(lambda _: done.set())
            done.wait(_CANCEL_WAIT_SECONDS)
        raise
    finally:
        pool.shutdown(wait=False)


def _list_materialize_files(output: OutputFolder) -> tuple[list[MaterializeFile], list[str]]:
    """The data files Materialize wrote directly in the folder, in batch order, and its markers."""
    data, markers = [], []
    for key, size in output.list_objects():
        name = key[len(output.folder.prefix) :]
        if MATERIALIZE_DATA_FILE.match(name):
            data.append(MaterializeFile(name=name, bytes=size))
        elif MATERIALIZE_MARKER.match(name):
            markers.append(name)
    return sorted(data, key=lambda f: _batch_order(f.name)), markers


def _inspect_files(
    output: OutputFolder, file_format: str
) -> tuple[list[MaterializeFile], list[dict[str, Any]]]:
    """The data files with their row counts from the Parquet footers, and the files' schema."""
    data, markers = _list_materialize_files(output)
    if markers:
        log.warning(
            "Materialize's in-progress marker is still present after the COPY: %s", ", ".join(markers)
        )
    if file_format != "parquet":
        return data, []
    client = output.s3_hook.get_conn()
    files, schema = [], None
    for data_file in data:
        metadata, arrow_schema = read_parquet_footer(
            client, output.folder.bucket, output.folder.key(data_file.name), data_file.bytes
        )
        files.append(MaterializeFile(name=data_file.name, bytes=data_file.bytes, rows=metadata.num_rows))
        schema = schema or arrow_schema
    return files, schema_entries(schema) if schema is not None else []


def _describe_csv_columns(mz_hook: MaterializeHook, select: str) -> list[dict[str, Any]]:
    """The manifest's schema of a CSV export: every value is text; the server's type name is kept."""
    _, columns = describe_columns(mz_hook, select)
    return [
        {"name": c.name, "type": "string", "nullable": True, "materialize_type": c.type_name} for c in columns
    ]


def _batch_order(name: str) -> tuple[str, int, int]:
    match = MATERIALIZE_DATA_FILE.match(name)
    assert match is not None
    return match.group("sink"), int(match.group("batch")), int(match.group("index"))
