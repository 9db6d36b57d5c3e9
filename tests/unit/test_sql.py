"""The exact SQL the provider sends (the Materialize-specific parts included)."""

from __future__ import annotations

import pytest

from airflow_provider_materialize.sql import (
    CSV_SESSION_SQL,
    DETECT_MATERIALIZE_SQL,
    SNAPSHOT_BEGIN_SQL,
    SNAPSHOT_TIMESTAMP_SQL,
    ServerFlavor,
    copy_csv_to_stdout_sql,
    copy_relation,
    copy_to_s3_sql,
    create_aws_connection_sql,
    create_secret_sql,
    describe_sql,
    has_top_level_order_by,
    parse_qualified_name,
    quote_ident,
    quote_literal,
    quote_qualified_name,
    set_cluster_sql,
    source_select,
    type_names_sql,
    validate_connection_sql,
    wrap_select,
)


@pytest.mark.parametrize(
    ("source", "parts"),
    [
        ("orders", ["orders"]),
        ("Orders", ["orders"]),
        ("public.orders", ["public", "orders"]),
        ("materialize.public.orders", ["materialize", "public", "orders"]),
        ('"My Schema"."Order Lines"', ["My Schema", "Order Lines"]),
        ('"we""ird"', ['we"ird']),
        ('"a.b"', ["a.b"]),
        (" public . orders ", ["public", "orders"]),
        ("_x$1", ["_x$1"]),
    ],
)
def test_qualified_names_follow_sql_rules(source, parts) -> None:
    assert parse_qualified_name(source) == parts


@pytest.mark.parametrize(
    "source",
    [
        "",
        "x; DROP TABLE y",
        "a..b",
        "a.",
        ".a",
        '"unterminated',
        "1abc",
        "a b",
        "a-b",
        "a.b.c.d",
        '"a"."b"."c"."d"',
        "t -- comment",
        "t/*x*/",
        '""',
    ],
)
def test_anything_but_a_name_is_rejected(source) -> None:
    with pytest.raises(ValueError, match="source"):
        parse_qualified_name(source)


def test_quoting() -> None:
    assert quote_ident('a"b') == '"a""b"'
    assert quote_qualified_name('Public."Weird ""Name"""') == '"public"."Weird ""Name"""'
    with pytest.raises(ValueError):
        quote_ident("a\x00b")


def test_source_select() -> None:
    assert source_select("db.sch.v", None) == 'SELECT * FROM "db"."sch"."v"'
    assert source_select(None, "  select 1 ;; ") == "select 1"
    assert source_select(None, "WITH a AS (SELECT 1) SELECT * FROM a").startswith("WITH")
    assert source_select(None, "(SELECT 1) UNION (SELECT 2)").startswith("(SELECT")
    for bad in (("t", "SELECT 1"), (None, None)):
        with pytest.raises(ValueError, match="exactly one"):
            source_select(*bad)
    for query in ("DELETE FROM t", "COPY t TO STDOUT", "selectx 1", "SUBSCRIBE t"):
        with pytest.raises(ValueError, match="must be a SELECT"):
            source_select(None, query)


def test_wrap_select_renames_columns_positionally() -> None:
    sql = wrap_select("SELECT 1 AS a, 2 AS a", ["a", "a2"], ['"a"', '"a2"::text'])
    assert sql == 'SELECT "a", "a2"::text FROM (SELECT 1 AS a, 2 AS a) AS _mz_export ("a", "a2")'


def test_materialize_specific_statements() -> None:
    assert DETECT_MATERIALIZE_SQL == "SELECT mz_version()"
    assert set_cluster_sql("analytics") == 'SET cluster = "analytics"'
    assert set_cluster_sql('x"; DROP') == 'SET cluster = "x""; DROP"'
    assert SNAPSHOT_BEGIN_SQL[ServerFlavor.MATERIALIZE] == "BEGIN READ ONLY"
    assert SNAPSHOT_BEGIN_SQL[ServerFlavor.POSTGRES] == "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
    assert SNAPSHOT_TIMESTAMP_SQL == "SELECT mz_now()::text"
    assert CSV_SESSION_SQL[ServerFlavor.MATERIALIZE] == []
    assert copy_csv_to_stdout_sql("SELECT 1") == "COPY (SELECT 1) TO STDOUT (FORMAT csv)"


def test_metadata_queries() -> None:
    assert describe_sql("SELECT 1") == "SELECT * FROM (SELECT 1) AS _mz_describe LIMIT 0"
    sql = type_names_sql([23, 1007])
    assert sql.endswith("WHERE t.oid IN (23, 1007)") and "t.typcategory = 'A'" in sql


def test_copy_statement_for_a_query_with_csv_options() -> None:
    sql = copy_to_s3_sql(
        copy_relation(None, source_select(None, "SELECT id FROM t WHERE note = 'a''b';")),
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
        copy_relation(quote_qualified_name(hostile_source), source_select(hostile_source, None)),
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
        quote_qualified_name("x; DROP TABLE y")
    with pytest.raises(ValueError, match="aws_connection 'conn; DROP TABLE y' is not a name"):
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


@pytest.mark.parametrize(
    ("query", "normalised"),
    [
        ("-- header\nSELECT 1", "-- header\nSELECT 1\n"),
        ("/* a\n b */ select 1;", "/* a\n b */ select 1"),
        ("SELECT 1 -- trailing note", "SELECT 1 -- trailing note\n"),
        ("  ((SELECT 1)) ; ", "((SELECT 1))"),
    ],
)
def test_queries_may_carry_comments(query: str, normalised: str) -> None:
    assert source_select(None, query) == normalised
    wrapped = wrap_select(normalised, ["x"], ['"x"'])
    assert wrapped.endswith('\n) AS _mz_export ("x")') == normalised.endswith("\n")


@pytest.mark.parametrize(
    "query", ["-- SELECT 1\nDELETE FROM t", "/* SELECT */ DROP TABLE t", "-- only a comment"]
)
def test_a_comment_does_not_make_a_statement_a_select(query: str) -> None:
    with pytest.raises(ValueError, match="must be a SELECT"):
        source_select(None, query)
