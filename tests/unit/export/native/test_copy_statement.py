"""Native mode's COPY statement, object names and error explanations, without any server."""

from __future__ import annotations

import pytest

from airflow_provider_materialize.export.native.copy_runner import parse_copy_tag
from airflow_provider_materialize.export.native.error_hints import NativeCopyError, explain_copy_error
from airflow_provider_materialize.export.native.file_names import (
    batch_order,
    is_data_file,
    is_in_progress_marker,
)
from airflow_provider_materialize.export.native.writer import copy_statement
from airflow_provider_materialize.export.ownership import RunIdentity
from airflow_provider_materialize.export.request import ExportArguments, build_request
from airflow_provider_materialize.export.s3_folder import S3Folder


def test_copy_statement_for_an_object_on_a_folder() -> None:
    arguments = ExportArguments(
        source="analytics.Orders",
        s3_uri="s3://bucket/exports/2026-11-24/",
        aws_connection="ops.s3_writer",
        max_file_size="256MB",
    )
    request = build_request(arguments, RunIdentity("d", "r", "t", 1))
    assert copy_statement(request) == (
        'COPY "analytics"."orders" TO \'s3://bucket/exports/2026-11-24\' WITH '
        '(AWS CONNECTION = "ops"."s3_writer", FORMAT = \'parquet\', MAX FILE SIZE = 268435456)'
    )


def test_copy_tag_and_materialize_object_names() -> None:
    assert parse_copy_tag("COPY 1234") == 1234
    with pytest.raises(NativeCopyError, match="instead of 'COPY <rows>'"):
        parse_copy_tag("SELECT 1")
    assert is_data_file("mz-u123-batch-0000-0001.parquet")
    assert is_data_file("mz-t7-batch-0012-0000.csv")
    assert not is_data_file("part-00000.parquet")
    assert is_in_progress_marker("mz-u123-INCOMPLETE") and not is_data_file("mz-u123-INCOMPLETE")
    names = [f"mz-u1-batch-{batch}.parquet" for batch in ("0001-0000", "0000-0010", "0000-0002")]
    assert sorted(names, key=batch_order) == [names[2], names[1], names[0]]


@pytest.mark.parametrize(
    ("message", "hint"),
    [
        ("S3 bucket path is not empty, contains 3 objects", "raw prefix 'p/run1'"),
        ("AccessDenied: Access Denied", "s3:ListBucket on arn:aws:s3:::bkt"),
        ("unknown catalog item 's3_writer'", "create_aws_connection('s3_writer'"),
        ('permission denied for CONNECTION "s3_writer"', "GRANT USAGE ON CONNECTION s3_writer"),
        ('Cannot encode the following columns/types: ["d": Interval]', "Cast or leave out the named columns"),
        ("Cannot represent special numeric value NaN in parquet", "decimal128(38, s)"),
        ("unknown cluster 'big'", "Check the cluster name"),
        # texts Materialize raises, as its source has them (error_hints.py names the files)
        ("S3 bucket path is not empty, contains 1000 objects", "raw prefix 'p/run1'"),
        ("AccessDenied error when using DeleteObject", "s3:DeleteObject"),
        ('"orders" is a table not a connection', "create_aws_connection('s3_writer'"),
        ('connection "u1.u3.orders" does not exist', "create_aws_connection('s3_writer'"),
        ("only AWS CONNECTION is supported for COPY ... TO <expr>", "create_aws_connection('s3_writer'"),
        ("MAX FILE SIZE cannot be less than 16MB", "16MB to 4GB"),
        ("MAX FILE SIZE cannot be greater than 4GB", "16MB to 4GB"),
        ("COPY delimiter must be a single one-byte character", "one byte"),
        ("COPY quote must be a single one-byte character", "one byte"),
        ("COPY delimiter and quote must be different", "one byte"),
        ("only 's3://...' urls are supported as COPY TO target", "s3://bucket/folder/"),
        ('Cannot encode the following columns/types: ["iv: Interval"]', "Cast or leave out"),
        ('Cannot encode the following columns/types: ["iv: Interval"]', "Trigger form, set source to a view"),
        ("Decimal value 1e40 out of range for parquet", "Trigger form, set source to a view"),
        ("Decimal value 1e40 out of range for column with precision 38", "decimal128(38, s)"),
        ("cannot represent decimal value 5.4567890123456789 in column with scale 10", "decimal128(38, s)"),
        ("Decimal value 1e40 out of range for parquet", "decimal128(38, s)"),
        ("Cannot represent special numeric value NaN in parquet", "decimal128(38, s)"),
        ("something new", "validate_aws_connection('s3_writer')"),
    ],
)
def test_materialize_errors_keep_their_text_and_say_what_to_do(message: str, hint: str) -> None:
    explained = explain_copy_error(message, S3Folder.parse("s3://bkt/p/run1/"), "s3_writer")
    assert message in explained and hint in explained
