"""Parsing and checking the target folder URI."""

from __future__ import annotations

import pytest

from airflow_provider_materialize.export.s3_folder import S3Folder


@pytest.mark.parametrize(
    ("uri", "bucket", "prefix"),
    [
        ("s3://bkt/path/", "bkt", "path/"),
        ("s3://bkt/path", "bkt", "path/"),
        ("s3://bkt/a/b/run=1/", "bkt", "a/b/run=1/"),
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
        "s3://bkt",
        "s3://bkt/",
        "s3://bkt//",
        "s3://bkt///",
        "s3://bkt//x",
        "s3://bkt/a//",
        "s3://bkt/a/..",
        "s3://bkt/a/./",
        None,
        42,
    ],
)
def test_s3_folder_rejects_malformed_uris(uri) -> None:
    with pytest.raises(ValueError, match="s3_uri"):
        S3Folder.parse(uri)


def test_run1_and_run10_are_different_folders() -> None:
    assert not S3Folder.parse("s3://bkt/p/run10/x").prefix.startswith(
        S3Folder.parse("s3://bkt/p/run1").prefix
    )
