"""The S3 calls on one target folder: listing, conditional writes of the contract objects, deletion.

Nothing here lists, writes or deletes outside the folder: every key is built from, or checked
against, the folder's prefix (``S3Folder`` refuses bucket roots and empty segments).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from airflow_provider_materialize.export.s3_folder import S3Folder

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

MARKER_NAME = "_INCOMPLETE"
MANIFEST_NAME = "_manifest.json"
_KEYS_SHOWN = 5
_DELETE_BATCH = 1000  # DeleteObjects takes at most 1000 keys
# 412: the condition did not hold; 409: a concurrent conditional write to the same key won
_CONDITION_FAILED = {"PreconditionFailed", "ConditionalRequestConflict", "412", "409"}

log = logging.getLogger(__name__)


class FolderNotEmptyError(RuntimeError):
    """The target folder already holds objects that this try may not delete."""


class MissingBucketError(RuntimeError):
    """The target folder's bucket does not exist (for the AWS connection used)."""


def describe_keys(keys: list[str]) -> str:
    """The first few keys, for an error message."""
    return ", ".join(keys[:_KEYS_SHOWN]) + (", ..." if len(keys) > _KEYS_SHOWN else "")


def not_found(error: BaseException) -> bool:
    return isinstance(error, ClientError) and error.response.get("Error", {}).get("Code") in (
        "NoSuchKey",
        "404",
    )


def condition_failed(error: BaseException) -> bool:
    """Whether ``error`` is S3 refusing a conditional request (If-None-Match / If-Match)."""
    return isinstance(error, ClientError) and error.response.get("Error", {}).get("Code") in _CONDITION_FAILED


class OutputFolder:
    """Reads and writes the objects of one target folder.

    :param s3_hook: Hook used for every S3 call (its credentials, endpoint and upload arguments).
    :param folder: The target folder.
    """

    def __init__(self, s3_hook: S3Hook, folder: S3Folder) -> None:
        self.s3_hook = s3_hook
        self.folder = folder

    def list_keys(self) -> list[str]:
        return [key for key, _ in self.list_objects()]

    def list_objects(self, prefix: str | None = None) -> list[tuple[str, int]]:
        """``(key, size)`` of every object under ``prefix`` (default: the folder)."""
        pages = (
            self.s3_hook.get_conn()
            .get_paginator("list_objects_v2")
            .paginate(Bucket=self.folder.bucket, Prefix=self.folder.prefix if prefix is None else prefix)
        )
        try:
            return [(item["Key"], item["Size"]) for page in pages for item in page.get("Contents", [])]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "NoSuchBucket":
                raise
            raise MissingBucketError(
                f"The bucket {self.folder.bucket!r} of {self.folder.uri} does not exist, as seen with the "
                f"Airflow AWS connection {self.s3_hook.aws_conn_id!r}. Check the bucket's name in s3_uri "
                "(in the Trigger form: the target folder), or that the connection points at the account "
                "and endpoint that hold it"
            ) from error

    def keys_sharing_raw_prefix(self) -> list[str]:
        """Keys outside the folder that start with its path minus the slash: ``p/run10/x`` for ``p/run1/``."""
        raw_prefix = self.folder.prefix.rstrip("/")
        return [key for key, _ in self.list_objects(raw_prefix) if not key.startswith(self.folder.prefix)]

    def read_json(self, name: str) -> tuple[dict[str, Any] | None, str | None]:
        """The JSON object stored as ``name`` and its ETag; ``(None, None)`` when there is none."""
        try:
            response = self.s3_hook.get_conn().get_object(
                Bucket=self.folder.bucket, Key=self.folder.key(name)
            )
        except ClientError as error:
            if not_found(error):
                return None, None
            raise
        try:
            document = json.loads(response["Body"].read())
        except ValueError:
            document = {}
        return (document if isinstance(document, dict) else {}), response.get("ETag")

    def put_json(self, name: str, document: dict[str, Any], **condition: str) -> str:
        """Write ``name``, with the hook's upload arguments and an optional S3 condition; its ETag."""
        response = self.s3_hook.get_conn().put_object(
            Bucket=self.folder.bucket,
            Key=self.folder.key(name),
            Body=json.dumps(document, indent=2).encode(),
            ContentType="application/json",
            **(self.s3_hook.extra_args or {}),
            **condition,
        )
        return str(response.get("ETag", ""))

    def delete_object(self, name: str, **condition: str) -> None:
        self.s3_hook.get_conn().delete_object(
            Bucket=self.folder.bucket, Key=self.folder.key(name), **condition
        )

    def delete_keys(self, keys: list[str], why: str) -> None:
        """Delete ``keys``, every one of which must lie in the folder; log how many and which."""
        outside = [key for key in keys if not key.startswith(self.folder.prefix) or key == self.folder.prefix]
        if outside:  # a guard: callers only pass keys they listed under the prefix
            raise RuntimeError(f"refusing to delete keys outside {self.folder.uri}: {describe_keys(outside)}")
        if not keys:
            return
        log.info(
            "Deleting %d object(s) under %s (%s): %s", len(keys), self.folder.uri, why, describe_keys(keys)
        )
        # Not S3Hook.delete_objects: its own "Deleted: [...]" line repeats this one without the reason
        client = self.s3_hook.get_conn()
        for start in range(0, len(keys), _DELETE_BATCH):
            batch = [{"Key": key} for key in keys[start : start + _DELETE_BATCH]]
            response = client.delete_objects(
                Bucket=self.folder.bucket, Delete={"Objects": batch, "Quiet": True}
            )
            if response.get("Errors"):
                raise RuntimeError(f"S3 did not delete objects under {self.folder.uri}: {response['Errors']}")

    def abort_uploads(self, chosen: Callable[[str], bool], why: str) -> None:
        """Abort the folder's unfinished multipart uploads of the names ``chosen`` picks."""
        client = self.s3_hook.get_conn()
        pages = client.get_paginator("list_multipart_uploads").paginate(
            Bucket=self.folder.bucket, Prefix=self.folder.prefix
        )
        for page in pages:
            for upload in page.get("Uploads", []):
                if not chosen(self.folder.name_of(upload["Key"])):
                    continue
                log.info("Aborting the unfinished multipart upload of %s (%s)", upload["Key"], why)
                client.abort_multipart_upload(
                    Bucket=self.folder.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                )
