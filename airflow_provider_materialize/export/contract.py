"""The output contract, implemented once for both modes.

:func:`run_export` owns the target folder from start to end:

1. the mode's writer checks what it needs before anything is written (``prepare``);
2. the folder must be empty, except for what this try may replace (``overwrite``, the leftovers of
   an earlier try of the same task, or its complete output when the task was cleared);
3. the try claims the folder: ``_INCOMPLETE``, written atomically with a token of its own
   (:mod:`~airflow_provider_materialize.export.ownership`) -- before the data where the writer
   allows it, otherwise right after it (Materialize's COPY refuses a folder that holds anything);
4. the writer writes its data files and reports them (``write``, ``collect``);
5. what other tries left is deleted, the files are checked in S3, ``_manifest.json`` is written
   as the completion signal, and the marker is removed last.

A failed try leaves its marker and no manifest, so a reader never takes its files for a result.
A try that lost the folder to another deletes only its own files.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from airflow_provider_materialize.export.output_folder import OutputFolder
from airflow_provider_materialize.export.ownership import FolderClaim, FolderLostError, Takeover
from airflow_provider_materialize.export.result import ExportResult, WrittenFile
from airflow_provider_materialize.export.sizes import human_size

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    from airflow_provider_materialize.export.request import ExportRequest

log = logging.getLogger(__name__)
_T = TypeVar("_T")


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

    def write(self, claim: FolderClaim) -> None:
        """Write the data files into the folder (named with ``claim.data_file_name`` where it can)."""

    def collect(self, folder: OutputFolder) -> WrittenOutput:
        """What was written, checked; called once the marker is in place."""

    def cancel(self) -> None:
        """Stop writing (the task was killed)."""

    def close(self) -> None:
        """Release what ``prepare`` holds (a read in progress); safe to call more than once."""


def run_export(
    request: ExportRequest,
    writer: ModeWriter,
    s3_hook: S3Hook,
    *,
    on_prepared: Callable[[], None] | None = None,
) -> ExportResult:
    """Run one export into ``request.folder`` following the output contract.

    :param on_prepared: Called once the writer is prepared, before the folder is touched. In client
        mode the rows are already arriving then, so what it does (the operator creates its S3 client
        there) overlaps with the server's work.
    """
    started = time.monotonic()
    folder = OutputFolder(s3_hook, request.folder)
    claim = FolderClaim(folder, request.identity)
    try:
        return _run(request, writer, folder, claim, started, on_prepared)
    finally:
        writer.close()


def _run(
    request: ExportRequest,
    writer: ModeWriter,
    folder: OutputFolder,
    claim: FolderClaim,
    started: float,
    on_prepared: Callable[[], None] | None,
) -> ExportResult:
    writer.prepare(folder)
    if on_prepared is not None:
        on_prepared()
    takeover = claim.inspect(request.overwrite)
    if writer.marks_folder_first:
        claim.claim(takeover)
        _while_owned(claim, lambda: writer.write(claim))
    else:
        # The writer needs the folder empty: what this try may replace goes before it writes.
        folder.delete_keys(takeover.keys, "replaced")
        try:
            writer.write(claim)
        except BaseException as error:
            failure = error
            # What the writer left is marked for the task's retry to replace -- unless the folder is
            # another run's now, and nothing in it is this try's.
            if not isinstance(error, FolderLostError) and folder.list_keys():
                _keep_first_error(lambda: claim.claim(Takeover(keys=[]), error=failure))
            raise
        claim.claim(Takeover(keys=[]))
    output = _while_owned(claim, lambda: writer.collect(folder))

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
    manifest = result.manifest(request.identity, claim.token, datetime.now(UTC))
    files = {f.name: f.bytes for f in output.files}
    _while_owned(claim, lambda: claim.remove_others(set(files)))
    result.manifest_uri = _while_owned(claim, lambda: claim.publish(manifest, files))
    claim.release()
    result.duration_seconds = time.monotonic() - started
    log.info(
        "Exported %s rows into %d file(s), %s, to %s in %.1fs (%s mode, written by %s)",
        f"{result.rows:,}",
        len(result.files),
        human_size(result.bytes),
        request.folder.uri,
        result.duration_seconds,
        request.mode.value,
        writer.written_by,
    )
    return result


def _while_owned(claim: FolderClaim, step: Callable[[], _T]) -> _T:
    """Run ``step``; if it fails because another try took the folder, delete this try's files."""
    try:
        return step()
    except BaseException as error:
        lost = isinstance(error, FolderLostError) or _keep_first_error(lambda: not claim.is_owned())
        if lost:
            _keep_first_error(claim.abandon)
            if not isinstance(error, FolderLostError):
                raise FolderLostError(
                    f"{claim.folder.folder.uri} was taken over while writing: {error}"
                ) from error
        raise


def _keep_first_error(action: Callable[[], Any]) -> Any:
    """Run a clean-up ``action`` after a failure; its own failure is logged, never raised over the first."""
    try:
        return action()
    except Exception as error:
        log.warning("Clean-up after a failed export did not complete: %s", error)
        return None
