"""One writer per folder: a try claims the folder atomically and proves it still owns it before it publishes.

* **Claim.** ``_INCOMPLETE`` is written with an S3 conditional write: ``If-None-Match: *`` when the
  folder has no marker, ``If-Match: <ETag>`` when this try takes over a marker it inspected. It
  carries a token unique to this try; of two tries or runs that claim at once, one wins and the
  other fails without deleting anything.
* **Per-try names.** Data files carry the token (``part-00000-<token>.parquet``), so two tries never
  overwrite each other's files and a try that lost the folder deletes exactly its own.
* **Ownership.** Before each new data file, before it deletes what other tries left, and before it
  publishes, a try reads the marker back: a try whose token is no longer there has lost the folder.
* **Publish.** ``_manifest.json`` is written with ``If-None-Match: *`` only after every listed file
  was found in the folder with its listed size; the marker is then removed with ``If-Match``.

On a store that ignores S3's conditional headers the claim falls back to list-then-write, and two
runs started at the same moment are no longer told apart (the README says so).
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from airflow_provider_materialize.export.native.file_names import is_in_progress_marker
from airflow_provider_materialize.export.output_folder import (
    MANIFEST_NAME,
    MARKER_NAME,
    FolderNotEmptyError,
    OutputFolder,
    condition_failed,
    describe_keys,
    not_found,
)

log = logging.getLogger(__name__)


class FolderLostError(RuntimeError):
    """Another try or run claimed the folder: this try stops without touching the new owner's files."""


@dataclass(frozen=True)
class RunIdentity:
    """Which task try is writing: recorded in the marker and the manifest."""

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

    def is_earlier_try_of_same_task(self, recorded: dict[str, Any] | None) -> bool:
        """Whether ``recorded`` (a marker, or a manifest's ``written_by``) is an earlier try of this task."""
        if not recorded:
            return False
        same_task = all(
            recorded.get(key) == value for key, value in asdict(self).items() if key != "try_number"
        )
        earlier = isinstance(recorded.get("try_number"), int) and recorded["try_number"] < self.try_number
        return same_task and earlier


def describe_writer(recorded: dict[str, Any] | None) -> str:
    if not recorded:
        return "another writer"
    return (
        f"try {recorded.get('try_number')} of task {recorded.get('task_id')!r} in DAG run "
        f"{recorded.get('run_id')!r} of {recorded.get('dag_id')!r}"
    )


@dataclass(frozen=True)
class Takeover:
    """What a try found in the folder before claiming it, and why it may replace it."""

    keys: list[str]
    marker_etag: str | None = None  # the marker this try replaces, unchanged since inspected
    has_manifest: bool = False  # a complete output this try replaces


class FolderClaim:
    """This try's hold on the target folder.

    :param folder: The folder's S3 calls.
    :param identity: The task try that writes.
    """

    def __init__(self, folder: OutputFolder, identity: RunIdentity) -> None:
        self.folder = folder
        self.identity = identity
        self.token = secrets.token_hex(4)
        self._marker_etag: str | None = None

    def data_file_name(self, index: int) -> str:
        return f"part-{index:05d}-{self.token}.parquet"

    def inspect(self, overwrite: bool) -> Takeover:
        """What the folder holds, and whether this try may replace it; refuse otherwise."""
        keys = self.folder.list_keys()
        if not keys:
            return Takeover(keys=[])
        names = {self.folder.folder.name_of(key) for key in keys}
        marker, marker_etag = self.folder.read_json(MARKER_NAME) if MARKER_NAME in names else (None, None)
        manifest = self.folder.read_json(MANIFEST_NAME)[0] if MANIFEST_NAME in names else None
        written_by: dict[str, Any] = (manifest or {}).get("written_by") or {}
        if overwrite:
            reason = "overwrite=True"
        elif marker is not None and self.identity.is_earlier_try_of_same_task(marker):
            reason = f"what try {marker['try_number']} of this task left; this try starts over"
        elif marker is None and self.identity.is_earlier_try_of_same_task(written_by):
            reason = (
                f"the complete output of try {written_by['try_number']} of this task (the task was cleared)"
            )
        else:
            raise FolderNotEmptyError(self._refusal(keys, marker))
        log.info("%s holds %d object(s): %s. They are replaced.", self.folder.folder.uri, len(keys), reason)
        return Takeover(keys=keys, marker_etag=marker_etag, has_manifest=manifest is not None)

    def _refusal(self, keys: list[str], marker: dict[str, Any] | None) -> str:
        interrupted = [key for key in keys if is_in_progress_marker(self.folder.folder.name_of(key))]
        if marker is not None:
            origin = f" Its _INCOMPLETE marker says {describe_writer(marker)} is writing it, or failed."
        elif interrupted:
            origin = (
                f" {interrupted[0]} marks an interrupted Materialize COPY that no earlier try of this task "
                "recorded (e.g. its worker was killed)."
            )
        else:
            origin = ""
        return (
            f"Target folder {self.folder.folder.uri} is not empty: it holds {len(keys)} object(s) "
            f"({describe_keys(keys)}).{origin} "
            "Choose an empty folder (in the Trigger form: a new target folder; in the DAG: one per run, "
            "with {{ run_id }} in s3_uri), or delete those objects; a DAG that should replace them "
            "sets overwrite=True"
        )

    def claim(self, takeover: Takeover, error: BaseException | None = None) -> None:
        """Write this try's ``_INCOMPLETE`` atomically; ``error`` records why a write failed."""
        marker: dict[str, Any] = {
            **asdict(self.identity),
            "token": self.token,
            "started_at": datetime.now(UTC).isoformat(),
        }
        if error is not None:
            marker["error"] = (str(error) or type(error).__name__)[:2000]
        condition = {"IfMatch": takeover.marker_etag} if takeover.marker_etag else {"IfNoneMatch": "*"}
        try:
            self._marker_etag = self.folder.put_json(MARKER_NAME, marker, **condition)
        except Exception as put_error:
            if not condition_failed(put_error):
                raise
            current, etag = self.folder.read_json(MARKER_NAME)
            if (current or {}).get("token") != self.token:  # not our own write, retried after a lost answer
                raise FolderLostError(
                    f"{describe_writer(current)} claimed {self.folder.folder.uri} at the same time; this "
                    "try leaves it to them and deletes nothing"
                ) from put_error
            self._marker_etag = etag
        if takeover.has_manifest:
            # The output being replaced stops being complete before any of its files goes.
            self.folder.delete_object(MANIFEST_NAME)

    def is_owned(self) -> bool:
        marker, _ = self.folder.read_json(MARKER_NAME)
        return (marker or {}).get("token") == self.token

    def ensure_owned(self) -> None:
        marker, _ = self.folder.read_json(MARKER_NAME)
        if (marker or {}).get("token") != self.token:
            holder = describe_writer(marker) if marker else "nobody (the marker is gone)"
            raise FolderLostError(
                f"{self.folder.folder.uri} is no longer this try's: its _INCOMPLETE marker now names "
                f"{holder}. This try stops and deletes only its own files."
            )

    def remove_others(self, keep: set[str]) -> None:
        """Delete what other tries or runs left in the folder: everything but ``keep`` and the marker."""
        self.ensure_owned()
        kept = keep | {MARKER_NAME}
        others = [key for key in self.folder.list_keys() if self.folder.folder.name_of(key) not in kept]
        self.folder.delete_keys(others, "left by earlier tries, or replaced")
        # Every upload of this try is complete by now: an open one is another try's, or one of ours
        # whose CreateMultipartUpload answer was lost and retried, so nobody would ever finish it.
        self.folder.abort_uploads(lambda name: True, "nobody will complete it")

    def publish(self, manifest: dict[str, Any], files: dict[str, int]) -> str:
        """Write the manifest once every file in ``files`` (name -> bytes) is in the folder as listed."""
        self.ensure_owned()
        present = {self.folder.folder.name_of(key): size for key, size in self.folder.list_objects()}
        wrong = {name: present.get(name) for name, size in files.items() if present.get(name) != size}
        if wrong:
            raise FolderLostError(
                f"Files of this try are missing or changed in {self.folder.folder.uri} "
                f"(name: bytes found): {wrong}; no manifest is written"
            )
        try:
            self.folder.put_json(MANIFEST_NAME, manifest, IfNoneMatch="*")
        except Exception as put_error:
            if not condition_failed(put_error):
                raise
            current, _ = self.folder.read_json(MANIFEST_NAME)
            if ((current or {}).get("written_by") or {}).get("token") != self.token:
                raise FolderLostError(
                    f"Another try published {self.folder.folder.uri} first; this try's files are removed"
                ) from put_error
        return self.folder.folder.key_uri(MANIFEST_NAME)

    def release(self) -> None:
        """Remove the marker if it is still this try's."""
        try:
            self.folder.delete_object(MARKER_NAME, IfMatch=self._marker_etag or "*")
        except Exception as error:
            if not_found(error):  # gone already: a retried delete whose first answer was lost
                return
            if not condition_failed(error):
                raise
            log.warning(
                "The _INCOMPLETE marker of %s is no longer this try's: left in place", self.folder.folder.uri
            )
            return
        marker_uri = self.folder.folder.key_uri(MARKER_NAME)
        log.info("Released the in-progress marker %s: the export is complete", marker_uri)

    def abandon(self) -> None:
        """After losing the folder: delete the data files this try wrote (their names carry its token)."""
        own = [key for key in self.folder.list_keys() if self.token in self.folder.folder.name_of(key)]
        self.folder.delete_keys(own, "written by this try, which lost the folder")
        self.folder.abort_uploads(lambda name: self.token in name, "this try lost the folder")
