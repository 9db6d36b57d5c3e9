"""The COPY TO target: URI rules, object keys, and the preflight against the S3 server.

URI: ``eval_copy_to_uri`` in the adapter parses the value with ``http::Uri::from_str`` (hyperium
http, src/uri/path.rs ``scan_path_and_query``); keys: ``S3KeyManager``
(src/storage-types/src/sinks/s3_oneshot_sink.rs); preflight: ``preflight()`` in the same file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.support.materialize_standin.errors import MzError

_PATH_ALLOWED = (
    {0x21, 0x3D, ord("|"), ord("~"), ord('"'), ord("{"), ord("}")}
    | set(range(0x24, 0x3C))
    | set(range(0x40, 0x60))
    | set(range(0x61, 0x7B))
)
_AUTHORITY_ALLOWED = set(
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@[]%"
)
_MAX_URI = 65534


def _url_error(reason: str) -> MzError:
    return MzError(f"could not parse COPY TO target url: {reason}")


def _check_path(path_and_query: str) -> None:
    path, _, _query = path_and_query.partition("?")
    for char in path:
        # Non-ASCII is accepted by http >= 1.3 only; which http Materialize locks is UNCONFIRMED.
        if ord(char) < 0x80 and ord(char) not in _PATH_ALLOWED:
            raise _url_error("invalid uri character")
    # UNCONFIRMED: the query part's character set; here only spaces, controls and DEL are refused.
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in _query):
        raise _url_error("invalid uri character")


def parse_target(value: str | None) -> tuple[str, str]:
    """(bucket, path) of the target; the path has no leading or trailing '/' and is not decoded."""
    if value is None:
        raise MzError("COPY TO target value can not be null")
    if len(value) > _MAX_URI:
        raise _url_error("uri too long")
    if value == "":
        raise _url_error("empty string")
    without_fragment = value.split("#", 1)[0]  # http truncates the fragment
    scheme, separator, rest = without_fragment.partition("://")
    if not separator:
        _check_path(without_fragment)
        raise MzError("only 's3://...' urls are supported as COPY TO target")
    cut = min((rest.index(c) for c in "/?" if c in rest), default=len(rest))
    authority, path_and_query = rest[:cut], rest[cut:]
    if authority == "":
        # DERIVED from http's parser: "s3://" is "empty string", "s3:///x" is "invalid format"
        raise _url_error("empty string" if not path_and_query else "invalid format")
    if any(ord(c) >= 0x80 or ord(c) not in _AUTHORITY_ALLOWED for c in authority):
        raise _url_error("invalid uri character")
    _check_path(path_and_query)
    if scheme != "s3":  # scheme_str() != Some("s3"), case-sensitive
        raise MzError("only 's3://...' urls are supported as COPY TO target")
    host = authority.rsplit("@", 1)[-1]
    host = host if host.startswith("[") else host.split(":", 1)[0]
    path = path_and_query.split("?", 1)[0].strip("/")  # uri.path(), trimmed of every leading/trailing '/'
    return host, path


@dataclass(frozen=True)
class KeyManager:
    """S3KeyManager: ``object_key_prefix = format!("{}/mz-{}-", path, sink_id)``."""

    bucket: str
    path: str
    sink_id: str

    @property
    def object_key_prefix(self) -> str:
        return f"{self.path}/mz-{self.sink_id}-"

    def data_key(self, batch: int, file_index: int, extension: str) -> str:
        return f"{self.object_key_prefix}batch-{batch:04d}-{file_index:04d}.{extension}"

    @property
    def sentinel_key(self) -> str:
        return f"{self.object_key_prefix}INCOMPLETE"

    @property
    def path_prefix(self) -> str:
        """The raw path without a trailing '/': ``object_key_prefix.rsplit_once('/').0``."""
        return self.object_key_prefix.rsplit("/", 1)[0]


def preflight(s3: Any, keys: KeyManager) -> None:
    """preflight(): one un-paginated listing of the raw prefix, the DeleteObject probe, the sentinel."""
    from botocore.exceptions import ClientError

    try:
        # mz_aws_util::s3::list_bucket_path: one list_objects_v2 call with the prefix, no delimiter
        listed = s3.list_objects_v2(Bucket=keys.bucket, Prefix=keys.path_prefix)
    except ClientError as error:  # UNCONFIRMED: how Materialize words a failed listing
        raise MzError(str(error)) from error
    count = len(listed.get("Contents", []))
    if count:
        raise MzError(f"S3 bucket path is not empty, contains {count} objects")
    try:
        s3.delete_object(Bucket=keys.bucket, Key=keys.data_key(0, 0, "delete_object_test"))
    except ClientError as error:
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if status == 403:
            raise MzError("AccessDenied error when using DeleteObject") from error
        if status != 404:
            raise MzError(f"Error when using DeleteObject: {error}") from error
    s3.put_object(Bucket=keys.bucket, Key=keys.sentinel_key, Body=b"")
