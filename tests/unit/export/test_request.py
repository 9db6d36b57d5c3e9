"""Every argument rule, in both modes, applied to rendered values (no server, no S3)."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_materialize.export.mode_rules import DEFAULT_MAX_FILE_SIZE, MODE_RULES, ExportMode
from airflow_provider_materialize.export.ownership import RunIdentity
from airflow_provider_materialize.export.request import (
    ExportArguments,
    ExportRequest,
    build_request,
    check_untemplated_arguments,
)
from airflow_provider_materialize.export.sizes import parse_size

IDENTITY = RunIdentity("d", "r", "t", 1)


def client(**given: Any) -> ExportRequest:
    return build_request(ExportArguments(**{"source": "v", "s3_uri": "s3://bkt/p/", **given}), IDENTITY)


def native(**given: Any) -> ExportRequest:
    return client(**{"aws_connection": "s3_writer", **given})


def test_the_mode_follows_aws_connection() -> None:
    assert client().mode is ExportMode.CLIENT
    assert client(aws_connection="").mode is ExportMode.CLIENT  # a template that rendered empty
    assert native().mode is ExportMode.NATIVE


def test_a_client_request_holds_the_normalised_values() -> None:
    request = client(
        query="SELECT 1 AS x;", source=None, s3_uri="s3://bkt/a/b", file_format="PARQUET", compression="ZSTD"
    )
    assert request.select == "SELECT 1 AS x" and request.copy_relation == "(SELECT 1 AS x)"
    assert (request.folder.bucket, request.folder.prefix) == ("bkt", "a/b/")
    assert (request.file_format, request.compression, request.reader) == ("parquet", "zstd", "auto")
    assert request.max_file_size == DEFAULT_MAX_FILE_SIZE == parse_size("256MB") == 268_435_456
    assert request.cluster is None and request.identity == IDENTITY


@pytest.mark.parametrize(("given", "stored"), [("CSV", "csv"), ("Adbc", "adbc"), ("AUTO", "auto")])
def test_the_reader_is_stored_in_lower_case(given: str, stored: str) -> None:
    # choose_reader compares the stored name: "CSV" kept as given read through ADBC instead.
    assert client(reader=given).reader == stored


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"source": None}, "exactly one of"),
        ({"query": "SELECT 1"}, "exactly one of"),
        ({"source": 42}, "source must be text, but it rendered to int 42"),
        ({"source": {"a": 1}}, "source must be text, but it rendered to dict"),
        ({"cluster": ["c"]}, "cluster must be text"),
        ({"s3_uri": None}, "is not an S3 folder URI"),
        ({"s3_uri": 7}, "is not an S3 folder URI"),
        ({"max_file_size": "100KB"}, "client mode takes at least 1MB"),
        ({"max_file_size": 1_000_000}, "client mode takes at least 1MB"),
        ({"file_format": "csv"}, "csv is available in native mode: give aws_connection="),
        ({"s3_uri": "s3://bkt"}, "is a bucket root"),
        ({"s3_uri": "s3://bkt//"}, "empty, '.' or '..' path segment"),
        ({"file_format": "orc"}, "choose one of parquet"),
        ({"compression": "brotli"}, "compression 'brotli' is not supported"),
        ({"reader": "odbc"}, "reader 'odbc' is not supported"),
        ({"csv_header": True}, "csv_header applies only to format='csv' in native mode"),
    ],
)
def test_client_mode_refuses(given: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        client(**given)


def test_client_mode_accepts_its_own_options() -> None:
    request = client(
        reader="csv",
        max_file_size=1024**2,
        s3_extra_args={"ServerSideEncryption": "AES256"},
        s3_transfer_config={"max_concurrency": 2},
    )
    assert request.reader == "csv"
    assert request.s3_transfer_config == {"max_concurrency": 2}


def test_native_mode_limits_are_materializes() -> None:
    assert native(max_file_size="16MB").max_file_size == 16 * 1024**2  # both bounds are accepted
    assert native(max_file_size="4GB").max_file_size == 4 * 1024**3
    assert (
        native(max_file_size=4_000_000_000).max_file_size == 4_000_000_000
    )  # under 4GB as Materialize counts
    assert native().max_file_size == 256 * 1024**2
    for too_small_or_big in ("15MB", "15.9MB", 16_000_000, "4097MB", "4.1GB", 4 * 1024**3 + 1):
        with pytest.raises(ValueError, match=r"native mode takes 16MB to 4GB \(Materialize's limits\)"):
            native(max_file_size=too_small_or_big)


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"file_format": "json"}, "choose one of parquet, csv"),
        ({"s3_uri": "s3://bkt/"}, "is a bucket root: exports need a folder of their own"),
        ({"source": None, "query": "SELECT * FROM v ORDER BY 1"}, "does not accept ORDER BY"),
        ({"compression": "zstd", "s3_extra_args": {"A": 1}}, "compression, s3_extra_args apply only"),
        ({"reader": "csv"}, "reader applies only to client mode"),
        ({"s3_transfer_config": {"max_concurrency": 2}}, "s3_transfer_config applies only to client mode"),
        ({"csv_delimiter": "|"}, "csv_delimiter applies only to format='csv'"),
        ({"file_format": "csv", "csv_delimiter": "||"}, "single one-byte character"),
        ({"file_format": "csv", "csv_quote": "\n"}, "single one-byte character"),
        ({"file_format": "csv", "csv_delimiter": "'", "csv_quote": "'"}, "must be different"),
    ],
)
def test_native_mode_refuses(given: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        native(**given)


def test_native_csv_options_become_copy_options() -> None:
    request = native(file_format="CSV", csv_header=True, csv_delimiter="\t")
    assert request.file_format == "csv" and request.csv_options == {"HEADER": True, "DELIMITER": "\t"}
    assert native(file_format="csv").csv_options == {}
    assert native().copy_relation == '"v"'


def test_every_mode_specific_option_belongs_to_exactly_one_mode() -> None:
    owned = [name for rules in MODE_RULES.values() for name in rules.own_options]
    assert len(owned) == len(set(owned))
    assert sorted(ExportArguments(compression="zstd", csv_quote="'").given_options()) == [
        "compression",
        "csv_quote",
    ]


def test_untemplated_arguments_are_checked_when_the_dag_is_parsed() -> None:
    with pytest.raises(ValueError, match="reader 'odbc'"):
        check_untemplated_arguments(ExportArguments(source="v", reader="odbc"))
    with pytest.raises(ValueError, match="csv is available in native mode"):
        check_untemplated_arguments(ExportArguments(source="v", file_format="csv"))
    # With aws_connection given (a template perhaps), the mode is unknown until it is rendered
    templated = ExportArguments(source="v", aws_connection="{{ params.conn }}", file_format="csv")
    check_untemplated_arguments(templated)
    with pytest.raises(ValueError, match="choose one of parquet, csv"):
        check_untemplated_arguments(ExportArguments(source="v", aws_connection="c", file_format="json"))
    with pytest.raises(ValueError, match="exactly one of"):
        check_untemplated_arguments(ExportArguments())  # neither source nor query: no rendering helps
    # Templated arguments are never looked at: any value may still render into a good one
    check_untemplated_arguments(
        ExportArguments(source=object(), s3_uri="{% if x %}", max_file_size="{{ huge }}", cluster=3)
    )


@pytest.mark.parametrize(
    "target", ["s3://bkt/a b/", "s3://bkt/a%20b/", "s3://bkt/a#b/", "s3://bkt/é/", "s3://bkt/a`b/"]
)
def test_native_mode_refuses_uri_characters_materialize_would_not_write_as_given(target: str) -> None:
    with pytest.raises(ValueError, match="Materialize's COPY would refuse the URI or write other keys"):
        native(s3_uri=target)
    client(s3_uri=target)  # the worker writes such keys as given


def test_native_csv_delimiter_and_quote_are_one_byte() -> None:
    with pytest.raises(ValueError, match="one-byte"):
        native(file_format="csv", csv_delimiter="é")
    assert native(file_format="csv", csv_quote="'").csv_options == {"QUOTE": "'"}
