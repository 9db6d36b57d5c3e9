"""The output contract in S3: one folder per export, an in-progress marker and a manifest.

* The target is a folder: ``s3://b/p/run1`` lists ``p/run1/`` and never sees ``p/run10/``.
* A folder that holds anything is refused, unless ``overwrite`` is set or its objects are the
  leftovers of an earlier try of the same task in the same DAG run (its ``_INCOMPLETE`` marker says
  so); both cases delete the objects first and log it.
* ``_INCOMPLETE`` exists while the export runs; ``_manifest.json`` is written last and is the
  completion signal; then the marker is removed. A failed try leaves the marker and no manifest.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from airflow_provider_materialize.export.native.file_names import is_in_progress_marker
from airflow_provider_materialize.export.s3_folder import S3Folder

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

MARKER_NAME = "_INCOMPLETE"
MANIFEST_NAME = "_manifest.json"
_KEYS_SHOWN = 5

log = logging.getLogger(__name__)


class FolderNotEmptyError(RuntimeError):
    """The target folder already holds objects that this try may not delete."""


def describe_keys(keys: list[str]) -> str:
    """The first few keys, for an error message."""
    return ", ".join(keys[:_KEYS_SHOWN]) + (", ..." if len(keys) > _KEYS_SHOWN else "")


@dataclass(frozen=True)
class RunIdentity:
    """Which task try is writing: recorded in the marker so a later try can recognise its leftovers."""

    dag_id: str
    run_id: str
    task_id: str
    try_number: int
    map_index: int = -1

    @classmethod
    def of(cls, task_instance: Any) -> RunIdentity:
        """The identity of the running task instance (Airflow's ``context["ti"]``)."""
        return cls(
            dag_id=task_instance.dag_id,
            run_id=task_instance.run_id,
            task_id=task_instance.task_id,
            try_number=task_instance.try_number,
            map_index=getattr(task_instance, "map_index", -1),
        )

    def is_earlier_try_of_same_task(self, marker: dict[str, Any]) -> bool:
        same_task = all(
            marker.get(key) == value for key, value in asdict(self).items() if key != "try_number"
        )
        earlier = isinstance(marker.get("try_number"), int) and marker["try_number"] < self.try_number
        return same_task and earlier


class OutputFolder:
    """Reads and writes the contract objects of one target folder.

    :param s3_hook: Hook used for every S3 call (its credentials, endpoint and upload arguments).
    :param folder: The target folder.
    """

    def __init__(self, s3_hook: S3Hook, folder: S3Folder) -> None:
        self.s3_hook = s3_hook
        self.folder = folder

    def list_keys(self) -> list[str]:
        return self.s3_hook.list_keys(bucket_name=self.folder.bucket, prefix=self.folder.prefix)

    def list_objects(self, prefix: str | None = None) -> list[tuple[str, int]]:
        """``(key, size)`` of every object under ``prefix`` (default: the folder)."""
        pages = (
            self.s3_hook.get_conn()
            .get_paginator("list_objects_v2")
            .paginate(Bucket=self.folder.bucket, Prefix=self.folder.prefix if prefix is None else prefix)
        )
        return [(item["Key"], item["Size"]) for page in pages for item in page.get("Contents", [])]

    def keys_sharing_raw_prefix(self) -> list[str]:
        """Keys outside the folder that start with its path minus the slash: ``p/run10/x`` for ``p/run1/``."""
        raw_prefix = self.folder.prefix.rstrip("/")
        return [key for key, _ in self.list_objects(raw_prefix) if not key.startswith(self.folder.prefix)]

    def prepare(self, identity: RunIdentity, overwrite: bool) -> None:
        """Make sure the folder is empty, deleting only what this try may delete."""
        keys = self.list_keys()
        if not keys:
            return
        if overwrite:
            log.info("overwrite=True: deleting %d existing object(s) under %s", len(keys), self.folder.uri)
        elif self.folder.key(MARKER_NAME) in keys and identity.is_earlier_try_of_same_task(
            self._read_marker()
        ):
            log.info(
                "%s holds %d object(s) left by an earlier failed try of this task in this DAG run: "
                "deleting them and starting over",
                self.folder.uri,
                len(keys),
            )
        else:
            # In either mode the folder may hold what an interrupted native COPY left behind.
            interrupted = [key for key in keys if is_in_progress_marker(self.folder.name_of(key))]
            origin = (
                f" {interrupted[0]} marks an interrupted Materialize COPY that no earlier try of this task "
                "recorded (e.g. its worker was killed)."
                if interrupted
                else ""
            )
            raise FolderNotEmptyError(
                f"Target folder {self.folder.uri} is not empty: it holds {len(keys)} object(s) "
                f"({describe_keys(keys)}).{origin} "
                "Choose a new folder (e.g. one per run with {{ run_id }} in s3_uri), delete them, "
                "or set overwrite=True to replace them"
            )
        self.s3_hook.delete_objects(bucket=self.folder.bucket, keys=keys)
        self._abort_unfinished_uploads()

    def _abort_unfinished_uploads(self) -> None:
        """Abort multipart uploads a killed try left behind: invisible in listings, but billed."""
        client = self.s3_hook.get_conn()
        pages = client.get_paginator("list_multipart_uploads").paginate(
            Bucket=self.folder.bucket, Prefix=self.folder.prefix
        )
        for page in pages:
            for upload in page.get("Uploads", []):
                log.info("Aborting unfinished multipart upload of %s", upload["Key"])
                client.abort_multipart_upload(
                    Bucket=self.folder.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                )

    def _read_marker(self) -> dict[str, Any]:
        try:
            marker = json.loads(self.s3_hook.read_key(self.folder.key(MARKER_NAME), self.folder.bucket))
        except (ValueError, TypeError):
            return {}
        return marker if isinstance(marker, dict) else {}

    def write_marker(self, identity: RunIdentity, error: str | None = None) -> None:
        """Record which try writes the folder; ``error`` records why a try failed."""
        marker: dict[str, Any] = {**asdict(identity), "started_at": datetime.now(UTC).isoformat()}
        if error is not None:
            marker["error"] = error[:2000]
        self._put_json(MARKER_NAME, marker)

    def mark_leftovers(self, identity: RunIdentity, error: BaseException) -> None:
        """After a failed write, mark what is in the folder as this try's, for the retry to delete.

        Nothing is written when the folder is empty (e.g. the server refused the statement), so a
        fixed task can run into the folder again without ``overwrite``.
        """
        try:
            if self.list_keys():
                self.write_marker(identity, error=str(error) or type(error).__name__)
        except Exception as listing_error:  # never hide the write's own error behind this one
            log.warning("Could not mark the leftovers of the failed export: %s", listing_error)

    def write_manifest(self, manifest: dict[str, Any]) -> str:
        self._put_json(MANIFEST_NAME, manifest)
        return self.folder.key_uri(MANIFEST_NAME)

    def remove_marker(self) -> None:
        self.s3_hook.delete_objects(bucket=self.folder.bucket, keys=[self.folder.key(MARKER_NAME)])

    def _put_json(self, name: str, document: dict[str, Any]) -> None:
        self.s3_hook.load_bytes(
            json.dumps(document, indent=2).encode(),
            key=self.folder.key(name),
            bucket_name=self.folder.bucket,
            replace=True,
        )
