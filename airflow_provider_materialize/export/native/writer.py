"""Native mode's writer: Materialize writes the files itself with ``COPY ... TO 's3://...'``.

Inside the output contract (:func:`~airflow_provider_materialize.export.contract.run_export`):

1. :meth:`NativeWriter.prepare`: the server must be Materialize, and no key outside the folder may
   start with its path (Materialize's emptiness check is a raw prefix, so ``p/run10/`` trips
   ``p/run1``).
2. :meth:`NativeWriter.write`: one ``COPY`` statement runs on the session's cluster. Meanwhile
   Materialize's own ``mz-<sink>-INCOMPLETE`` marker is the in-progress signal (ours would fail
   Materialize's emptiness check, so the contract writes it only afterwards), and the folder is
   listed now and then to log progress. The ``COPY n`` tag gives the row count.
3. :meth:`NativeWriter.collect`: every data file Materialize wrote is listed and each Parquet
   footer is read with ranged GETs for its row count; the counts must add up to ``n``.

``snapshot_timestamp`` is None: Materialize picks the COPY's timestamp itself and does not
return it (a timestamp asked for beforehand would belong to a different read).
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TYPE_CHECKING, Any

from airflow_provider_materialize.export.contract import WrittenOutput
from airflow_provider_materialize.export.describe import describe_columns
from airflow_provider_materialize.export.native.copy_runner import CopyRunner
from airflow_provider_materialize.export.native.error_hints import NativeCopyError, explain_copy_error
from airflow_provider_materialize.export.native.file_names import (
    batch_order,
    is_data_file,
    is_in_progress_marker,
)
from airflow_provider_materialize.export.native.footers import read_parquet_footer
from airflow_provider_materialize.export.output_folder import (
    MANIFEST_NAME,
    FolderNotEmptyError,
    OutputFolder,
    describe_keys,
)
from airflow_provider_materialize.export.ownership import FolderLostError, describe_writer
from airflow_provider_materialize.export.result import WrittenFile, schema_entries, schema_entry
from airflow_provider_materialize.export.sizes import human_size
from airflow_provider_materialize.sql import copy_to_s3_sql

if TYPE_CHECKING:
    from airflow_provider_materialize.export.ownership import FolderClaim
    from airflow_provider_materialize.export.request import ExportRequest
    from airflow_provider_materialize.hooks.materialize import MaterializeHook

log = logging.getLogger(__name__)

_CANCEL_WAIT_SECONDS = 30.0


def copy_statement(request: ExportRequest) -> str:
    """The one ``COPY ... TO 's3://...'`` statement of a native export."""
    assert request.aws_connection is not None, "native mode needs aws_connection"
    target = f"s3://{request.folder.bucket}/{request.folder.prefix.rstrip('/')}"
    return copy_to_s3_sql(
        request.copy_relation,
        target,
        request.aws_connection,
        request.file_format,
        request.max_file_size,
        request.csv_options,
    )


class NativeWriter:
    """Has Materialize write the files, then checks them against its row count.

    :param request: The validated export request (native mode).
    :param mz_hook: Hook of the Materialize connection (to describe a CSV export's columns).
    :param runner: Runs the COPY statement (:class:`~.copy_runner.MaterializeCopy`).
    """

    marks_folder_first = False
    written_by = "materialize"

    def __init__(self, request: ExportRequest, mz_hook: MaterializeHook, runner: CopyRunner) -> None:
        self.request = request
        self.mz_hook = mz_hook
        self.runner = runner
        self.statement = copy_statement(request)
        self._rows = 0
        self._csv_schema: list[dict[str, Any]] = []

    def prepare(self, folder: OutputFolder) -> None:
        self.runner.check_server()
        # The query, alone, as one read-only statement: refused here if it holds more (describe.py)
        _, columns = describe_columns(self.mz_hook, self.request.select, self.request.source_relation)
        _refuse_raw_prefix_neighbours(folder)
        # Every CSV value is text; the manifest keeps the server's type name of each column.
        self._csv_schema = [schema_entry(c.name, "string", True, c.type_name) for c in columns]

    def write(self, claim: FolderClaim) -> None:
        log.info("Materialize writes the files itself: %s", self.statement)
        self._rows = _run_with_progress(self.runner, self.statement, self.request, claim.folder)
        log.info("Materialize reported COPY %d; checking the files it wrote", self._rows)
        _yield_to_a_run_that_published_meanwhile(claim.folder)

    def collect(self, folder: OutputFolder) -> WrittenOutput:
        files, schema = _inspect_files(folder, self.request.file_format)
        sinks = sorted({batch_order(f.name)[0] for f in files})
        if len(sinks) > 1:
            raise NativeCopyError(
                f"{folder.folder.uri} holds the files of {len(sinks)} Materialize COPYs "
                f"({', '.join(sinks)}): another export wrote into the folder at the same time. "
                "No manifest is written; give each run a folder of its own."
            )
        counted = sum(f.rows or 0 for f in files)
        if self.request.file_format == "parquet" and counted != self._rows:
            raise NativeCopyError(
                f"Materialize reported COPY {self._rows}, but the Parquet footers of the {len(files)} "
                f"file(s) under {folder.folder.uri} hold {counted} rows. The folder keeps its _INCOMPLETE "
                "marker and gets no manifest; the task's retry deletes it and copies again."
            )
        return WrittenOutput(files=files, rows=self._rows, schema=schema or self._csv_schema)

    def cancel(self) -> None:
        self.runner.cancel()

    def close(self) -> None:
        """Nothing is held between the steps: the COPY runs within ``write``."""


def _yield_to_a_run_that_published_meanwhile(folder: OutputFolder) -> None:
    """If another run published the folder while this COPY ran, remove this COPY's files and stop.

    The folder was empty when this try looked, so Materialize's objects that the other run's
    manifest does not list are this COPY's.
    """
    manifest, _ = folder.read_json(MANIFEST_NAME)
    if manifest is None:
        return
    listed = {str(entry.get("uri", "")).rsplit("/", 1)[-1] for entry in manifest.get("files", [])}
    ours = [
        key
        for key, _ in folder.list_objects()
        if (is_data_file(name := folder.folder.name_of(key)) or is_in_progress_marker(name))
        and name not in listed
    ]
    folder.delete_keys(ours, "written by this try's COPY after another run published the folder")
    raise FolderLostError(
        f"{describe_writer(manifest.get('written_by'))} published {folder.folder.uri} while this try's "
        "COPY ran; this try's files are removed and the other run's output is left as it is"
    )


def _refuse_raw_prefix_neighbours(folder: OutputFolder) -> None:
    """Fail early where Materialize's own emptiness check (a raw prefix, not a folder) would fail."""
    neighbours = folder.keys_sharing_raw_prefix()
    if neighbours:
        raise FolderNotEmptyError(
            f"Materialize checks that no key starts with {folder.folder.prefix.rstrip('/')!r}, and "
            f"{len(neighbours)} key(s) outside the target folder do ({describe_keys(neighbours)}): "
            "it would refuse the COPY. "
            "Choose a folder name that is not the start of another one (e.g. end it with the run's date)."
        )


def _run_with_progress(
    runner: CopyRunner, statement: str, request: ExportRequest, folder: OutputFolder
) -> int:
    """Run the COPY on a thread and log what Materialize has written so far now and then.

    If this thread is interrupted (e.g. by the task's execution_timeout), the COPY is cancelled.
    """
    started = time.monotonic()
    interval = request.progress_interval_seconds
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="materialize-copy")
    future = pool.submit(runner.run, statement)
    try:
        while True:
            try:
                return future.result(timeout=interval if interval > 0 else None)
            except FutureTimeout:
                files, _ = _list_materialize_files(folder)
                log.info(
                    "COPY running for %.0fs: Materialize has written %d file(s), %s so far",
                    time.monotonic() - started,
                    len(files),
                    human_size(sum(f.bytes for f in files)),
                )
            except NativeCopyError:
                raise
            except Exception as error:  # raised by the COPY itself
                message = str(error).strip() or type(error).__name__
                raise NativeCopyError(
                    explain_copy_error(message, request.folder, request.aws_connection or "")
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


def _list_materialize_files(folder: OutputFolder) -> tuple[list[WrittenFile], list[str]]:
    """The data files Materialize wrote directly in the folder, in batch order, and its markers."""
    data, markers = [], []
    for key, size in folder.list_objects():
        name = folder.folder.name_of(key)
        if is_data_file(name):
            data.append(WrittenFile(name=name, bytes=size))
        elif is_in_progress_marker(name):
            markers.append(name)
    return sorted(data, key=lambda f: batch_order(f.name)), markers


def _inspect_files(folder: OutputFolder, file_format: str) -> tuple[list[WrittenFile], list[dict[str, Any]]]:
    """The data files with their row counts from the Parquet footers, and the files' schema."""
    data, markers = _list_materialize_files(folder)
    if markers:
        log.warning(
            "Materialize's in-progress marker is still present after the COPY: %s", ", ".join(markers)
        )
    if file_format != "parquet":
        return data, []
    client = folder.s3_hook.get_conn()
    files, schema = [], None
    for data_file in data:
        metadata, arrow_schema = read_parquet_footer(
            client, folder.folder.bucket, folder.folder.key(data_file.name), data_file.bytes
        )
        files.append(WrittenFile(name=data_file.name, bytes=data_file.bytes, rows=metadata.num_rows))
        schema = schema or arrow_schema
    return files, schema_entries(schema) if schema is not None else []
