"""The output contract, implemented once for both modes.

:func:`run_export` owns the target folder from start to end:

1. the mode's writer checks what it needs before anything is written (``prepare``);
2. the folder must be empty, except for what this try may delete (``overwrite``, or the
   leftovers of an earlier try of the same task);
3. ``_INCOMPLETE`` records which try is writing -- before the data where the writer allows it,
   otherwise right after it (Materialize's COPY refuses a folder that holds anything);
4. the writer writes the data files, then reports what the folder holds (``collect``);
5. ``_manifest.json`` lists the files and is the completion signal; the marker is removed last.

A failed try leaves the marker and no manifest, so a reader never takes its files for a result.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from airflow_provider_materialize.export.output_folder import OutputFolder
from airflow_provider_materialize.export.result import ExportResult, WrittenFile

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    from airflow_provider_materialize.export.request import ExportRequest

log = logging.getLogger(__name__)


@dataclass
class WrittenOutput:
    """What a writer put into the folder."""

    files: list[WrittenFile]
    rows: int
    schema: list[dict[str, Any]]  # the manifest's column entries
    snapshot_timestamp: int | None = None


class ModeWriter(Protocol):
    """One mode's part of an export; :func:`run_export` does everything else.

    ``marks_folder_first``: whether ``_INCOMPLETE`` may be written before ``write`` (False where the
    writer needs the folder empty while it writes). ``written_by``: recorded in the manifest.
    """

    marks_folder_first: bool

    @property
    def written_by(self) -> str: ...

    def prepare(self, folder: OutputFolder) -> None:
        """Every check that can fail before the folder is touched."""

    def write(self, folder: OutputFolder) -> None:
        """Write the data files into the folder."""

    def collect(self, folder: OutputFolder) -> WrittenOutput:
        """What was written, checked; called once the marker is in place."""

    def cancel(self) -> None:
        """Stop writing (the task was killed)."""


def run_export(request: ExportRequest, writer: ModeWriter, s3_hook: S3Hook) -> ExportResult:
    """Run one export into ``request.folder`` following the output contract."""
    started = time.monotonic()
    folder = OutputFolder(s3_hook, request.folder)
    writer.prepare(folder)
    folder.prepare(request.identity, request.overwrite)
    if writer.marks_folder_first:
        folder.write_marker(request.identity)
        writer.write(folder)
    else:
        try:
            writer.write(folder)
        except BaseException as error:
            folder.mark_leftovers(request.identity, error)
            raise
        folder.write_marker(request.identity)
    output = writer.collect(folder)

    result = ExportResult(
        folder=request.folder,
        mode=request.mode.value,
        file_format=request.file_format,
        files=output.files,
        rows=output.rows,
        schema=output.schema,
        written_by=writer.written_by,
        snapshot_timestamp=output.snapshot_timestamp,
    )
    result.manifest_uri = folder.write_manifest(result.manifest(request.identity, datetime.now(UTC)))
    folder.remove_marker()
    result.duration_seconds = time.monotonic() - started
    log.info(
        "Exported %d rows into %d file(s), %.1f MB, to %s in %.1fs (%s mode, written by %s)",
        result.rows,
        len(result.files),
        result.bytes / 1e6,
        request.folder.uri,
        result.duration_seconds,
        request.mode.value,
        writer.written_by,
    )
    return result
