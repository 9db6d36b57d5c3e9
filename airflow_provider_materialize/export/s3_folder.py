"""The export's target: one S3 folder, parsed and checked from the ``s3_uri`` the user gave."""

from __future__ import annotations

import re
from dataclasses import dataclass

_BUCKET_PATTERN = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")


@dataclass(frozen=True)
class S3Folder:
    """A target folder: every object the export writes lives directly under ``prefix``."""

    bucket: str
    prefix: str  # never empty; ends with "/"

    @classmethod
    def parse(cls, uri: object) -> S3Folder:
        """Parse ``s3://bucket/path/`` (the trailing slash is optional: the target is a folder).

        A bucket root is refused, and so is a path with an empty, ``.`` or ``..`` segment
        (``s3://bkt//`` included: a template that rendered an empty folder name), so that nothing
        the export lists, writes or deletes can lie outside one real folder.
        """
        text = uri.strip() if isinstance(uri, str) else ""
        match = re.fullmatch(r"s3://([^/]+)(?:/(.*))?", text, re.DOTALL)
        if match is None:
            raise ValueError(f"s3_uri {uri!r} is not an S3 folder URI like 's3://bucket/path/'")
        bucket, path = match.group(1), (match.group(2) or "")
        if not _BUCKET_PATTERN.match(bucket):
            raise ValueError(f"s3_uri {uri!r}: {bucket!r} is not a valid bucket name")
        if not path:
            raise ValueError(
                f"s3_uri {uri!r} is a bucket root: exports need a folder of their own, "
                f"e.g. s3://{bucket}/exports/"
            )
        segments = path.removesuffix("/").split("/")
        if any(segment in ("", ".", "..") for segment in segments):
            raise ValueError(
                f"s3_uri {uri!r} has an empty, '.' or '..' path segment (did a template render an "
                "empty folder name?)"
            )
        if any(ch in path for ch in "*?\n\r\x00"):
            raise ValueError(f"s3_uri {uri!r} contains wildcard or control characters")
        return cls(bucket=bucket, prefix="".join(f"{segment}/" for segment in segments))

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def key(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def key_uri(self, name: str) -> str:
        return f"s3://{self.bucket}/{self.key(name)}"

    def name_of(self, key: str) -> str:
        """The name of ``key`` inside the folder (``key`` must lie under it)."""
        return key[len(self.prefix) :]
