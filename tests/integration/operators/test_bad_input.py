"""Bad input fails with a clear error before anything is written to S3."""

from __future__ import annotations

import pytest

from airflow_provider_materialize.export.client.conversions import ValueConversionError
from airflow_provider_materialize.export.client.type_plan import UnsupportedColumnsError
from airflow_provider_materialize.operators.copy_to_s3 import MaterializeCopyToS3Operator
from tests.support.operator_run import FakeTaskInstance, run_operator
from tests.support.s3_objects import list_keys

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("connections")]

GOOD_QUERY = "SELECT 1 AS x"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"source": "x; DROP TABLE y"}, "is not a table or view name"),
        ({"source": '"a"."b"."c"."d"'}, "4 name parts"),
        ({"source": "a..b"}, "is not a table or view name"),
        ({"source": "t", "query": GOOD_QUERY}, "exactly one of"),
        ({}, "exactly one of"),
        ({"query": "DELETE FROM t"}, "must be a SELECT"),
        ({"query": GOOD_QUERY, "s3_uri": "s3:/bucket/x"}, "is not an S3 folder URI"),
        ({"query": GOOD_QUERY, "s3_uri": "https://bucket/x"}, "is not an S3 folder URI"),
        ({"query": GOOD_QUERY, "s3_uri": "s3://Bad_Bucket/x"}, "not a valid bucket name"),
        ({"query": GOOD_QUERY, "s3_uri": "s3://bucket/a//b"}, "empty, '.' or '..'"),
        ({"query": GOOD_QUERY, "max_file_size": "12 parsecs"}, "is not a size"),
        ({"query": GOOD_QUERY, "max_file_size": "-5MB"}, "is not a size"),
        ({"query": GOOD_QUERY, "max_file_size": 0}, "must be positive"),
        ({"query": GOOD_QUERY, "max_file_size": "100KB"}, "at least 1MB"),
        ({"query": GOOD_QUERY, "format": "csv"}, "csv is available in native mode"),
        ({"query": GOOD_QUERY, "compression": "brotli"}, "compression 'brotli' is not supported"),
        ({"query": GOOD_QUERY, "reader": "odbc"}, "reader 'odbc'"),
    ],
)
def test_bad_arguments_fail_before_anything_is_written(kwargs, message, s3, bucket) -> None:
    # Arguments that Airflow renders are judged in execute(); the others already when the DAG is parsed
    kwargs.setdefault("s3_uri", f"s3://{bucket}/x/")
    with pytest.raises(ValueError, match=message):
        run_operator(**kwargs)
    assert list_keys(s3, bucket) == []


@pytest.mark.parametrize(
    ("field", "rendered", "message"),
    [
        ("source", "x; DROP TABLE y", "is not a table or view name"),
        ("s3_uri", "s3://", "is not an S3 folder URI"),
        ("max_file_size", "2 lightyears", "is not a size"),
    ],
)
def test_bad_rendered_templates_fail_before_anything_is_written(field, rendered, message, s3, bucket) -> None:
    operator = MaterializeCopyToS3Operator(
        task_id="export",
        source="{{ params.source }}",
        s3_uri=f"s3://{bucket}/{{{{ run_id }}}}/",
        max_file_size="{{ params.size }}",
    )
    operator.source, operator.s3_uri, operator.max_file_size = "all_types", f"s3://{bucket}/out/", "16MB"
    setattr(operator, field, rendered)
    with pytest.raises(ValueError, match=message):
        operator.execute({"ti": FakeTaskInstance()})  # type: ignore[arg-type]
    assert list_keys(s3, bucket) == []


@pytest.mark.parametrize("conn_arg", ["materialize_conn_id", "aws_conn_id"])
def test_missing_connections_are_named(conn_arg, s3, bucket) -> None:
    from airflow.sdk.exceptions import AirflowNotFoundException

    with pytest.raises(
        AirflowNotFoundException, match=r"'does_not_exist' is not defined.*AIRFLOW_CONN_DOES_NOT_EXIST"
    ):
        run_operator(query=GOOD_QUERY, s3_uri=f"s3://{bucket}/x/", **{conn_arg: "does_not_exist"})
    assert list_keys(s3, bucket) == []


def test_unsupported_types_are_all_named_before_writing(s3, bucket) -> None:
    query = "SELECT 1 AS ok, interval '1 day' AS iv, 'pg_class'::regclass::oid AS o, point(1, 2) AS p"
    with pytest.raises(UnsupportedColumnsError) as error:
        run_operator(query=query, s3_uri=f"s3://{bucket}/x/")
    assert "iv (interval), o (oid), p (point)" in str(error.value) and "::text" in str(error.value)
    assert list_keys(s3, bucket) == []


def test_a_second_statement_can_never_run(postgres, s3, bucket) -> None:
    postgres.execute("CREATE TABLE IF NOT EXISTS precious (x int)")
    with pytest.raises(Exception, match="syntax error"):
        run_operator(query="SELECT 1; DROP TABLE precious", s3_uri=f"s3://{bucket}/x/")
    postgres.execute("SELECT * FROM precious")
    assert list_keys(s3, bucket) == []


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("SELECT 'NaN'::numeric AS n", "Cannot represent special numeric value"),
        ("SELECT 0.00000000001::numeric AS n", "cannot represent decimal value"),
        ("SELECT 1e30::numeric AS n", "cannot represent decimal value"),
        ("SELECT 'infinity'::timestamptz AS t", "'infinity'"),
        ("SELECT '-infinity'::date AS d", "'infinity'"),
    ],
)
def test_values_parquet_cannot_hold_fail_clearly(query, message, s3, bucket) -> None:
    with pytest.raises(ValueConversionError, match=message):
        run_operator(query=query, s3_uri=f"s3://{bucket}/v/")
    assert "v/_manifest.json" not in list_keys(s3, bucket)
