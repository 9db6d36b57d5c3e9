"""Validation of the user-facing export options: sizes, formats, compression and the S3 folder."""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_MAX_FILE_SIZE = 256_000_000  # 256 MB, Materialize's default for COPY ... TO 's3://...'
MIN_CLIENT_FILE_SIZE = 1_000_000
SUPPORTED_FORMATS = ("parquet",)
SUPPORTED_COMPRESSIONS = ("snappy", "zstd", "gzip", "lz4", "none")

_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "m": 1000**2,
    "mb": 1000**2,
    "g": 1000**3,
    "gb": 1000**3,
    "t": 1000**4,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
_SIZE_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")
_BUCKET_PATTERN = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")


def parse_size(value: int | str) -> int:
    """Turn ``268435456``, ``"2g"``, ``"256MB"`` or ``"512MiB"`` into a byte count.

    ``k``/``KB``/``M``/``MB``/``G``/``GB``/``T``/``TB`` are decimal (powers of 1000);
    ``KiB``/``MiB``/``GiB``/``TiB`` are binary (powers of 1024). Case does not matter.
    """
    if isinstance(value, bool):
        raise ValueError(
            f"max_file_size must be a byte count or a size string such as '256MB', not {value!r}"
        )
    if isinstance(value, int):
        size = value
    elif isinstance(value, str):
        match = _SIZE_PATTERN.match(value)
        unit = match.group(2).lower() if match else None
        if match is None or unit not in _SIZE_UNITS:
            raise ValueError(
                f"max_file_size {value!r} is not a size: use a byte count or a number with a unit, "
                "e.g. '256MB', '2g' or '512MiB' (KB/MB/GB/TB are powers of 1000, KiB/MiB/GiB/TiB of 1024)"
            )
        size = int(float(match.group(1)) * _SIZE_UNITS[unit])
    else:
        raise ValueError(f"max_file_size must be an int or a size string, not {type(value).__name__}")
    if size <= 0:
        raise ValueError(f"max_file_size must be positive, got {value!r}")
    return size


def validate_client_file_size(size: int) -> int:
    """Client mode writes files of at least 1 MB so that per-file overhead stays negligible."""
    if size < MIN_CLIENT_FILE_SIZE:
        raise ValueError(f"max_file_size must be at least 1MB in client mode, got {size} bytes")
    return size


def validate_format(file_format: str) -> str:
    normalised = file_format.lower()
    if normalised not in SUPPORTED_FORMATS:
        native = " (csv is available in native mode, with aws_connection=)" if normalised == "csv" else ""
        raise ValueError(
            f"format {file_format!r} is not supported in client mode; supported: "
            f"{', '.join(SUPPORTED_FORMATS)}{native}"
        )
    return normalised


def validate_compression(compression: str | None) -> str:
    normalised = (compression or "none").lower()
    if normalised not in SUPPORTED_COMPRESSIONS:
        raise ValueError(
            f"compression {compression!r} is not supported; choose one of {', '.join(SUPPORTED_COMPRESSIONS)}"
        )
    return normalised


@dataclass(frozen=True)
class S3Folder:
    """A target folder: every object the export writes lives directly under ``prefix``."""

    bucket: str
    prefix: str  # "" for the bucket root, otherwise ends with "/"

    @classmethod
    def parse(cls, uri: str) -> S3Folder:
        """Parse ``s3://bucket/path/`` (the trailing slash is optional: the target is a folder)."""
        match = re.fullmatch(r"s3://([^/]+)(?:/(.*))?", uri.strip()) if isinstance(uri, str) else None
        if match is None:
            raise ValueError(f"s3_uri {uri!r} is not an S3 folder URI like 's3://bucket/path/'")
        bucket, path = match.group(1), (match.group(2) or "")
        if not _BUCKET_PATTERN.match(bucket):
            raise ValueError(f"s3_uri {uri!r}: {bucket!r} is not a valid bucket name")
        segments = path.strip("/").split("/") if path.strip("/") else []
        if any(segment in ("", ".", "..") for segment in segments):
            raise ValueError(f"s3_uri {uri!r} has an empty, '.' or '..' path segment")
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


# --- Native mode: the limits Materialize's COPY ... TO 's3://...' enforces --------------------------

NATIVE_FORMATS = ("parquet", "csv")
MIN_NATIVE_FILE_SIZE = 16_000_000  # 16 MB; Materialize counts MB and GB in powers of 1000
MAX_NATIVE_FILE_SIZE = 4_000_000_000  # 4 GB


def validate_native_file_size(size: int) -> int:
    if not MIN_NATIVE_FILE_SIZE <= size <= MAX_NATIVE_FILE_SIZE:
        raise ValueError(
            f"max_file_size must be between 16MB and 4GB in native mode (Materialize's limits), "
            f"got {size:,} bytes"
        )
    return size


def validate_native_format(file_format: str) -> str:
    normalised = file_format.lower()
    if normalised not in NATIVE_FORMATS:
        raise ValueError(
            f"format {file_format!r} is not supported by Materialize's COPY TO S3; "
            f"choose one of {', '.join(NATIVE_FORMATS)}"
        )
    return normalised


def csv_copy_options(
    file_format: str, header: bool | None, delimiter: str | None, quote: str | None
) -> dict[str, str | bool]:
    """The CSV options of a native export as COPY option names; refused for Parquet."""
    given = {"csv_header": header, "csv_delimiter": delimiter, "csv_quote": quote}
    if file_format != "csv":
        if any(value is not None for value in given.values()):
            names = ", ".join(name for name, value in given.items() if value is not None)
            raise ValueError(f"{names} only apply to format='csv'; remove them or set format='csv'")
        return {}
    options: dict[str, str | bool] = {}
    if header is not None:
        options["HEADER"] = bool(header)
    for name, option, value in (("csv_delimiter", "DELIMITER", delimiter), ("csv_quote", "QUOTE", quote)):
        if value is None:
            continue
        if not isinstance(value, str) or len(value) != 1 or value in "\r\n":
            raise ValueError(f"{name} must be a single character other than a line break, got {value!r}")
        options[option] = value
    if delimiter is not None and delimiter == quote:
        raise ValueError("csv_delimiter and csv_quote must be different characters")
    return options
