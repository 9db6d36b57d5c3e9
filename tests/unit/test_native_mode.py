"""Native mode's SQL, option checks and error explanations, without any server."""

from __future__ import annotations

import pytest

from airflow_provider_materialize.dialect import (
    copy_relation,
    copy_to_s3_sql,
    create_aws_connection_sql,
    create_secret_sql,
    has_top_level_order_by,
    quote_literal,
    validate_connection_sql,
)
from airflow_provider_materialize.export.native import NativeExportRequest, parse_copy_tag
from airflow_provider_materialize.export.native_errors import NativeCopyError, explain_copy_error
from airflow_provider_materialize.export.options import (
    S3Folder,
    csv_copy_options,
    parse_size,
    validate_native_file_size,
    validate_native_format,
)
from airflow_provider_materialize.export.output_folder import (
    MATERIALIZE_DATA_FILE,
    MATERIALIZE_MARKER,
    RunIdentity,
)
from airflow_provider_materialize.operators.copy_to_s3 import MaterializeCopyToS3Operator


def test_copy_statement_for_an_object_on_a_folder() -> None:
    request = NativeExportRequest(
        relation=copy_relation("analytics.Orders", None),
        select="SELECT * FROM analytics.orders",
        folder=S3Folder.parse("s3://bucket/exports/2026-11-24/"),
        identity=RunIdentity("d", "r", "t", 1),
        aws_connection="ops.s3_writer",
        max_file_size=parse_size("256MB"),
    )
    assert request.statement == (
        'COPY "analytics"."orders" TO \'s3://bucket/exports/2026-11-24\' WITH '
        '(AWS CONNECTION = "ops"."s3_writer", FORMAT = \'parquet\', MAX FILE SIZE = 256000000)'
    )


def test_copy_statement_for_a_query_with_csv_options() -> None:
    sql = copy_to_s3_sql(
        copy_relation(None, "SELECT id FROM t WHERE note = 'a''b';"),
        "s3://b/p",
        "conn",
        "csv",
        16_000_000,
        {"HEADER": True, "DELIMITER": "|", "QUOTE": "'"},
    )
    assert sql == (
        "COPY (SELECT id FROM t WHERE note = 'a''b') TO 's3://b/p' WITH (AWS CONNECTION = \"conn\", "
        "FORMAT = 'csv', MAX FILE SIZE = 16000000, HEADER = true, DELIMITER = '|', QUOTE = '''')"
    )


def test_hostile_names_and_targets_cannot_change_the_statement() -> None:
    hostile_source = '"x""; DROP TABLE y; --"'  # a quoted name may hold anything: it stays one name
    hostile_connection = '"c"", FORMAT = \'csv"'
    sql = copy_to_s3_sql(
        copy_relation(hostile_source, None),
        "s3://bkt/it's'); DROP TABLE z; --",
        hostile_connection,
        "parquet",
        16_000_000,
    )
    assert sql == (
        "COPY \"x\"\"; DROP TABLE y; --\" TO 's3://bkt/it''s''); DROP TABLE z; --' WITH "
        '(AWS CONNECTION = "c"", FORMAT = \'csv", FORMAT = \'parquet\', MAX FILE SIZE = 16000000)'
    )
    with pytest.raises(ValueError, match="not a table or view name"):
        copy_relation("x; DROP TABLE y", None)
    with pytest.raises(ValueError, match="not a table or view name"):
        copy_to_s3_sql('"t"', "s3://bkt/p", "conn; DROP TABLE y", "parquet", 16_000_000)
    with pytest.raises(ValueError, match="NUL"):
        quote_literal("a\x00b")
    with pytest.raises(ValueError, match="unknown CSV option"):
        copy_to_s3_sql('"t"', "s3://b/p", "c", "csv", 16_000_000, {"ESCAPE) ; DROP": "x"})


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("SELECT * FROM t ORDER BY id", True),
        ("select * from t order\n  by 1 limit 5", True),
        ("SELECT * FROM (SELECT * FROM t ORDER BY id LIMIT 10) AS s", False),
        ("SELECT id, row_number() OVER (ORDER BY id) FROM t", False),
        ("SELECT 'ORDER BY' AS s, \"order by\" FROM t -- ORDER BY x", False),
        ("SELECT /* ORDER BY */ 1, $$ ORDER BY $$, $q$ ORDER BY $q$", False),
        ("SELECT border_by FROM t", False),
    ],
)
def test_order_by_is_found_only_at_the_top_level(query: str, expected: bool) -> None:
    assert has_top_level_order_by(query) is expected


def test_aws_connection_statements() -> None:
    assert create_aws_connection_sql(
        "s3_writer", {"ASSUME ROLE ARN": "arn:aws:iam::1:role/mz", "REGION": "eu-west-1"}, {}
    ) == (
        'CREATE CONNECTION IF NOT EXISTS "s3_writer" TO AWS '
        "(ASSUME ROLE ARN = 'arn:aws:iam::1:role/mz', REGION = 'eu-west-1')"
    )
    assert create_aws_connection_sql(
        "minio",
        {"ACCESS KEY ID": "k", "ENDPOINT": "http://minio:9000"},
        {"SECRET ACCESS KEY": "minio_secret"},
    ) == (
        "CREATE CONNECTION IF NOT EXISTS \"minio\" TO AWS (ACCESS KEY ID = 'k', "
        "ENDPOINT = 'http://minio:9000', SECRET ACCESS KEY = SECRET \"minio_secret\")"
    )
    assert create_secret_sql("s", "it's") == [
        "CREATE SECRET IF NOT EXISTS \"s\" AS 'it''s'",
        "ALTER SECRET \"s\" AS 'it''s'",
    ]
    assert validate_connection_sql("ops.s3_writer") == 'VALIDATE CONNECTION "ops"."s3_writer"'


def test_file_size_limits_are_materializes() -> None:
    assert validate_native_file_size(parse_size("16MB")) == 16_000_000
    assert validate_native_file_size(parse_size("4GB")) == 4_000_000_000
    for too_small_or_big in ("15MB", "15.9MB", "4001MB", "4GiB"):
        with pytest.raises(ValueError, match="between 16MB and 4GB in native mode"):
            validate_native_file_size(parse_size(too_small_or_big))


def test_formats_and_csv_options() -> None:
    assert validate_native_format("CSV") == "csv"
    with pytest.raises(ValueError, match="choose one of parquet, csv"):
        validate_native_format("json")
    assert csv_copy_options("csv", True, "\t", None) == {"HEADER": True, "DELIMITER": "\t"}
    assert csv_copy_options("csv", None, None, None) == {}
    with pytest.raises(ValueError, match="csv_header, csv_quote only apply to format='csv'"):
        csv_copy_options("parquet", False, None, "'")
    with pytest.raises(ValueError, match="single character"):
        csv_copy_options("csv", None, "||", None)
    with pytest.raises(ValueError, match="must be different"):
        csv_copy_options("csv", None, "'", "'")


def test_copy_tag_and_materialize_object_names() -> None:
    assert parse_copy_tag("COPY 1234") == 1234
    with pytest.raises(NativeCopyError, match="instead of 'COPY <rows>'"):
        parse_copy_tag("SELECT 1")
    assert MATERIALIZE_DATA_FILE.match("mz-u123-batch-0000-0001.parquet")
    assert MATERIALIZE_DATA_FILE.match("mz-t7-batch-0012-0000.csv")
    assert not MATERIALIZE_DATA_FILE.match("part-00000.parquet")
    assert MATERIALIZE_MARKER.match("mz-u123-INCOMPLETE")


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
        ("something new", "validate_aws_connection('s3_writer')"),
    ],
)
def test_materialize_errors_keep_their_text_and_say_what_to_do(message: str, hint: str) -> None:
    explained = explain_copy_error(message, S3Folder.parse("s3://bkt/p/run1/"), "s3_writer")
    assert message in explained and hint in explained


def test_operator_checks_native_options_when_the_dag_is_parsed() -> None:
    def build(**kwargs: object) -> MaterializeCopyToS3Operator:
        kwargs = {"task_id": "t", "source": "v", "s3_uri": "s3://bkt/p/", "aws_connection": "c", **kwargs}
        return MaterializeCopyToS3Operator(**kwargs)  # type: ignore[arg-type]

    build(format="csv", csv_header=True, max_file_size="1GB")
    with pytest.raises(ValueError, match="between 16MB and 4GB"):
        build(max_file_size="1MB")
    with pytest.raises(ValueError, match="does not accept ORDER BY"):
        build(source=None, query="SELECT * FROM v ORDER BY 1")
    with pytest.raises(ValueError, match="bucket root: native mode needs a folder"):
        build(s3_uri="s3://bkt/")
    with pytest.raises(ValueError, match="compression, s3_extra_args only apply to client mode"):
        build(compression="zstd", s3_extra_args={"ServerSideEncryption": "AES256"})
    with pytest.raises(ValueError, match="only apply to format='csv'"):
        build(csv_delimiter="|")
    with pytest.raises(ValueError, match="csv is available in native mode"):
        build(aws_connection=None, format="csv")
    # templated values are checked once rendered, in execute
    build(aws_connection="{{ params.conn }}", max_file_size="{{ params.size }}")
    build(max_file_size="{{ params.size }}")
