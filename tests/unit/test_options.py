from __future__ import annotations

import pytest

from airflow_provider_materialize.export.options import (
    DEFAULT_MAX_FILE_SIZE,
    S3Folder,
    parse_size,
    validate_client_file_size,
    validate_compression,
    validate_format,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1234, 1234),
        ("1234", 1234),
        ("2g", 2_000_000_000),
        ("2GB", 2_000_000_000),
        ("256MB", 256_000_000),
        ("256 mb", 256_000_000),
        ("16MB", 16_000_000),
        ("512MiB", 512 * 1024**2),
        ("1GiB", 1024**3),
        ("1.5kb", 1500),
        ("4tb", 4 * 1000**4),
        ("100b", 100),
    ],
)
def test_parse_size_understands_decimal_and_binary_units(value, expected) -> None:
    assert parse_size(value) == expected


@pytest.mark.parametrize(
    "value", ["", "MB", "12 parsecs", "1e3", "-1MB", "1,000", "1 M B", True, 1.5, None, 0, -3]
)
def test_parse_size_rejects_what_is_not_a_size(value) -> None:
    with pytest.raises(ValueError, match="max_file_size"):
        parse_size(value)


def test_default_file_size_is_materializes_256mb() -> None:
    assert parse_size("256MB") == DEFAULT_MAX_FILE_SIZE


def test_client_mode_needs_at_least_one_megabyte() -> None:
    assert validate_client_file_size(1_000_000) == 1_000_000
    with pytest.raises(ValueError, match="at least 1MB"):
        validate_client_file_size(999_999)


@pytest.mark.parametrize(
    ("uri", "bucket", "prefix"),
    [
        ("s3://bkt/path/", "bkt", "path/"),
        ("s3://bkt/path", "bkt", "path/"),
        ("s3://bkt/a/b/run=1/", "bkt", "a/b/run=1/"),
        ("s3://bkt", "bkt", ""),
        ("s3://bkt/", "bkt", ""),
        (" s3://my.bucket-1/x ", "my.bucket-1", "x/"),
    ],
)
def test_s3_folder_parse(uri, bucket, prefix) -> None:
    folder = S3Folder.parse(uri)
    assert (folder.bucket, folder.prefix) == (bucket, prefix)
    assert folder.key_uri("part-00000.parquet") == f"s3://{bucket}/{prefix}part-00000.parquet"


@pytest.mark.parametrize(
    "uri",
    [
        "",
        "bkt/path",
        "s3:/bkt/x",
        "s3a://bkt/x",
        "https://bkt/x",
        "s3://",
        "s3://B/x",
        "s3://ab/x",
        "s3://bkt/a//b",
        "s3://bkt/../x",
        "s3://bkt/./x",
        "s3://bkt/x*",
        "s3://bkt/x\ny",
    ],
)
def test_s3_folder_rejects_malformed_uris(uri) -> None:
    with pytest.raises(ValueError, match="s3_uri"):
        S3Folder.parse(uri)


def test_run1_and_run10_are_different_folders() -> None:
    assert not S3Folder.parse("s3://bkt/p/run10/x").prefix.startswith(
        S3Folder.parse("s3://bkt/p/run1").prefix
    )


def test_formats_and_compressions() -> None:
    assert validate_format("Parquet") == "parquet"
    with pytest.raises(ValueError, match="supported: parquet"):
        validate_format("orc")
    assert [validate_compression(c) for c in ("SNAPPY", "zstd", "gzip", "lz4", "none", None)] == [
        "snappy",
        "zstd",
        "gzip",
        "lz4",
        "none",
        "none",
    ]
    with pytest.raises(ValueError, match="choose one of"):
        validate_compression("brotli")
